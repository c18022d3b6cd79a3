"""A party's compliance record (公共征信), derived from the signed log: the pure rule.

    ComplianceItem                  one thing on a party's record, citing its evidence
    items_of(index, signed, maker_of)   the items one logged event puts on records
    fold_items(entries)             every item of a log, from its entries alone (a pure fold)
    visible_record(party, items, audience)   a party's record as `audience` is shown it
    ComplianceDivergence            the tables that index the record contradict the log

What is on a party's record, and whose record it is (docs/compliance-record.md):

    failed_test     an inspect event with result "fail", on the record of the party that made the
                    tested lot (the signer of the event that created it)
    recall          a recall event, on the record of the party that made each recalled lot
    entry_rejected  a receive event whose market-entry check (入市查验) rejected the goods, on the
                    record of the party that shipped them (the receipt's `source`)
    suspension      a party.suspend event, on the suspended party's record
    refused         an event the rules refused (the trace_anomaly table), on its sender's record

The first four are signed entries of the log: anyone holding the log can recompute them
(`fold_items`). Refusals are not in the log: the platform keeps them beside it, and the log cannot
prove that one happened or that none was left out. They are shown to regulators and to the party
itself, never in the public summary.

Who sees what (`visible_record`, following trace/audience.py): a regulator, and a party reading its
own record, see every item. Anyone else sees the public summary: the count of each on-ledger kind,
and the failed tests, recalls and suspensions themselves (lot facts and the register's status are
public). A rejection at market entry is counted but not listed, since it says who shipped what to
whom (custody, which the platform shows only to the trading partners and regulators).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .audience import Audience
from .errors import TraceError
from .head_index import is_index_entry
from .model.details import InspectDetail, PartySuspendDetail, RecallDetail, ReceiveDetail
from .model.encoding import SignedEvent, decode_entry

__all__ = [
    "CATEGORIES",
    "LISTED_PUBLICLY",
    "ON_LEDGER",
    "ComplianceDivergence",
    "ComplianceItem",
    "ComplianceRecord",
    "fold_items",
    "items_of",
    "visible_record",
]

CATEGORIES = ("failed_test", "recall", "entry_rejected", "suspension", "refused")
ON_LEDGER = frozenset({"failed_test", "recall", "entry_rejected", "suspension"})
LISTED_PUBLICLY = frozenset({"failed_test", "recall", "suspension"})


class ComplianceDivergence(TraceError):
    """The record served from the tables differs from the record the log gives, or a table points at
    an entry that does not say what the table claims. `expected` and `found` are the two sides
    (items, or the texts compared); `index` the ledger entry concerned, where there is one."""

    def __init__(
        self, message: str, *, expected: object = None, found: object = None, index: int | None = None
    ):
        super().__init__(message)
        self.expected = expected
        self.found = found
        self.index = index


@dataclass(frozen=True)
class ComplianceItem:
    """One thing on `party`'s record.

    `at` is the event time as signed (a refusal: the UTC time it was refused); `recorded_by` the
    party that signed the event (the tester, the regulator, the market; a refusal: its sender);
    `reason` the event's own words (a test's analyte, value, limit and unit; a recall's or a
    suspension's reason; an entry check's note; a refusal's message); `reference` a test's report
    number, the 合格证 number checked at entry, or a refusal's rule. An on-ledger item cites its
    `event_id` and `ledger_index`; a refusal its `anomaly_id` (the stored refused attempt).
    """

    category: str
    party: str
    at: str
    recorded_by: str
    lot: str = ""
    reason: str = ""
    reference: str = ""
    event_id: str = ""
    ledger_index: int | None = None
    anomaly_id: int | None = None

    @property
    def on_ledger(self) -> bool:
        return self.category in ON_LEDGER

    @property
    def evidence(self) -> str:
        """The path that shows the evidence: the signed event, or the stored refused attempt."""
        if self.on_ledger:
            return f"/events/{self.event_id}"
        return f"/compliance/refusals/{self.anomaly_id}"


@dataclass(frozen=True)
class ComplianceRecord:
    """`party`'s record as a reader is shown it: `audience` "regulator", "party" (the party itself)
    or "public" (anyone else, another party too).

    `counts` holds, per category in CATEGORIES order, how many items the audience may know of;
    `items` those it may see, in order (on-ledger items by ledger index, then refusals by time).
    `complete` is False where some counted items are not listed (the public summary). `log_size`:
    the log's size the record was derived at.
    """

    party: str
    audience: str
    counts: tuple[tuple[str, int], ...]
    items: tuple[ComplianceItem, ...]
    complete: bool
    log_size: int


def _decimal(value: object) -> str:
    return format(value, "f")


def items_of(index: int, signed: SignedEvent, maker_of: Callable[[str], str | None]) -> list[ComplianceItem]:
    """The items logged event `signed` (at ledger `index`) puts on parties' records (usually none).

    `maker_of(lot)` is the party that made `lot` (None if unknown: no item is attributed then).
    """
    event, detail = signed.event, signed.event.detail
    common = {
        "at": event.event_time,
        "recorded_by": event.party,
        "event_id": signed.id,
        "ledger_index": index,
    }
    out: list[ComplianceItem] = []
    if isinstance(detail, InspectDetail) and detail.result == "fail":
        lot = event.inputs[0].lot
        maker = maker_of(lot)
        if maker is not None:
            reason = f"{detail.analyte} {_decimal(detail.value)}/{_decimal(detail.limit)} {detail.unit}"
            out.append(
                ComplianceItem(
                    "failed_test", maker, lot=lot, reason=reason, reference=detail.report_no, **common
                )
            )
    elif isinstance(detail, RecallDetail):
        for ref in event.inputs:
            maker = maker_of(ref.lot)
            if maker is not None:
                out.append(ComplianceItem("recall", maker, lot=ref.lot, reason=detail.reason, **common))
    elif isinstance(detail, ReceiveDetail) and detail.entry_check.result == "rejected":
        check = detail.entry_check
        for ref in event.inputs:
            out.append(
                ComplianceItem(
                    "entry_rejected",
                    detail.source,
                    lot=ref.lot,
                    reason=check.note or "",
                    reference=check.certificate_no or "",
                    **common,
                )
            )
    elif isinstance(detail, PartySuspendDetail):
        out.append(ComplianceItem("suspension", detail.party_id, reason=detail.reason, **common))
    return out


def fold_items(entries: Iterable[tuple[int, bytes]]) -> list[ComplianceItem]:
    """Every on-ledger item of a log, from its entries (index, entry bytes) in log order: the record
    as anyone holding the log can recompute it. Head index entries are skipped. A lot's maker is the signer of the first entry that
    outputs it. Raises InvalidEvent for an entry that does not decode."""
    makers: dict[str, str] = {}
    items: list[ComplianceItem] = []
    for index, entry in entries:
        if is_index_entry(entry):  # the head index's own entries (trace/head_index.py) carry no event
            continue
        signed = decode_entry(entry)
        items += items_of(index, signed, makers.get)
        for out in signed.event.outputs:
            makers.setdefault(out.lot, signed.event.party)
    return items


def visible_record(
    party: str, items: Sequence[ComplianceItem], audience: Audience, *, log_size: int
) -> ComplianceRecord:
    """`party`'s record (its `items`: on-ledger ones and refusals) as `audience` is shown it (the
    module docstring): everything for a regulator or the party itself, else the public summary."""
    mine = [i for i in items if i.party == party]
    full = audience.regulator or audience.party == party
    counted = mine if full else [i for i in mine if i.on_ledger]
    listed = counted if full else [i for i in counted if i.category in LISTED_PUBLICLY]
    counts = tuple(
        (c, sum(1 for i in counted if i.category == c)) for c in CATEGORIES if full or c in ON_LEDGER
    )
    return ComplianceRecord(
        party=party,
        audience=audience.kind if full else "public",
        counts=counts,
        items=tuple(listed),
        complete=len(listed) == len(counted),
        log_size=log_size,
    )
