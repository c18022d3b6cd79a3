"""The consumer page's timeline: `TraceService.journey_bundle`'s answer as lot.html shows it first.

This is the server's first paint, marked "not yet verified" on the page: the browser then draws the
facts it proved in its place (static/facts-view.js, which mirrors the formatters below).

    journey_view(journey, t, lookup_party=...) -> the page's view: product, origins, prices,
                                                   recall banners, warnings and one step per event

The page reads the typed `Journey` (trace/reads/journeys.py); each step reads its event's signed
wire form (`JourneyEvent.event`, the decoded entry's JSON), so the page shows the fields the
entry's signature covers, under the names the browser's check (static/verify.js) reads in
`Journey.to_wire()`, the bundle it fetches from GET /lots/{code}/journey.

Each event kind has one small formatter in `_DETAILS` (kind -> the lines under the step's title);
a kind without one shows its title alone. Texts are plain strings: the template escapes them.
"""
# size: the page's view and one small formatter per event kind (_DETAILS), all over one _Journey;
# apart, the formatters would need that private state exported

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from farmtrace.trace.model.encoding import split_entry
from farmtrace.trace.model.units import MASS_UNITS
from farmtrace.trace.reads.journeys import Journey, JourneyEvent, JourneyRecall
from farmtrace.trace.reads.lots import LotStatus

from .i18n import Translator
from .journey_path import JourneyPath, journey_path
from .render import instructions, names, unit_name

__all__ = ["STAGES", "journey_view"]

STAGES = ("production", "wholesale", "retail")  # the price stages a page labels

_STAGE_BY_ROLE = (
    ("retailer", "retail"),
    ("wholesaler", "wholesale"),
    ("processor", "processing"),
    ("producer", "production"),
    ("inspector", "inspection"),
    ("regulator", "regulator"),
)
_STAGE_BY_KIND = {
    "harvest": "production",
    "inspect": "inspection",
    "certify": "certificate",
    "quarantine": "quarantine",
    "recall": "regulator",
}
# Grams per mass unit (units.MASS_UNITS, exactly): a slaughter's yield is reckoned in whole milligrams,
# as static/facts-view.js reckons it with BigInt, so both twins print the same percentage.
_GRAMS = {"kg": 1000, "g": 1, "t": 1_000_000, "jin": 500}
_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]{1,3}))?")


@dataclass
class _Journey:
    """What the formatters share over one journey: the page's lot, the parties, and what they collect."""

    t: Translator
    lot: str
    lineage: set[str]
    parties: dict[str, dict[str, Any]]
    party_name: Callable[..., str]
    variety: str | None
    path: JourneyPath  # the transfers off the path to the page's lot: shown without their counterparty
    origins: list[dict[str, Any]] = field(default_factory=list)
    went_lots: list[str] = field(default_factory=list)  # lots made from the page's own lot
    went_to: list[str] = field(default_factory=list)  # parties the page's own lot was shipped to


@dataclass
class _Step:
    """One event being formatted: its lines, the certificate's commitments and a pass/fail badge."""

    ev: dict[str, Any]
    detail: dict[str, Any]
    who: str
    on_path: bool  # False for a ship or receive off the path to the page's lot (web/journey_path.py)
    ins: list[dict[str, Any]]  # the event's inputs on this lot's lineage (else all of them)
    outs: list[dict[str, Any]]  # likewise its outputs
    lines: list[str] = field(default_factory=list)
    commitments: list[str] = field(default_factory=list)
    badge: dict[str, str] | None = None
    tags: list[str] = field(default_factory=list)  # ear tags, shown folded under their count

    @property
    def first_in(self) -> dict[str, Any] | None:
        return self.ins[0] if self.ins else None


def _qty(ref: Mapping[str, Any], t: Translator) -> dict[str, str]:
    return {"quantity": ref["quantity"], "unit": unit_name(ref["unit"], t)}


def _list(t: Translator, items: list[str], *, most: int = 5) -> str:
    """Items joined in the page's language; past `most`, the first few and how many in all."""
    shown = t("list.sep").join(items[:most])
    return shown if len(items) <= most else t("list.more", items=shown, n=len(items))


# --- one formatter per event kind --------------------------------------------------------------------


