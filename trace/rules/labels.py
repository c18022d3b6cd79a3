"""The rules of label activation: who may bind pre-printed labels to a lot, and that a label binds once.

A `label_activate` event (model/details.py, `LabelActivateDetail`) names its lot in its detail and
has no inputs, so it moves no lot's head and races none of the lot's own events. After steps 1-2
of `check_event` (party, key, role) it is checked here, in this order:

    lot_unknown   the lot named is not on the ledger                                  detail.lot
    custody       the party neither made the lot nor holds any of it now             detail.lot
    label_gtin    the lot's product has a GTIN and it is not the labels' GTIN          detail.gtin
    label_bound   a label is already bound (to this lot or another): labels bind once detail.serials[i]

then the clock (future), as every event. Returns None or raises RuleViolation.
"""

from __future__ import annotations

from ..errors import RuleViolation
from ..model.details import LabelActivateDetail
from ..model.event import Event
from ..model.ids import gtin14
from .view import StateReader

__all__ = ["check_label_activate"]


def check_label_activate(event: Event, detail: LabelActivateDetail, view: StateReader) -> None:
    """Check a label_activate against the state (the module docstring's order)."""
    lot = view.lot(detail.lot)
    if lot is None:
        raise RuleViolation("lot_unknown", f"lot {detail.lot} does not exist", "detail.lot")
    # The maker binds labels it printed before the harvest; a later holder (a packer, a shop) binds
    # labels of its own to what it holds now.
    if lot.created_by != event.party and view.holding(detail.lot, event.party) <= 0:
        raise RuleViolation(
            "custody",
            f"party {event.party} neither made lot {detail.lot} nor holds any of it: only its maker "
            "or a holder binds labels to it",
            "detail.lot",
        )
    gtin = gtin14(detail.gtin)
    if lot.product.gtin is not None and gtin14(lot.product.gtin) != gtin:
        raise RuleViolation(
            "label_gtin",
            f"the labels are printed under GTIN {gtin}, but lot {detail.lot} is GTIN {gtin14(lot.product.gtin)}",
            "detail.gtin",
        )
    for i, serial in enumerate(detail.serials):
        bound = view.label_lot(gtin, serial)
        if bound is not None:
            raise RuleViolation(
                "label_bound",
                f"label {serial} (GTIN {gtin}) is already bound to lot {bound}: a label binds once",
                f"detail.serials[{i}]",
            )

