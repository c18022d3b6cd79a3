"""Livestock and quarantine (畜牧兽医): the rules for live animals, their certificates and their meat.

`check_livestock(event, lots, party, view)` is step 9b of `check_event`, after the quantities and
before clearance. It returns None or raises RuleViolation. Every check below concerns only events
that name live animals (unit "head"), a quarantine, a slaughter, or meat at market entry, so the
other events pass through it with a few comparisons.

Animals (ear tags, `values.LotOut.ear_tags`):
- a harvest tags new animals: an ear tag already on record is refused (ear_tag);
- a split, merge or repack of animals names, on each output, animals that are in its input lots now,
  each in one output, and takes from each input exactly the animals its outputs name (ear_tag);
- animals move whole: a ship, receive, sell, destroy or slaughter of a live-animal lot takes all of
  it that the party holds (or all that is still in transit), so each ear tag's lot stays known
  (quantity). A single animal is first split into a lot of its own.

Quarantine (动物检疫合格证明, `details.QuarantineDetail`), recorded by an official veterinarian:
- its number is new; a certificate for animals lists exactly the animals in the lot now, and its
  quantity is their number; one for products is issued on meat a recorded slaughter made (quarantine).
- A lot is *covered* by a form of certificate at time t if a certificate of that form on the lot was
  issued by t and, where validity counts, is still valid at t; or if the lot was made from other lots
  and each of them was covered, by a certificate issued before the lot was made (the animals of a
  split were in the certified lot; a merge is covered only if all its parts are).
- Live animals are shipped, and accepted on arrival, only covered by a valid animal certificate
  (the form's 应于 N 日内到达有效); they are slaughtered only covered by one (quarantine).

Slaughter (a transform of type "slaughter", `details.TransformDetail`):
- by a designated slaughterhouse (role processor), from live animals of one species to mass units;
- the yield (the outputs' kg over the animals' live weight) lies within the species' band
  (`SLAUGHTER_YIELD`), instead of the plain mass balance; a live weight per head above
  `MAX_LIVE_WEIGHT` is refused (mass_balance);
- its 肉品品质检验合格证 (`certificate_no`) is new and is recorded on every lot it makes; its outputs
  are meat (`MEAT_CATEGORIES`).

Meat at market entry (市场准入): a market or shop (wholesaler, retailer) accepts meat (`is_meat`: a
category in `MEAT_CATEGORIES` or naming 肉), and anyone sells it, only covered by a slaughterhouse's
肉品品质检验合格证 and by a 动物检疫合格证明 for products (quarantine); a harvest makes no meat. The
live weights a slaughter is held to are the animals' recorded ones (`SLAUGHTER_WEIGHT`), and the
coverage walk is trace/rules/coverage.py. docs/livestock.md says where each number comes from.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from ..errors import RuleViolation
from ..model.details import QuarantineDetail, ReceiveDetail, TransformDetail
from ..model.event import Event
from ..model.ids import EAR_TAG_SPECIES
from ..model.units import MASS_UNITS, format_decimal, to_base
from ..model.values import LotOut
from .coverage import covered
from .effects import holder
from .view import LotState, PartyState, StateReader

__all__ = [
    "ANIMAL_FORMS",
    "MAX_LIVE_WEIGHT",
    "MEAT_CATEGORIES",
    "PRODUCT_FORMS",
    "SLAUGHTER_WEIGHT",
    "SLAUGHTER_YIELD",
    "SPECIES_NAMES",
    "check_livestock",
    "covered",
    "is_meat",
]

ANIMAL_FORMS = frozenset({"animal_a", "animal_b"})
PRODUCT_FORMS = frozenset({"product_a", "product_b"})
MEAT_QUALITY = frozenset({"meat_quality"})
# The product categories that are meat (the cold-chain thresholds' own: trace/cold_chain.py).
MEAT_CATEGORIES = frozenset({"肉类", "冷冻肉"})
# The yield band of a slaughter, as a fraction of the animals' live weight: the dressing percentage
# (屠宰率) of the species, with room on both sides. A pig's carcass is typically 70-78 % of its live
# weight, cattle's 50-60 %, sheep's and goats' 45-55 % (docs/livestock.md). Below the band, meat is
# missing from the record; above it, meat came from elsewhere.
SLAUGHTER_YIELD: dict[str, tuple[Decimal, Decimal]] = {
    "pig": (Decimal("0.60"), Decimal("0.82")),
    "cattle": (Decimal("0.45"), Decimal("0.65")),
    "sheep": (Decimal("0.40"), Decimal("0.60")),
}
MAX_LIVE_WEIGHT: dict[str, Decimal] = {"pig": Decimal(400), "cattle": Decimal(1500), "sheep": Decimal(200)}
# A slaughter's live weight against the animals' recorded weight (出栏 or a later weighing): animals
# lose weight fasting before slaughter and on the road, and scales differ a little.
SLAUGHTER_WEIGHT = (Decimal("0.85"), Decimal("1.05"))
# The species' names a 动物检疫合格证明 writes (动物种类), by the ear tag's species code.
SPECIES_NAMES = {"pig": "猪", "cattle": "牛", "sheep": "羊"}
_MOVES_WHOLE = frozenset({"ship", "sell", "destroy"})


def check_livestock(event: Event, lots: Sequence[LotState], party: PartyState, view: StateReader) -> None:
    """Step 9b of `check_event`: the livestock rules of the module docstring."""
    detail = event.detail
    if isinstance(detail, QuarantineDetail):
        _check_quarantine(event, detail, lots[0], view)
        return
    if any(o.ear_tags is not None for o in event.outputs):
        _check_ear_tags(event, lots, view)
    animals = [i for i, lot in enumerate(lots) if lot.unit == "head"]
    slaughter = isinstance(detail, TransformDetail) and detail.type == "slaughter"
    if slaughter:
        _check_slaughter(event, detail, lots, party, view)
    if animals and (event.kind in _MOVES_WHOLE or slaughter):
        for i in animals:
            held = view.holding(lots[i].code, holder(event))
            if event.inputs[i].quantity != held:
                raise RuleViolation(
                    "quantity",
                    f"lot {lots[i].code} is live animals, {format_decimal(held)} head held: a {event.kind} "
                    f"takes them all; split the animals it concerns into a lot of their own first, so their "
                    f"ear tags go with them",
                    f"inputs[{i}].quantity",
                )
    if event.kind == "ship":
        for i in animals:
            _need_animal_certificate(lots[i], i, view, at=event.time, valid=True, verb="shipped")
    if isinstance(detail, ReceiveDetail):  # accepted or rejected, live animals arrive whole
        for i in animals:
            t = view.in_transit(detail.ship_event, lots[i].code)
            if t is not None and event.inputs[i].quantity != t.quantity - t.received:
                raise RuleViolation(
                    "quantity",
                    f"live animals are received whole: {format_decimal(t.quantity - t.received)} head of lot "
                    f"{lots[i].code} are in transit (a dead animal is destroyed by its own event after)",
                    f"inputs[{i}].quantity",
                )
    if isinstance(detail, ReceiveDetail) and detail.entry_check.result == "accepted":
        for i in animals:
            _need_animal_certificate(lots[i], i, view, at=event.time, valid=True, verb="accepted on arrival")
    # 市场准入 for meat: a market or shop accepting it, and anyone selling it (a slaughterhouse that
    # also sells wholesale puts its meat on the market without a receipt).
    accepted = isinstance(detail, ReceiveDetail) and detail.entry_check.result == "accepted"
    if (accepted and party.roles & {"wholesaler", "retailer"}) or event.kind == "sell":
        for i, lot in enumerate(lots):
            if is_meat(lot):
                _check_meat_entry(lot, i, view, at=event.time)
    if event.kind == "harvest":
        for i, out in enumerate(event.outputs):
            if out.unit != "head" and _meat_category(out.product.category):
                raise RuleViolation(
                    "quarantine",
                    f"lot {out.lot} is meat ({out.product.category}): meat comes from a recorded slaughter by a "
                    "designated slaughterhouse, not from a harvest",
                    f"outputs[{i}].product.category",
                )


def _meat_category(category: str | None) -> bool:
    return category is not None and (category in MEAT_CATEGORIES or "肉" in category)


def is_meat(lot: LotState) -> bool:
    """A lot of meat: not live animals, and its category is a meat category (`MEAT_CATEGORIES`, or any
    category naming 肉: 猪肉, 牛肉, 禽肉…)."""
    return lot.unit != "head" and _meat_category(lot.product.category)


def _need_animal_certificate(
    lot: LotState, i: int, view: StateReader, *, at: datetime, valid: bool, verb: str
) -> None:
    if not covered(lot, ANIMAL_FORMS, view, issued_by=at, valid_at=at if valid else None):
        why = "a valid 动物检疫合格证明 (animal quarantine certificate)" if valid else "a 动物检疫合格证明"
        raise RuleViolation(
            "quarantine",
            f"lot {lot.code} is live animals without {why} covering them, and cannot be {verb}",
            f"inputs[{i}].lot",
        )


def _check_meat_entry(lot: LotState, i: int, view: StateReader, *, at: datetime) -> None:
    field = f"inputs[{i}].lot"
    if not covered(lot, MEAT_QUALITY, view, issued_by=at, valid_at=None):
        raise RuleViolation(
            "quarantine",
            f"lot {lot.code} is meat without a slaughterhouse's 肉品品质检验合格证: only meat a recorded "
            "slaughter made enters a market",
            field,
        )
    if not covered(lot, PRODUCT_FORMS, view, issued_by=at, valid_at=None):
        raise RuleViolation(
            "quarantine",
            f"lot {lot.code} is meat without a 动物检疫合格证明 for products (产品A or 产品B) and cannot enter "
            "a market",
            field,
        )


def _check_quarantine(event: Event, detail: QuarantineDetail, lot: LotState, view: StateReader) -> None:
    number = detail.certificate_no
    if view.livestock_certificate(number):
        raise RuleViolation(
            "quarantine",
            f"certificate {number} is already on record; each certificate has its own number",
            "detail.certificate_no",
        )
    if detail.form in ANIMAL_FORMS:
        if lot.unit != "head":
            raise RuleViolation(
                "quarantine",
                f"lot {lot.code} is not live animals (it is in {lot.unit}): use a product form",
                "detail.form",
            )
        animals = view.lot_animals(lot.code)
        listed = frozenset(detail.ear_tags or ())
        named = {SPECIES_NAMES[EAR_TAG_SPECIES[tag[0]]] for tag in listed}
        if any(name not in detail.species for name in named):
            raise RuleViolation(
                "quarantine",
                f"the certificate's species is {detail.species}, its animals' ear tags say {'、'.join(sorted(named))}",
                "detail.species",
            )
        if listed != animals:
            missing, extra = sorted(animals - listed), sorted(listed - animals)
            raise RuleViolation(
                "quarantine",
                f"the certificate must list exactly the {len(animals)} animals in lot {lot.code} now"
                + (f"; missing {', '.join(missing[:5])}" if missing else "")
                + (f"; not in the lot: {', '.join(extra[:5])}" if extra else ""),
                "detail.ear_tags",
            )
        if event.inputs[0].quantity != len(animals):
            raise RuleViolation(
                "quarantine",
                f"the certificate is for the {len(animals)} head of lot {lot.code}, not {event.inputs[0].quantity}",
                "inputs[0].quantity",
            )
        return
    if lot.unit not in MASS_UNITS or not covered(
        lot, MEAT_QUALITY, view, issued_by=event.time, valid_at=None
    ):
        raise RuleViolation(
            "quarantine",
            f"lot {lot.code} is not meat a recorded slaughter made: a product certificate is issued for those",
            "detail.form",
        )


def _check_ear_tags(event: Event, lots: Sequence[LotState], view: StateReader) -> None:
    """Harvest: new ear tags. Split, merge, repack: each animal from an input, in one output, and each
    input gives exactly the animals its outputs name."""
    inputs = {lot.code for lot in lots}
    taken: dict[str, int] = {}
    seen: set[str] = set()
    for i, out in enumerate(event.outputs):
        for j, tag in enumerate(out.ear_tags or ()):
            field = f"outputs[{i}].ear_tags[{j}]"
            if tag in seen:
                raise RuleViolation("ear_tag", f"ear tag {tag} is listed on two outputs", field)
            seen.add(tag)
            now_in = view.animal_lot(tag)
            if event.kind == "harvest":
                if now_in is not None:
                    raise RuleViolation(
                        "ear_tag", f"ear tag {tag} is already on record, in lot {now_in}", field
                    )
            elif now_in not in inputs:
                where = f"in lot {now_in}" if now_in is not None else "on no lot"
                raise RuleViolation(
                    "ear_tag", f"ear tag {tag} is {where}, not in an input of this event", field
                )
            else:
                taken[now_in] = taken.get(now_in, 0) + 1
    for i, out in enumerate(event.outputs):
        _check_animal_lot(event.kind, i, out)
    if event.kind == "harvest":
        return
    for i, ref in enumerate(event.inputs):
        if ref.unit == "head" and ref.quantity != taken.get(ref.lot, 0):
            raise RuleViolation(
                "ear_tag",
                f"the event takes {format_decimal(ref.quantity)} head of lot {ref.lot}, and its outputs list "
                f"{taken.get(ref.lot, 0)} of that lot's animals: every animal taken goes on by its ear tag",
                f"inputs[{i}].quantity",
            )


def _check_animal_lot(kind: str, i: int, out: LotOut) -> None:
    """A lot of live animals is of one species, weighed when tagged (a harvest), and no heavier a
    head than its species' `MAX_LIVE_WEIGHT`."""
    if out.ear_tags is None:
        return
    species = {EAR_TAG_SPECIES[tag[0]] for tag in out.ear_tags}
    if len(species) != 1:
        raise RuleViolation(
            "ear_tag",
            f"lot {out.lot} mixes species ({', '.join(sorted(species))}): one species a lot",
            f"outputs[{i}].ear_tags",
        )
    if out.live_weight is None:
        if kind == "harvest":
            raise RuleViolation(
                "quantity",
                f"live animals are weighed when they are tagged: state lot {out.lot}'s live_weight in kg",
                f"outputs[{i}].live_weight",
            )
        return
    (name,) = species
    if out.live_weight > MAX_LIVE_WEIGHT[name] * len(out.ear_tags):
        raise RuleViolation(
            "quantity",
            f"{format_decimal(out.live_weight)} kg is more than {format_decimal(MAX_LIVE_WEIGHT[name])} kg a "
            f"head for {len(out.ear_tags)} {name}",
            f"outputs[{i}].live_weight",
        )