def _harvest(j: _Journey, s: _Step) -> None:
    t = j.t
    origin = s.detail.get("origin", {})
    place = ", ".join(x for x in (origin.get("name"), origin.get("address")) if x)
    for o in s.outs:
        if o["unit"] == "head":  # live animals: their ear tags and live weight (values.LotOut)
            s.lines.append(t("detail.animals", **_qty(o, t)))
            if o.get("live_weight"):
                s.lines.append(t("detail.live_weight", weight=o["live_weight"]))
            s.tags += o.get("ear_tags", [])
        else:
            s.lines.append(t("detail.harvest", **_qty(o, t)))
        j.variety = j.variety or o.get("product", {}).get("variety")
    animals = bool(s.outs) and all(o["unit"] == "head" for o in s.outs)
    s.lines.append(t("detail.farm" if animals else "detail.field", field=place))
    j.origins.append(
        {
            "producer": s.who,
            "address": j.parties.get(s.ev["party"], {}).get("address"),
            "field": place,
            "harvested": s.ev["event_time"][:10],
            "animals": animals,  # live animals: a farm, and the day they were sent out (出栏)
        }
    )


def _inspect(j: _Journey, s: _Step) -> None:
    t, d = j.t, s.detail
    s.lines += [
        t("detail.analyte", analyte=d.get("analyte", "")),
        t("detail.method", method=d.get("method", "")),
        t("detail.value", value=d.get("value"), limit=d.get("limit"), unit=d.get("unit")),
        t("detail.report", report=d.get("report_no", "")),
    ]
    passed = d.get("result") == "pass"
    s.badge = {"text": t("detail.pass" if passed else "detail.fail"), "cls": "pass" if passed else "fail"}


def _certify(j: _Journey, s: _Step) -> None:
    t = j.t
    s.lines.append(t("detail.certificate", number=s.detail.get("certificate_no", "")))
    if s.first_in:
        s.lines.append(t("detail.quantity", **_qty(s.first_in, t)))
    s.commitments = [t(f"commit.{c}") for c in s.detail.get("commitments", []) if t.has(f"commit.{c}")]
    if s.commitments:
        s.lines.append(t("detail.commitments"))


def _quarantine(j: _Journey, s: _Step) -> None:
    """A 动物检疫合格证明 (details.QuarantineDetail): its form and number, what it covers, the
    official vet, when it was issued and until when it holds, where the goods go and what for."""
    t, d = j.t, s.detail
    form = d.get("form", "")
    name = t(f"detail.quarantine.form.{form}") if t.has(f"detail.quarantine.form.{form}") else form
    s.lines.append(t("detail.quarantine.number", form=name, number=d.get("certificate_no", "")))
    if s.first_in and form.startswith("animal"):
        s.lines.append(t("detail.quarantine.animals", species=d.get("species", ""), **_qty(s.first_in, t)))
    elif s.first_in:
        s.lines.append(
            t("detail.quarantine.product", product=d.get("product_name", ""), **_qty(s.first_in, t))
        )
    s.lines.append(t("detail.quarantine.vet", vet=d.get("official_vet", "")))
    until = _valid_until(s.ev["event_time"], d.get("valid_days"))
    if until is not None:
        s.lines.append(t("detail.quarantine.valid", issued=_when(s.ev["event_time"]), until=until))
    s.lines.append(t("detail.quarantine.destination", destination=d.get("destination", "")))
    if d.get("purpose"):
        s.lines.append(t("detail.quarantine.purpose", purpose=d["purpose"]))
    s.tags += d.get("ear_tags", [])


def _valid_until(time: str, days: object) -> str | None:
    """A certificate's last moment, "YYYY-MM-DD HH:MM" as recorded: `days` calendar days after its
    `time` (本批…应于 N 日内到达有效; rules/effects.py adds them to the signed time); None if unreadable."""
    if not re.fullmatch(r"[0-9]{1,4}", str(days)):
        return None
    try:
        day = date.fromisoformat(time[:10]) + timedelta(days=int(str(days)))
    except (ValueError, OverflowError):
        return None
    return _when(day.isoformat() + time[10:])


def _milligrams(quantity: object, unit: object) -> int | None:
    """A signed mass quantity in whole milligrams (None for a count, or a quantity not canonical)."""
    m = _DECIMAL.fullmatch(quantity) if isinstance(quantity, str) else None
    if m is None or unit not in _GRAMS:
        return None
    return (int(m[1]) * 1000 + int((m[2] or "").ljust(3, "0"))) * _GRAMS[unit]  # type: ignore[index]


