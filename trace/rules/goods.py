"""Steps 8-10 of `check_event`: the goods themselves — custody, quantities and clearance.

    8. custody      the holder holds each input; a receive matches its shipment line    custody
    9. quantities   no more than the lot was created with, held, or still in transit;   quantity,
                    a transform yields no more than its inputs (TOLERANCE)              mass_balance
   10. clearance    市场准入 at market entry, blocked lots stay put, 产地准出 on shipping   market_entry,
                                                                                        blocked, origin_exit

Which kinds each check concerns comes from the kind registry (`KindSpec.custody`, `bounded`,
`uses`, `refuses_blocked`). Each function returns None (custody: the shipment lines) or raises
RuleViolation.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal

from ..errors import RuleViolation
from ..model.details import ReceiveDetail, ShipDetail, TransformDetail
from ..model.event import Event
from ..model.kinds import KIND_REGISTRY
from ..model.units import format_decimal, to_base
from .effects import holder
from .view import LotState, PartyState, StateReader, Transit

__all__ = ["TOLERANCE", "check_clearance", "check_custody", "check_quantities"]

# Largest allowed *gain* of a transform, as a fraction of its inputs in base units. Loss (trimming,
# moisture, spoilage) is always allowed; gain never is, whatever the type. Kept per type so a
# documented exception (e.g. soaking dried produce) would be one line here.
TOLERANCE: dict[str, Decimal] = {
    "split": Decimal(0),
    "merge": Decimal(0),
    "repack": Decimal(0),
    "process": Decimal(0),
}


def _q(quantity: Decimal, unit: str) -> str:
    return f"{format_decimal(quantity)} {unit}"


def check_custody(event: Event, lots: Sequence[LotState], view: StateReader) -> list[Transit]:
    """Custody of each input; for a receive, return the matching shipment line of each input."""
    if KIND_REGISTRY[event.kind].custody:
        owner = holder(event)
        for i, lot in enumerate(lots):
            if view.holding(lot.code, owner) <= 0:
                raise RuleViolation(
                    "custody", f"party {owner} does not hold lot {lot.code}", f"inputs[{i}].lot"
                )
        return []
    if not isinstance(event.detail, ReceiveDetail):
        return []  # inspect and recall: stations and regulators act on lots they do not hold
    detail = event.detail
    if view.event_time(detail.ship_event) is None:
        raise RuleViolation("custody", f"ship event {detail.ship_event} is not recorded", "detail.ship_event")
    transits = []
    for i, lot in enumerate(lots):
        t = view.in_transit(detail.ship_event, lot.code)
        if t is None:
            raise RuleViolation(
                "custody", f"ship event {detail.ship_event} did not send lot {lot.code}", f"inputs[{i}].lot"
            )
        if t.destination != event.party:
            raise RuleViolation(
                "custody",
                f"ship event {detail.ship_event} sent lot {lot.code} to {t.destination}, not to {event.party}",
                "detail.ship_event",
            )
        if t.source != detail.source:
            raise RuleViolation(
                "custody",
                f"ship event {detail.ship_event} came from {t.source}, not {detail.source}",
                "detail.source",
            )
        transits.append(t)
    return transits


def check_quantities(
    event: Event, lots: Sequence[LotState], view: StateReader, transits: Sequence[Transit]
) -> None:
    """Step 9: `lots` are the inputs' states, `transits` what `check_custody` returned."""
    kind = event.kind
    spec = KIND_REGISTRY[kind]
    if spec.bounded:
        ref, lot = event.inputs[0], lots[0]
        if ref.quantity > lot.quantity:
            raise RuleViolation(
                "quantity",
                f"cannot {kind} {_q(ref.quantity, ref.unit)} of lot {lot.code}: it was created with "
                f"{_q(lot.quantity, lot.unit)}",
                "inputs[0].quantity",
            )
    if spec.uses is not None:
        owner = holder(event)
        for i, (ref, lot) in enumerate(zip(event.inputs, lots, strict=True)):
            held = view.holding(lot.code, owner)
            if ref.quantity > held:
                raise RuleViolation(
                    "mass_balance",
                    f"cannot {spec.uses} {_q(ref.quantity, ref.unit)} of lot {lot.code}: party {owner} holds "
                    f"{_q(held, lot.unit)}",
                    f"inputs[{i}].quantity",
                )
    if isinstance(event.detail, TransformDetail) and event.detail.type != "slaughter":
        # A slaughter's yield band replaces the mass balance (livestock.py).
        total_in = sum((to_base(r.quantity, r.unit)[0] for r in event.inputs), Decimal(0))
        total_out = sum((to_base(r.quantity, r.unit)[0] for r in event.outputs), Decimal(0))
        base = to_base(Decimal(1), event.inputs[0].unit)[1]
        limit = total_in * (1 + TOLERANCE[event.detail.type])
        if total_out > limit:
            raise RuleViolation(
                "mass_balance",
                f"a {event.detail.type} of {_q(total_in, base)} cannot yield {_q(total_out, base)}: "
                "outputs may not exceed inputs",
                "outputs",
            )
    for i, (ref, t) in enumerate(zip(event.inputs, transits, strict=False)):
        open_quantity = t.quantity - t.received
        if ref.quantity > open_quantity:
            raise RuleViolation(
                "mass_balance",
                f"cannot receive {_q(ref.quantity, ref.unit)} of lot {t.lot} from shipment {t.ship_event}: "
                f"{_q(open_quantity, t.unit)} of the {_q(t.quantity, t.unit)} sent is still unreceived",
                f"inputs[{i}].quantity",
            )


