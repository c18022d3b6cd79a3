"""The product's path through a journey: which shipments and receipts the consumer page may name.

A lot's journey holds every event on every ancestor lot (each lot's hash chain needs them all), so
it holds the shipments of a farm's harvest to every market that bought part of it. The consumer
page names the parties of a transfer only when the transfer is on the path to the page's own lot;
any other transfer is still shown (the page verifies the whole chain and does not hide that an event
exists), without its counterparty (docs/visibility.md, "The consumer's page shows the product's
path").

    journey_path(lot, steps) -> JourneyPath   which ship and receive events are off the path

The twin of web/static/journey-path.js (`FarmtracePath.pathOf`): the same rule over the same steps,
the same answer (`JourneyPath.to_wire()`), which tests/web/test_journey_path.py compares on
generated journeys. The rule, for each lot L of the lineage (the page's lot and every lot it was made
from, rebuilt from the steps' outputs and inputs):

1. targets(L) starts as: for the page's own lot, the parties that signed a `sell` of it (retail sales
   are public lot facts); for any other lot, the makers (the signers of the creating events) of the
   lineage lots made from L.
2. L's ship events are walked from the latest (highest ledger index) back: a ship of L to a party in
   targets(L) is on the path, and its shipper joins targets(L) (a wholesaler between the farm and
   the market).
3. A receive of L is on the path when its signer is the destination, and its `source` the shipper,
   of a ship of L on the path.

A ship or receive on the path for any lineage lot among its inputs is on the path. Every other ship
and receive is off the path; for each, `JourneyPath` keeps the parties it may still name: the makers
of its lineage lots and their targets (parties the page names anyway).

`steps` are the events as signed, each with its ledger `index` (the shape of facts.js's `steps`:
index, kind, party, inputs, outputs, detail); anything malformed in them counts as absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["JourneyPath", "journey_path"]

_TRANSFERS = ("ship", "receive")


@dataclass(frozen=True)
class JourneyPath:
    """Which transfers of a journey are off the path to its lot, and whom each may still name."""

    off_path: Mapping[int, frozenset[str]]  # ledger index -> the parties that transfer may name

    def on_path(self, index: int) -> bool:
        """False for a ship or receive off the path; True for every other event."""
        return index not in self.off_path

    def may_name(self, index: int, party: str) -> bool:
        """Whether the event at `index` may name `party`: always on the path, else only a party the
        path names anyway (a maker of the lot, or a party on its path)."""
        return self.on_path(index) or party in self.off_path[index]

    def to_wire(self) -> dict[str, Any]:
        """{"off_path": {"<index>": [party, ...] sorted}}, the shape FarmtracePath.pathOf answers."""
        return {"off_path": {str(i): sorted(self.off_path[i]) for i in sorted(self.off_path)}}


def _lots(refs: Any) -> list[str]:
    """The lot codes of an event's inputs or outputs (malformed refs skipped)."""
    if not isinstance(refs, list):
        return []
    return [r["lot"] for r in refs if isinstance(r, dict) and isinstance(r.get("lot"), str)]


def _text(obj: Any, key: str) -> str | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


def _lineage(lot: str, steps: list[dict[str, Any]]) -> tuple[set[str], dict[str, dict[str, Any]]]:
    """The page's lot and every lot it was made from, and each lot's creating step (the first that
    outputs it, as trace/journey_facts.py rebuilds the lineage)."""
    creator: dict[str, dict[str, Any]] = {}
    for s in steps:
        for code in _lots(s.get("outputs")):
            creator.setdefault(code, s)
    lineage: set[str] = set()
    queue = [lot]
    while queue:
        code = queue.pop(0)
        if code in lineage:
            continue
        lineage.add(code)
        if code in creator:
            queue.extend(_lots(creator[code].get("inputs")))
    return lineage, creator


def journey_path(lot: str, steps: Iterable[Mapping[str, Any]]) -> JourneyPath:
    """The path to `lot` through `steps` (see the module docstring for the rule)."""
    ordered = sorted(
        (
            dict(s)
            for s in steps
            if isinstance(s, Mapping) and type(s.get("index")) is int and isinstance(s.get("kind"), str)
        ),
        key=lambda s: s["index"],
    )
    lineage, creator = _lineage(lot, ordered)
    # 1. Each lineage lot's first targets: its sellers (the page's lot) or the makers of the lots on
    #    the path made from it.
    targets: dict[str, set[str]] = {code: set() for code in lineage}
    for s in ordered:
        party = _text(s, "party")
        if party is None:
            continue
        if s["kind"] == "sell" and lot in _lots(s.get("inputs")):
            targets[lot].add(party)
        made = [code for code in _lots(s.get("outputs")) if code in lineage and creator[code] is s]
        if made:
            for parent in _lots(s.get("inputs")):
                if parent in lineage:
                    targets[parent].add(party)
    # 2. The ships, latest first: one to a target is on the path, and its shipper becomes a target.
    on_path: set[int] = set()
    shipped: set[tuple[str, str, str]] = set()  # (lot, shipper, destination) of the ships on the path
    for s in reversed(ordered):
        if s["kind"] != "ship":
            continue
        shipper, destination = _text(s, "party"), _text(s.get("detail"), "destination")
        for code in _lots(s.get("inputs")):
            if code in lineage and shipper is not None and destination in targets[code]:
                on_path.add(s["index"])
                shipped.add((code, shipper, destination))
                targets[code].add(shipper)
    # 3. A receive on the path takes in a ship on the path: its signer the ship's destination, its
    #    source the ship's shipper.
    for s in ordered:
        if s["kind"] != "receive":
            continue
        receiver, source = _text(s, "party"), _text(s.get("detail"), "source")
        if any((code, source, receiver) in shipped for code in _lots(s.get("inputs"))):
            on_path.add(s["index"])
    # Off the path: every other transfer, with the parties the path names on its lineage lots.
    off_path: dict[int, frozenset[str]] = {}
    for s in ordered:
        if s["kind"] not in _TRANSFERS or s["index"] in on_path:
            continue
        named: set[str] = set()
        for code in _lots(s.get("inputs")):
            if code in lineage:
                named |= targets[code]
                maker = _text(creator.get(code), "party")
                if maker is not None:
                    named.add(maker)
        off_path[s["index"]] = frozenset(named)
    return JourneyPath(off_path)