def _slaughter(j: _Journey, s: _Step) -> None:
    """A slaughter: the slaughterhouse, the animals and their live weight, what came out in kg, the
    yield (the outputs' weight over the live weight, to 0.1 %) and the 肉品品质检验合格证."""
    t, d = j.t, s.detail
    ins, every = s.ev.get("inputs", []), s.ev.get("outputs", [])
    heads = sum(
        int(r["quantity"]) for r in ins if _DECIMAL.fullmatch(r["quantity"]) and "." not in r["quantity"]
    )
    s.lines.append(t("detail.slaughter.house", party=s.who))
    s.lines.append(
        t("detail.slaughter.in", quantity=heads, unit=unit_name("head", t), weight=d.get("live_weight", ""))
    )
    out = [_milligrams(o["quantity"], o["unit"]) for o in every]
    live = _milligrams(d.get("live_weight"), "kg")
    if every and None not in out:
        total = sum(out)  # type: ignore[arg-type]
        kg = f"{total // 1_000_000}.{total % 1_000_000:06d}".rstrip("0").rstrip(".")
        s.lines.append(
            t("detail.slaughter.out", n=len(every), kg=kg, lots=_list(t, [o["lot"] for o in every]))
        )
        if live:
            tenths = (2 * total * 1000 + live) // (2 * live)  # half up, in tenths of a percent
            s.lines.append(t("detail.slaughter.yield", percent=f"{tenths // 10}.{tenths % 10}"))
    s.lines.append(t("detail.meat_certificate", number=d.get("certificate_no", "")))


def _ship(j: _Journey, s: _Step) -> None:
    if not s.first_in:
        return
    if not s.on_path:
        s.lines.append(j.t("detail.ship_unnamed", **_qty(s.first_in, j.t)))
        return
    destination = j.party_name(s.detail.get("destination", ""))
    s.lines.append(j.t("detail.ship", party=destination, **_qty(s.first_in, j.t)))
    if s.first_in["lot"] == j.lot and destination not in j.went_to:
        j.went_to.append(destination)


def _receive(j: _Journey, s: _Step) -> None:
    t = j.t
    if not s.first_in:
        return
    if s.on_path:
        s.lines.append(
            t("detail.receive", party=j.party_name(s.detail.get("source", "")), **_qty(s.first_in, t))
        )
    else:
        s.lines.append(t("detail.receive_unnamed", **_qty(s.first_in, t)))
    check = s.detail.get("entry_check", {})
    text = t("detail.entry_accepted" if check.get("result") == "accepted" else "detail.entry_rejected")
    if check.get("certificate_no"):
        text += "，" if t.lang == "zh" else ", "
        # A paper certificate is the market's word, not a 合格证 the ledger holds: say so.
        paper = check.get("certificate_source") == "paper"
        text += t(
            "detail.entry_certificate_paper" if paper else "detail.entry_certificate",
            number=check["certificate_no"],
        )
    s.lines.append(text)
    for sensor in s.ev.get("sensors", []):
        if sensor.get("type") == "temperature":
            s.lines.append(t("detail.temperature", value=sensor.get("value")))


def _transform(j: _Journey, s: _Step) -> None:
    t = j.t
    if not s.outs:
        return
    how = s.detail.get("type")
    every = s.ev.get("outputs", [])
    # The page's own lot went into this transform (its page, not a descendant's): none of the
    # outputs is "this product", so name them all.
    consumed = any(r["lot"] == j.lot for r in s.ev.get("inputs", []))
    if consumed:
        j.went_lots += [o["lot"] for o in every if o["lot"] not in j.went_lots]
    first = s.outs[0]
    if how == "slaughter":
        _slaughter(j, s)
    elif consumed and how in ("split", "repack"):
        s.lines.append(t(f"detail.{how}_here", n=len(every), lots=_list(t, [o["lot"] for o in every])))
    elif how == "merge":
        s.lines.append(t("detail.merge", n=len(s.ev.get("inputs", [])), lot=first["lot"]))
    elif how in ("split", "repack"):
        s.lines.append(t(f"detail.{how}", n=len(every), lot=first["lot"], **_qty(first, t)))
    else:
        s.lines.append(t("detail.process", lot=first["lot"], **_qty(first, t)))


def _sell(j: _Journey, s: _Step) -> None:
    if s.first_in:
        s.lines.append(j.t("detail.sell", **_qty(s.first_in, j.t)))


def _recall(j: _Journey, s: _Step) -> None:
    s.lines.append(j.t("detail.reason", reason=s.detail.get("reason", "")))
    if s.detail.get("instructions"):
        s.lines.append(instructions(s.detail["instructions"], j.t))


_DETAILS: dict[str, Callable[[_Journey, _Step], None]] = {
    "harvest": _harvest,
    "inspect": _inspect,
    "certify": _certify,
    "quarantine": _quarantine,
    "ship": _ship,
    "receive": _receive,
    "transform": _transform,
    "sell": _sell,
    "recall": _recall,
    "destroy": _recall,
}


# --- the page ------------------------------------------------------------------------------------------


