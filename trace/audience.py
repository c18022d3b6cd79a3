"""Who is reading, and what of custody each reader is shown: the one rule the platform's reads apply.

    Audience                         the reader: the public, a party, or a regulator
    audience_of(party)               a signed-in party's audience (a regulator's if it has the role)
    Custody                          who shipped which lot to whom: the facts the rule is decided on
    sees_holder(audience, custody, lot, holder)   whether `holder`'s holding of `lot` is shown
    visible_trace / visible_lot      a lineage graph / a lot summary as `audience` is shown it
    sees_epcis_event(audience, ev)   whether an EPCIS event is shown (custody events are the parties')

The rule (docs/visibility.md says it for each interface):
- **Lot facts are public**: a lot's product, quantity as made, unit, maker, time, status, parents,
  children and the events naming it; the lineage in both directions and how much of a parent went
  into a child. A consumer needs the history; a recall's reach down the lineage is public too.
- **Custody is the trading partners'**: who holds how much of a lot, and the shipments and receipts
  (who sent what to whom). A regulator sees all of it. A party sees, on each lot, its own holding and
  the holdings of the parties it shipped that lot to or received it from; nothing of its partners'
  own customers. The public sees none.

This limits what the platform's reads assemble, not what the log holds: the signed log is public (a
consumer's browser verifies it), and its ship and receive events still name both parties.
docs/visibility.md says what a later event version could do about that, and at what cost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from .epcis import party_uri

if TYPE_CHECKING:  # only annotations: reads/ import this module
    from .reads.lots import LotSummary, TraceGraph
    from .rules.view import PartyState

__all__ = [
    "CUSTODY_ONLY",
    "PUBLIC",
    "Audience",
    "Custody",
    "audience_of",
    "sees_epcis_event",
    "sees_holder",
    "visible_lot",
    "visible_trace",
]

REGULATOR_ROLE = "regulator"
CUSTODY_ONLY = (
    "a shipment or receipt is shown to its parties and to regulators: sign in as one of them "
    "(Authorization: FarmTrace <token>); the signed entry itself is at GET /events/{id}"
)


@dataclass(frozen=True)
class Audience:
    """A reader: `party` is the signed-in party (None for the public); `regulator` sees everything."""

    party: str | None = None
    regulator: bool = False

    @property
    def kind(self) -> Literal["public", "party", "regulator"]:
        if self.regulator:
            return "regulator"
        return "public" if self.party is None else "party"


PUBLIC = Audience()


def audience_of(party: PartyState | None) -> Audience:
    """The audience of a signed-in party (None: the public). A suspended party reads as the public."""
    if party is None or party.status != "active":
        return PUBLIC
    return Audience(party=party.id, regulator=REGULATOR_ROLE in party.roles)


@dataclass(frozen=True)
class Custody:
    """Trading partners per lot: `partners[lot][party]` is every party that `party` shipped `lot` to
    or received it from (a shipment is one line of a ship event, as the trace_transit index holds)."""

    partners: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)

    @classmethod
    def of_shipments(cls, shipments: Iterable[tuple[str, str, str]]) -> Custody:
        """From (lot, source, destination) triples."""
        found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for lot, source, destination in shipments:
            found[lot][source].add(destination)
            found[lot][destination].add(source)
        return cls({lot: {p: frozenset(s) for p, s in by.items()} for lot, by in found.items()})

    def partners_of(self, lot: str, party: str) -> frozenset[str]:
        return self.partners.get(lot, {}).get(party, frozenset())


def sees_holder(audience: Audience, custody: Custody, lot: str, holder: str) -> bool:
    """Whether `audience` is shown that `holder` holds (some of) `lot`."""
    if audience.regulator:
        return True
    if audience.party is None:
        return False
    return holder == audience.party or holder in custody.partners_of(lot, audience.party)


def visible_trace(graph: TraceGraph, audience: Audience, custody: Custody) -> TraceGraph:
    """`graph` as `audience` is shown it: every lot, edge and origin; of the holders, those it may see."""
    nodes = []
    for node in graph.nodes:
        shown = tuple(h for h in node.holders if sees_holder(audience, custody, node.lot, h.party))
        nodes.append(replace(node, holders=shown, holders_complete=len(shown) == len(node.holders)))
    return replace(graph, nodes=tuple(nodes), audience=audience.kind)


def visible_lot(summary: LotSummary, audience: Audience, custody: Custody) -> LotSummary:
    """`summary` as `audience` is shown it: the lot's facts, and the holders it may see."""
    shown = tuple((p, q) for p, q in summary.holders if sees_holder(audience, custody, summary.code, p))
    return replace(
        summary, holders=shown, holders_complete=len(shown) == len(summary.holders), audience=audience.kind
    )


def sees_epcis_event(audience: Audience, event: Mapping[str, Any]) -> bool:
    """Whether `audience` is shown this EPCIS event (trace/epcis.py's form). A custody event (one with
    a source or destination list: a shipment or a receipt) is shown to a regulator, its signer and the
    parties it names as source or destination; every other event is a lot fact, shown to all."""
    if audience.regulator:
        return True
    sources = event.get("sourceList") or []
    destinations = event.get("destinationList") or []
    if not sources and not destinations:
        return True
    if audience.party is None:
        return False
    me = party_uri(audience.party)
    named = {s.get("source") for s in sources} | {d.get("destination") for d in destinations}
    return event.get("farmtrace:party") == audience.party or me in named
