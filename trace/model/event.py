"""The event, version 1: what a party signs.

An event is a JSON object. Field by field (every value a string unless said otherwise; optional
fields are *absent* when unused, never null and never an empty list, so each event has exactly one
wire form and the bytes a party signs are the bytes we re-encode):

    kind         one of KINDS (kinds.KIND_REGISTRY)
    event_time   RFC 3339, seconds precision, explicit offset or "Z": "2026-11-20T08:30:00+08:00"
    party        the recording party (ids.check_party_id)
    key_id       16 lowercase hex: ids.key_id_for(the Ed25519 public key that signs)
    location     {"name", "address"?, "gln"?, "geo"? ("lat,lon")}
    inputs       [{"lot", "quantity", "unit", "follows": [event id, ...]}]   lots acted on or consumed
    outputs      [{"lot", "quantity", "unit", "product": Product}]            lots created
    price?       {"amount" (≤ 2 decimals), "currency": "CNY", "unit", "stage"}
    sensors?     [{"type": "temperature"|"humidity", "value", "unit": "Cel"|"%RH", "time"}]
    documents?   [{"type", "id", "url"?}]
    detail       kind-specific object, see details.py

`EVENT_FIELDS` lists these fields; it is the one list, and encoding.py signs exactly those.
`follows` names the lot's current head event (its id is the SHA-256 of that event's canonical
bytes, `encoding.event_id`), which makes each lot's history a hash chain.

`Event.from_wire` is strict and all-or-nothing: unknown fields, wrong types, non-canonical numbers,
and fields a kind requires or forbids (its shape and price rules) are refused with an `InvalidEvent`
whose `field` is the dotted path to the culprit. `Event.to_wire` is its exact inverse:
`Event.from_wire(e.to_wire()) == e`. Whether the event may be recorded *now* (custody, quantities,
roles) is `rules.check_event`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from farmtrace.ledger.entry_bundles import MAX_ENTRY_SIZE

from ..errors import InvalidEvent
from .canonical import wire_json
from .details import Detail, TransformDetail
from .ids import check_key_id
from .kinds import KIND_REGISTRY, KINDS, PARTY_KINDS, TRANSFORM_SHAPES
from .reader import MAX_LOTS, Obj, parse_time
from .values import Document, Location, LotOut, LotRef, Price, Sensor

__all__ = ["EVENT_FIELDS", "MAX_EVENT_BYTES", "Event", "check_price", "check_shape"]

# The encoded event (encoding.encode_event) at most, so that its ledger entry (encoding.encode_entry:
# a 19-byte header line, the event and its newline, 88 characters of base64 signature and a newline)
# fits an entry bundle's 16-bit length (C2SP tlog-tiles; ledger/entry_bundles.py MAX_ENTRY_SIZE).
ENTRY_OVERHEAD = len(b"farmtrace/entry/v1\n") + 1 + 88 + 1
MAX_EVENT_BYTES = MAX_ENTRY_SIZE - ENTRY_OVERHEAD

# The fields of a version-1 event, exactly (the module docstring). encoding.py signs these and no
# others; a later version gets its own list and its own "v".
EVENT_FIELDS = (
    "kind",
    "event_time",
    "party",
    "key_id",
    "location",
    "inputs",
    "outputs",
    "price",
    "sensors",
    "documents",
    "detail",
)


@dataclass(frozen=True)
class Event:
    """One signed statement by one party about lots (or, for party.* kinds, about parties).

    `event_time` keeps the original text (it is what was signed); `time` is its parsed value.
    """

    kind: str
    event_time: str
    party: str
    key_id: str
    location: Location
    inputs: tuple[LotRef, ...]
    outputs: tuple[LotOut, ...]
    detail: Detail
    price: Price | None = None
    sensors: tuple[Sensor, ...] = ()
    documents: tuple[Document, ...] = ()

    @cached_property
    def time(self) -> datetime:
        """The event time as an aware datetime (parsed once: the rules ask for it often)."""
        return parse_time(self.event_time, field="event_time")

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> Event:
        """Parse the wire form (a JSON object as Python dict). Raises InvalidEvent naming the field."""
        event = cls.from_wire_unsized(obj)
        size = len(wire_json({"v": 1, **event.to_wire()}))
        if size > MAX_EVENT_BYTES:
            raise InvalidEvent("event", f"encodes to {size} bytes, more than the limit of {MAX_EVENT_BYTES}")
        return event

    @classmethod
    def from_wire_unsized(cls, obj: dict[str, Any]) -> Event:
        """`from_wire` without the encoded size limit, for a caller that checks the encoded bytes itself.

        Fields are checked in a fixed order (kind, time, party, key, location, lots, detail and
        shape, price, sensors, documents): the first error named is always the same one.
        """
        o = Obj(obj, "", EVENT_FIELDS)
        kind = o.choice("kind", KINDS)
        event_time = o.raw("event_time")
        time = parse_time(event_time, field="event_time")
        party = o.party_id("party")
        key_id = o.raw("key_id")
        check_key_id(key_id, field="key_id")
        location_obj = o.obj("location", Location.KEYS)
        assert location_obj is not None
        inputs, outputs = _parse_lots(o)
        detail = _parse_detail(o, kind)
        shape = KIND_REGISTRY[kind].shape
        if isinstance(detail, TransformDetail):
            shape = TRANSFORM_SHAPES.get(detail.type, shape)
        check_shape(kind, detail, shape, len(inputs), len(outputs))
        price = _parse_price(o)
        check_price(kind, price)
        if kind in PARTY_KINDS and o.has("sensors"):
            raise InvalidEvent("sensors", f"a {kind} event carries no sensor readings")
        sensors = tuple(Sensor._parse(Obj(v, f, Sensor.KEYS)) for f, v in o.items("sensors", required=False))
        documents = tuple(
            Document._parse(Obj(v, f, Document.KEYS)) for f, v in o.items("documents", required=False)
        )
        event = cls(
            kind=kind,
            event_time=event_time,
            party=party,
            key_id=key_id,
            location=Location._parse(location_obj),
            inputs=inputs,
            outputs=outputs,
            detail=detail,
            price=price,
            sensors=sensors,
            documents=documents,
        )
        event.__dict__["time"] = time  # the cached_property, already parsed
        return event

    def to_wire(self) -> dict[str, Any]:
        """Return the wire form: a dict of JSON types (str, list, dict) such that from_wire inverts it."""
        wire = {
            "kind": self.kind,
            "event_time": self.event_time,
            "party": self.party,
            "key_id": self.key_id,
            "location": self.location.to_wire(),
            "inputs": [r.to_wire() for r in self.inputs],
            "outputs": [r.to_wire() for r in self.outputs],
            "detail": self.detail.to_wire(),
        }
        if self.price is not None:
            wire["price"] = self.price.to_wire()
        if self.sensors:
            wire["sensors"] = [s.to_wire() for s in self.sensors]
        if self.documents:
            wire["documents"] = [d.to_wire() for d in self.documents]
        return wire


def _parse_lots(o: Obj) -> tuple[tuple[LotRef, ...], tuple[LotOut, ...]]:
    """The inputs and outputs: each lot named once, and no output among the inputs."""
    inputs = tuple(LotRef._parse(Obj(v, f, LotRef.KEYS)) for f, v in o.items("inputs", max_items=MAX_LOTS))
    outputs = tuple(LotOut._parse(Obj(v, f, LotOut.KEYS)) for f, v in o.items("outputs", max_items=MAX_LOTS))
    _check_distinct("inputs", [r.lot for r in inputs])
    _check_distinct("outputs", [r.lot for r in outputs])
    consumed = {r.lot for r in inputs}
    for i, out in enumerate(outputs):
        if out.lot in consumed:
            raise InvalidEvent(f"outputs[{i}].lot", f"lot {out.lot} is also an input; an output lot must be new")
    return inputs, outputs


def _parse_detail(o: Obj, kind: str) -> Detail:
    detail_type = KIND_REGISTRY[kind].detail
    detail_obj = o.obj("detail", detail_type.KEYS)
    assert detail_obj is not None
    return detail_type._parse(detail_obj)


def _parse_price(o: Obj) -> Price | None:
    price_obj = o.obj("price", Price.KEYS, required=False)
    return None if price_obj is None else Price._parse(price_obj)


def _check_distinct(name: str, lots: list[str]) -> None:
    seen: set[str] = set()
    for i, lot in enumerate(lots):
        if lot in seen:
            raise InvalidEvent(f"{name}[{i}].lot", f"lot {lot} appears twice among the {name}")
        seen.add(lot)


def check_shape(kind: str, detail: Detail, shape: tuple[int, int, int, int], n_in: int, n_out: int) -> None:
    """The shape rule: `n_in` inputs and `n_out` outputs fit `shape` (kinds.KindSpec.shape).
    Returns None or raises InvalidEvent("inputs" or "outputs") saying how many were expected."""
    what = f"a {detail.type} transform" if isinstance(detail, TransformDetail) else f"a {kind} event"
    for name, n, lo, hi in (("inputs", n_in, shape[0], shape[1]), ("outputs", n_out, shape[2], shape[3])):
        if lo <= n <= hi:
            continue
        if hi == 0:
            want = "no"
        elif lo == hi:
            want = f"exactly {lo}"
        else:
            want = f"at least {lo}" if n < lo else f"at most {hi}"
        raise InvalidEvent(name, f"{what} has {want} {name}, found {n}")


def check_price(kind: str, price: Price | None) -> None:
    """The price rules: a sale states its price at stage retail or wholesale; a harvest (production
    price), ship or receive (trade price) may carry one; other kinds carry none
    (kinds.KindSpec.priced). Returns None or raises InvalidEvent("price" or "price.stage")."""
    if kind == "sell":
        if price is None:
            raise InvalidEvent("price", "a sell event must state its price")
        if price.stage not in ("retail", "wholesale"):
            raise InvalidEvent("price.stage", f"a sale is at stage retail or wholesale, found {price.stage}")
    elif price is not None and not KIND_REGISTRY[kind].priced:
        raise InvalidEvent("price", f"a {kind} event carries no price")