def journey_view(
    journey: Journey,
    t: Translator,
    *,
    lookup_party: Callable[[str], Mapping[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """What lot.html shows, in `t`'s language, from `TraceService.journey_bundle`'s answer.

    Parties are named in the page's language (English name when registered with one, else the
    Chinese): from the registrations the journey carries, else from `lookup_party(id)` (a party the
    journey names but that signed nothing on these lots, such as a buyer that has not received
    yet); the party's code only when neither knows it. Texts are returned as plain strings: the
    template escapes every one of them.
    """
    parties = _parties(journey)
    looked_up: dict[str, Mapping[str, Any] | None] = {}

    def party_name(pid: str, fallback: str | None = None) -> str:
        if pid in parties:
            return names(parties[pid], t)[0] or pid
        if lookup_party is not None and pid:
            if pid not in looked_up:
                looked_up[pid] = lookup_party(pid)
            if looked_up[pid]:
                return names(looked_up[pid], t)[0] or pid
        return fallback or pid

    j = _Journey(
        t=t,
        lot=journey.lot,
        lineage=set(journey.lots) | {journey.lot},
        parties=parties,
        party_name=party_name,
        variety=journey.product.get("variety"),
        path=journey_path(
            journey.lot,
            [{**item.event, "index": item.proven.index} for item in journey.events if item.event is not None],
        ),
    )
    prices: list[dict[str, Any]] = []
    steps = [_step(j, n, item, prices) for n, item in enumerate(journey.events, start=1)]
    recalls = _recalls(j, journey.recalls)  # after the steps: they collect where the lot went
    product_names = names(journey.product, t)
    return {
        "lot": journey.lot,
        "product_name": product_names[0],
        "product_other": product_names[1],
        "gtin": journey.product.get("gtin"),
        "quantity": f"{journey.quantity} {unit_name(journey.unit, t)}",
        "variety": j.variety,
        "recalls": recalls,
        "warnings": _warnings(t, journey.status, recalled_shown=bool(recalls)),
        "origins": j.origins,
        "prices": prices,
        "steps": steps,
        "damaged": False,
        "livestock": _has_livestock(journey),
    }


def _has_livestock(journey: Journey) -> bool:
    """Whether the journey names live animals, a quarantine or a slaughter: then the page loads
    static/facts-livestock.js and the livestock words (web/i18n/livestock.py), which a vegetable's
    page, on a weak network, does without. Read from the server's journey: a server that hid it
    could only leave those steps untitled in the browser, never make a fact of anything."""
    if journey.unit == "head":
        return True
    for item in journey.events:
        ev = item.event or {}
        if ev.get("kind") == "quarantine" or ev.get("detail", {}).get("type") == "slaughter":
            return True
        if any(r.get("unit") == "head" for r in [*ev.get("inputs", []), *ev.get("outputs", [])]):
            return True
    return False


def _step(j: _Journey, n: int, item: JourneyEvent, prices: list[dict[str, Any]]) -> dict[str, Any]:
    """Step `n` of the timeline for the journey's `item` (its event decoded: the consumer page
    shows a journey with an undecodable entry as damaged); its price, if any, is added to `prices`."""
    t, ev = j.t, item.event
    if ev is None:
        raise ValueError(f"entry {item.proven.index} does not decode: render the page as damaged")
    kind = ev["kind"]
    detail = ev.get("detail", {})
    s = _Step(
        ev=ev,
        detail=detail,
        who=_signer(j, item),
        on_path=j.path.on_path(item.proven.index),
        ins=[r for r in ev.get("inputs", []) if r["lot"] in j.lineage] or ev.get("inputs", []),
        outs=[o for o in ev.get("outputs", []) if o["lot"] in j.lineage] or ev.get("outputs", []),
    )
    if kind == "transform":
        title = t(f"kind.transform.{detail.get('type', 'process')}")
    elif kind == "harvest" and s.outs and all(o["unit"] == "head" for o in s.outs):
        title = t("kind.harvest.animals")  # live animals are raised and sent out (出栏), not picked
    else:
        title = t(f"kind.{kind}") if t.has(f"kind.{kind}") else t("kind.other")
    if kind in _DETAILS:
        _DETAILS[kind](j, s)
    price_text = None
    price = ev.get("price")
    if price:
        shown, recorded = _price(t, price)
        stage_label = t(f"price.{price.get('stage')}") if price.get("stage") in STAGES else ""
        price_text = t("detail.price", stage=stage_label, price=shown)
        prices.append(
            {
                "stage": price.get("stage"),
                "stage_label": stage_label,
                "per_kg": shown,
                "recorded": recorded,
                "party": s.who,
            }
        )
    record = j.parties.get(ev["party"], {})
    stage = _stage(ev, record.get("roles", []))
    # The place, unless it is just the party's own name (in either language).
    place = ev.get("location", {}).get("name")
    if place in (s.who, record.get("name_zh"), record.get("name_en")) or not s.on_path:
        place = None  # off the path, the place would name the premises of a party the page does not
    return {
        "n": n,
        "index": item.proven.index,
        "id": item.id,
        "kind": kind,
        "type": detail.get("type") if kind == "transform" else None,
        "title": title,
        "stage": stage,
        "stage_label": t(f"stage.{stage}"),
        "datetime": ev["event_time"],
        "when": _when(ev["event_time"]),
        "party": s.who,
        "place": place,
        "lines": s.lines,
        "commitments": s.commitments,
        "tags": s.tags,
        "badge": s.badge,
        "price": price_text,
    }


def _signer(j: _Journey, item: JourneyEvent) -> str:
    """Who signed the event, as the page names them. Off the path, a receipt's signer is "another
    buyer", and a shipper the path does not name (a buyer of the lot reselling it) "another seller"."""
    ev, index = item.event or {}, item.proven.index
    if not j.path.on_path(index):
        if ev.get("kind") == "receive":
            return j.t("journey.another_buyer")
        if not j.path.may_name(index, ev["party"]):
            return j.t("journey.another_seller")
    return j.party_name(ev["party"], item.party_name)


def _recalls(j: _Journey, recalls: tuple[JourneyRecall, ...]) -> list[dict[str, Any]]:
    """The recall banners: the lot's own recall says where the lot went; an ancestor's says whose."""
    t = j.t
    out = []
    for r in recalls:
        day = r.time[:10]
        itself = r.lot == j.lot
        went = []
        if itself and j.went_lots:
            went.append(t("recall.went_lots", lots=_list(t, j.went_lots)))
        if itself and j.went_to:
            went.append(t("recall.went_to", parties=t("list.sep").join(j.went_to)))
        out.append(
            {
                "lead": t("recall.self" if itself else "recall.upstream", lot=r.lot, date=day),
                "went": went,
                "reason": r.reason,
                "instructions": instructions(r.instructions, t),
            }
        )
    return out


def _warnings(t: Translator, status: LotStatus, *, recalled_shown: bool) -> list[str]:
    warnings = []
    if status.recalled and not recalled_shown:
        warnings.append(t("recall.title"))
    if status.failed:
        warnings.append(t("status.failed"))
    if status.rejected:
        warnings.append(t("status.rejected"))
    return warnings


def _parties(journey: Journey) -> dict[str, dict[str, Any]]:
    """Public party records (names, roles, address) from the key registrations the journey carries."""
    out: dict[str, dict[str, Any]] = {}
    for _, key in journey.keys:
        reg = key.registered_in
        if reg is None or reg.entry is None:
            continue
        try:
            canonical, _ = split_entry(reg.entry)  # InvalidEvent is a ValueError
            event = json.loads(canonical)
            record = event["detail"]["party"] if event.get("kind") == "party.register" else None
        except (ValueError, KeyError, IndexError, TypeError):
            continue
        if isinstance(record, dict) and "id" in record:
            out[record["id"]] = record
    return out


def _stage(event: dict[str, Any], roles: list[str]) -> str:
    kind = event["kind"]
    if kind in _STAGE_BY_KIND:
        return _STAGE_BY_KIND[kind]
    if kind == "sell" and event.get("price", {}).get("stage") in ("wholesale", "retail"):
        return event["price"]["stage"]
    return next((stage for role, stage in _STAGE_BY_ROLE if role in roles), "production")


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _when(text: str) -> str:
    """ "2026-11-20T08:30:00+08:00" as recorded, to the minute: "2026-11-20 08:30"."""
    return text[:10] + " " + text[11:16] if len(text) >= 16 else text


def _price(t: Translator, price: dict[str, Any]) -> tuple[str, str | None]:
    """(price per kg — or per counted unit — in the page's words, the price as recorded if converted)."""
    try:
        amount = Decimal(price["amount"])
    except (InvalidOperation, KeyError, TypeError):
        return str(price.get("amount")), None
    unit = price.get("unit", "")
    if unit in MASS_UNITS and unit != "kg":
        per_kg = amount / MASS_UNITS[unit]
        return (
            t("price.amount", amount=_money(per_kg), unit=unit_name("kg", t)),
            t("price.as_recorded", amount=_money(amount), unit=unit_name(unit, t)),
        )
    return t("price.amount", amount=_money(amount), unit=unit_name(unit, t)), None