def _why_blocked(lot: LotState, *, rejected_counts: bool = True) -> str | None:
    if lot.recalled:
        return f"lot {lot.code} is recalled (itself or a lot it was made from)"
    if lot.failed:
        return f"lot {lot.code} failed an inspection (itself or a lot it was made from)"
    if lot.rejected and rejected_counts:
        return f"lot {lot.code} was rejected at market entry"
    return None


def _in_lineage(lot: LotState, codes: Collection[str], view: StateReader) -> bool:
    """True if `lot` or one of its ancestors is among `codes` (walking parents through `view`)."""
    todo, seen = [lot.code], {lot.code}
    while todo:
        code = todo.pop()
        if code in codes:
            return True
        state = lot if code == lot.code else view.lot(code)
        for parent in state.parents if state is not None else ():
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return False


def _check_inspection(event_id: str, lots: Sequence[LotState], view: StateReader) -> None:
    """An inspection named at entry is a recorded inspect event that passed, on each lot or on a lot
    it was made from. (A failed one marks its lot failed, and every lot made from it: so a lot in
    whose lineage the tested lot is, and that was not failed by it, is what the station passed.)"""
    field = "detail.entry_check.inspection_event"
    if view.event_time(event_id) is None:
        raise RuleViolation("market_entry", f"inspection event {event_id} is not recorded", field)
    tested = view.inspected_lot(event_id)
    if tested is None:
        raise RuleViolation(
            "market_entry", f"event {event_id} is not an inspection (an inspect event)", field
        )
    for lot in lots:
        if not _in_lineage(lot, {tested}, view):
            raise RuleViolation(
                "market_entry",
                f"inspection event {event_id} tested lot {tested}, not lot {lot.code} or a lot it was made from",
                field,
            )
        tested_state = lot if tested == lot.code else view.lot(tested)
        if tested_state is None or tested_state.failed:
            raise RuleViolation(
                "market_entry",
                f"inspection event {event_id} did not clear lot {lot.code}: lot {tested} failed an inspection (itself or a lot it was made from)",
                field,
            )


def check_clearance(event: Event, lots: Sequence[LotState], party: PartyState, view: StateReader) -> None:
    """Step 10: `party` is the recording party's state (its roles decide 市场准入)."""
    kind = event.kind
    detail = event.detail
    accepted = isinstance(detail, ReceiveDetail) and detail.entry_check.result == "accepted"
    # 市场准入: a market or shop accepts goods only against a certificate or an inspection. A
    # rejection is always recordable: it is the entry check doing its job.
    if accepted and party.roles & {"wholesaler", "retailer"}:
        check = detail.entry_check
        if check.certificate_no is None and check.inspection_event is None:
            raise RuleViolation(
                "market_entry",
                f"party {party.id} accepts goods at market entry only against a certificate_no or an "
                "inspection_event in detail.entry_check",
                "detail.entry_check",
            )
        if check.inspection_event is not None:
            _check_inspection(check.inspection_event, lots, view)
    # A certificate named at entry is one the ledger holds for these goods — a 合格证 recorded on
    # the lot or on a lot it was made from — or the check says it was a paper one: a consumer page
    # tells the two apart, and never calls a made-up number checked.
    if (
        accepted
        and detail.entry_check.certificate_no is not None
        and detail.entry_check.certificate_source is None
    ):
        number = detail.entry_check.certificate_no
        certified = view.certificate_lots(number) | {c.lot for c in view.livestock_certificate(number)}
        for lot in lots:
            if not (certified and _in_lineage(lot, certified, view)):
                raise RuleViolation(
                    "market_entry",
                    f"certificate {number} is not a 合格证 or livestock certificate recorded on lot {lot.code} or on "
                    "a lot it was made "
                    'from; name one the ledger holds, or record a paper certificate (certificate_source "paper")',
                    "detail.entry_check.certificate_no",
                )
    # Blocked lots move nowhere but to destruction; certifying one would be a false commitment, and
    # accepting one at entry would let it back into circulation.
    # (A rejection at one market says nothing about the same lot's safety at another, so receipts
    # are blocked only by failed and recalled.)
    if KIND_REGISTRY[kind].refuses_blocked or accepted:
        for i, lot in enumerate(lots):
            why = _why_blocked(lot, rejected_counts=kind != "receive")
            if why is not None:
                verb = "accepted" if kind == "receive" else f"used in a {kind} event"
                raise RuleViolation("blocked", f"{why} and cannot be {verb}", f"inputs[{i}].lot")
    # 产地准出: nothing leaves its holder without a passing inspection or a certificate upstream.
    if isinstance(detail, ShipDetail):
        for i, lot in enumerate(lots):
            if not lot.cleared:
                raise RuleViolation(
                    "origin_exit",
                    f"lot {lot.code} has no passing inspection or compliance certificate (on it or on the lots "
                    "it was made from) and cannot be shipped",
                    f"inputs[{i}].lot",
                )