def _check_slaughter(
    event: Event, detail: TransformDetail, lots: Sequence[LotState], party: PartyState, view: StateReader
) -> None:
    if "processor" not in party.roles:
        raise RuleViolation(
            "role",
            f"party {party.id} may not slaughter: that is a designated slaughterhouse's (role processor)",
            "detail.type",
        )
    species: set[str] = set()
    heads = Decimal(0)
    for i, lot in enumerate(lots):
        if lot.unit != "head":
            raise RuleViolation("unit", f"a slaughter takes live animals (head), not lot {lot.code} in {lot.unit}",
                                f"inputs[{i}].unit")  # fmt: skip
        _need_animal_certificate(lot, i, view, at=event.time, valid=False, verb="slaughtered")
        species |= {EAR_TAG_SPECIES[tag[0]] for tag in view.lot_animals(lot.code)}
        heads += event.inputs[i].quantity
    for i, out in enumerate(event.outputs):
        if out.unit not in MASS_UNITS:
            raise RuleViolation(
                "unit", f"a slaughter yields meat by mass, not {out.unit}", f"outputs[{i}].unit"
            )
        if out.product.category not in MEAT_CATEGORIES:
            raise RuleViolation(
                "unit",
                f"a slaughter yields meat: its outputs' category is one of {', '.join(sorted(MEAT_CATEGORIES))}",
                f"outputs[{i}].product.category",
            )
    if len(species) != 1:
        raise RuleViolation(
            "mass_balance",
            f"a slaughter takes one species, found {', '.join(sorted(species)) or 'none'}",
            "inputs",
        )
    (kind,) = species
    live = detail.live_weight or Decimal(0)
    if live > MAX_LIVE_WEIGHT[kind] * heads:
        raise RuleViolation(
            "mass_balance",
            f"{format_decimal(live)} kg is more than {format_decimal(MAX_LIVE_WEIGHT[kind])} kg a head for "
            f"{format_decimal(heads)} {kind}",
            "detail.live_weight",
        )
    weights = [view.lot_live_weight(lot.code) for lot in lots]  # each input is taken whole
    if all(w is not None for w in weights):
        recorded = sum(weights, Decimal(0))  # type: ignore[arg-type]
        low, high = SLAUGHTER_WEIGHT
        if not low * recorded <= live <= high * recorded:
            raise RuleViolation(
                "mass_balance",
                f"the animals were recorded at {format_decimal(recorded)} kg live; a slaughter states "
                f"{format_decimal(low * recorded)} to {format_decimal(high * recorded)} kg "
                f"({low * 100:.0f} to {high * 100:.0f} %: fasting and transport shrink), not {format_decimal(live)} kg",
                "detail.live_weight",
            )
    out_kg = sum((to_base(o.quantity, o.unit)[0] for o in event.outputs), Decimal(0))
    low, high = SLAUGHTER_YIELD[kind]
    if not low * live <= out_kg <= high * live:
        raise RuleViolation(
            "mass_balance",
            f"a slaughter of {format_decimal(live)} kg of live {kind} yields {format_decimal(low * live)} to "
            f"{format_decimal(high * live)} kg ({low * 100:.0f} to {high * 100:.0f} % of live weight), not "
            f"{format_decimal(out_kg)} kg",
            "outputs",
        )
    if view.livestock_certificate(detail.certificate_no or ""):
        raise RuleViolation(
            "quarantine", f"certificate {detail.certificate_no} is already on record", "detail.certificate_no"
        )
