# size: every EPCIS value the capture reads (quantities, places, sensors, ilmd), each refusal naming its field
"""The values of captured EPCIS events (trace/epcis_capture.py): lots, quantities, times, places,
parties, documents and sensor readings, each read strictly into its farmtrace wire form.

Each reader raises InvalidEvent whose `field` is the EPCIS field at fault ("quantityList[1].uom").
CBV values are accepted bare, as GS1 Web URIs or as EPC URNs (CBV 2.0 §6). Lots and places written
as GS1 Digital Links are parsed with biip (AI 01, 10, 414); EPC URNs (LGTIN, SGLN) by their Tag Data
Standard pattern.

Units (UN/CEFACT Recommendation 20 and 21), the inverse of `epcis.UOM`:

    KGM kg    GRM g    TNE t    H87 piece (also no uom: a count)    XBX box    XBG bag    HEA head

A new lot's ilmd: `farmtrace:products` (required) and `farmtrace:tracingCodes` keyed by lot code;
`farmtrace:origin` (a harvest's); `farmtrace:animals`, keyed by the lot codes of new lots of live
animals (HEA), each `{ear_tags, live_weight?}`, which become those outputs' `ear_tags` and
`live_weight`. A lot in HEA without its entry, or an entry for any other lot, is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, unquote

from biip.gs1_digital_link_uris import GS1DigitalLinkURI

from .epcis import party_uri
from .errors import InvalidEvent
from .model.ids import check_national_code, gs1_check_digit
from .model.reader import type_name
from .model.units import format_decimal

__all__ = [
    "Quantity",
    "cbv_value",
    "decimal_text",
    "derived_transactions",
    "digital_link",
    "documents",
    "event_time",
    "input_ref",
    "location",
    "lot_of_class",
    "outputs",
    "party_list",
    "quantities",
    "quote_text",
    "sensors",
]

_UOM = {"KGM": "kg", "GRM": "g", "TNE": "t", "H87": "piece", "XBX": "box", "XBG": "bag", "HEA": "head"}
# What a new lot's ilmd may hold (the export's `epcis._ilmd`).
_ILMD = frozenset({"farmtrace:products", "farmtrace:origin", "farmtrace:tracingCodes", "farmtrace:animals"})
_SENSORS = {("Temperature", "CEL"): ("temperature", "Cel"), ("RelativeHumidity", "P1"): ("humidity", "%RH")}
_DOC_TYPES = {"inv": "invoice", "cert": "certificate", "testres": "inspection_report", "po": "purchase_order"}
# CBV 2.0 §6: a value is the bare word, its GS1 Web URI or its EPC URN.
_CBV_PREFIXES = {
    "bizStep": ("https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:"),
    "disposition": ("https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:"),
    "type": ("https://ref.gs1.org/cbv/BTT-", "urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/SDT-",
             "urn:epcglobal:cbv:sdt:"),
}  # fmt: skip
_LGTIN = re.compile(r"urn:epc:class:lgtin:([0-9]{6,12})\.([0-9]{1,7})\.(.+)")
_SGLN = re.compile(r"urn:epc:id:sgln:([0-9]{6,12})\.([0-9]{0,6})\.(.+)")


def cbv_value(obj: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidEvent(key, f"expected a CBV value, found {type_name(value)}")
    for prefix in _CBV_PREFIXES.get(key, ()):
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


# --- lots and quantities ------------------------------------------------------------------------


def lot_of_class(uri: object, *, field: str) -> tuple[str, str | None]:
    """Return (lot code, GTIN-14 or None) of an `epcClass`. Raises InvalidEvent(field).

    Accepted: `urn:farmtrace:lot:{percent-encoded lot}`; `urn:epc:class:lgtin:{CP}.{item ref}.{lot}`
    (EPC Tag Data Standard 2.1 §6.3.21); a GS1 Digital Link URI with AI 01 and AI 10, on any domain.
    """
    if not isinstance(uri, str):
        raise InvalidEvent(field, f"expected a class URI, found {type_name(uri)}")
    if uri.startswith("urn:farmtrace:lot:"):
        return unquote(uri.removeprefix("urn:farmtrace:lot:")), None
    m = _LGTIN.fullmatch(uri)
    if m is not None:
        prefix, item, lot = m.groups()
        if len(prefix) + len(item) != 13:
            raise InvalidEvent(
                field, f"an LGTIN's company prefix and item reference have 13 digits: {uri[:80]}"
            )
        digits = item[0] + prefix + item[1:]
        return unquote(lot), digits + gs1_check_digit(digits)
    if uri.startswith(("https://", "http://")):
        ais = digital_link(uri, field=field)
        if "01" not in ais or "10" not in ais or "21" in ais:
            raise InvalidEvent(
                field, f"a lot is named by a Digital Link with AI 01 and AI 10 (no 21): {uri[:80]}"
            )
        return ais["10"], ais["01"]
    raise InvalidEvent(
        field, f"not a lot class (urn:farmtrace:lot, LGTIN URN or Digital Link with AI 10): {uri[:80]}"
    )


def digital_link(uri: str, *, field: str) -> dict[str, str]:
    """The element strings of a GS1 Digital Link URI, {AI: value}, parsed by biip with their check
    digits checked (GTIN, GLN). Raises InvalidEvent(field) naming what biip found wrong."""
    try:
        link = GS1DigitalLinkURI.parse(uri)
    except Exception as exc:  # biip raises its ParseError (a ValueError) for what it cannot read
        raise InvalidEvent(field, f"not a GS1 Digital Link: {exc}") from exc
    for element in link.element_strings:
        error = element.gtin_error or element.gln_error
        if error:
            raise InvalidEvent(field, f"not a GS1 Digital Link: {error}")
    return {e.ai.ai: e.value for e in link.element_strings}


@dataclass(frozen=True)
class Quantity:
    field: str
    lot: str
    gtin: str | None
    quantity: str
    unit: str


def quantities(obj: dict[str, Any], key: str) -> list[Quantity]:
    items = obj.get(key, [])
    if not isinstance(items, list):
        raise InvalidEvent(key, f"expected a list, found {type_name(items)}")
    out = []
    for i, item in enumerate(items):
        f = f"{key}[{i}]"
        if not isinstance(item, dict) or set(item) - {"epcClass", "quantity", "uom"}:
            raise InvalidEvent(f, "expected {epcClass, quantity, uom}")
        lot, gtin = lot_of_class(item.get("epcClass"), field=f + ".epcClass")
        uom = item.get("uom", "H87")  # CBV: no uom means a count of instances
        if not isinstance(uom, str) or uom not in _UOM:
            raise InvalidEvent(f + ".uom", f"expected one of {', '.join(_UOM)}, found {str(uom)[:20]!r}")
        out.append(
            Quantity(f, lot, gtin, decimal_text(item.get("quantity"), field=f + ".quantity"), _UOM[uom])
        )
    return out


def decimal_text(value: object, *, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidEvent(field, f"expected a number, found {type_name(value)}")
    try:
        return format_decimal(Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidEvent(field, f"not a finite number: {value!r}") from exc


def input_ref(q: Quantity) -> dict[str, Any]:
    return {"lot": q.lot, "quantity": q.quantity, "unit": q.unit}


def outputs(obj: dict[str, Any], refs: list[Quantity]) -> list[dict[str, Any]]:
    ilmd = obj.get("ilmd")
    products = ilmd.get("farmtrace:products") if isinstance(ilmd, dict) else None
    if not isinstance(products, dict):
        raise InvalidEvent(
            "ilmd.farmtrace:products", "a new lot needs its product (name_zh, gtin, ...) keyed by lot"
        )
    extra = set(ilmd) - _ILMD
    if extra:
        raise InvalidEvent(f"ilmd.{sorted(extra)[0]}", "farmtrace has no field for it: not representable")
    codes = ilmd.get("farmtrace:tracingCodes", {})
    if "farmtrace:tracingCodes" in ilmd and (
        not isinstance(codes, dict) or not codes or set(codes) - {q.lot for q in refs}
    ):
        raise InvalidEvent(
            "ilmd.farmtrace:tracingCodes",
            "a non-empty object of 追溯码 keyed by lot codes of the event's new lots",
        )
    animals = _animals(ilmd, refs)
    out = []
    for q in refs:
        product = products.get(q.lot)
        if not isinstance(product, dict):
            raise InvalidEvent(f"ilmd.farmtrace:products.{q.lot}", "missing: each new lot needs its product")
        if q.gtin is not None and product.get("gtin") is not None and q.gtin != _gtin14(product["gtin"]):
            raise InvalidEvent(q.field + ".epcClass", f"GTIN {q.gtin} is not the product's {product['gtin']}")
        if q.gtin is not None and product.get("gtin") is None:
            raise InvalidEvent(q.field + ".epcClass", f"names GTIN {q.gtin}, but the lot's product has none")
        line = {"lot": q.lot, "quantity": q.quantity, "unit": q.unit, "product": product}
        if q.lot in codes:
            check_national_code(codes[q.lot], field=f"ilmd.farmtrace:tracingCodes.{q.lot}")
            line["tracing_code"] = codes[q.lot]
        line.update(animals.get(q.lot, {}))
        out.append(line)
    if set(products) - {q.lot for q in refs}:
        raise InvalidEvent("ilmd.farmtrace:products", "names a lot that is not among the event's new lots")
    return out


def _animals(ilmd: dict[str, Any], refs: list[Quantity]) -> dict[str, dict[str, Any]]:
    """`ilmd.farmtrace:animals`: {lot: {ear_tags, live_weight?}} for exactly the new lots in HEA."""
    key = "ilmd.farmtrace:animals"
    heads = {q.lot for q in refs if q.unit == "head"}
    animals = ilmd.get("farmtrace:animals", {})
    if not isinstance(animals, dict) or ("farmtrace:animals" in ilmd and not animals):
        raise InvalidEvent(key, "a non-empty object of live animals' ear tags keyed by lot code")
    for lot, entry in animals.items():
        if lot not in heads:
            raise InvalidEvent(f"{key}.{lot[:40]}", "only a new lot of live animals (uom HEA) has ear tags")
        if not isinstance(entry, dict) or "ear_tags" not in entry:
            raise InvalidEvent(f"{key}.{lot}", "expected {ear_tags, live_weight?}: the animals' ear tags")
        for name in entry:
            if name not in ("ear_tags", "live_weight"):
                raise InvalidEvent(
                    f"{key}.{lot}.{str(name)[:40]}", "farmtrace has no field for it: not representable"
                )
    missing = sorted(heads - set(animals))
    if missing:
        raise InvalidEvent(
            f"{key}.{missing[0]}", "missing: live animals (uom HEA) need their ear tags, one per head"
        )
    return {
        lot: {k: entry[k] for k in ("ear_tags", "live_weight") if k in entry}
        for lot, entry in animals.items()
    }


def _gtin14(gtin: object) -> str:
    return str(gtin).zfill(14)


# --- time, place, parties, documents, sensors ---------------------------------------------------


def _seconds(text: object, *, field: str, offset: str | None = None) -> str:
    """An EPCIS time as farmtrace's RFC 3339 text to the second, in `offset` (default: its own)."""
    if not isinstance(text, str):
        raise InvalidEvent(field, f"expected a date-time, found {type_name(text)}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidEvent(field, f"not an RFC 3339 date-time: {text[:40]!r}") from exc
    if moment.tzinfo is None:
        raise InvalidEvent(field, "needs an explicit offset")
    if offset is not None:
        moment = moment.astimezone(_zone(offset))
    local = moment.replace(microsecond=0).isoformat()
    zulu = text.endswith("Z") and local.endswith("+00:00")
    return local[:-6] + "Z" if zulu else local


def _zone(offset: object) -> timezone:
    m = re.fullmatch(r"([+-])([0-9]{2}):([0-9]{2})", offset) if isinstance(offset, str) else None
    if m is None or int(m.group(2)) > 14 or int(m.group(3)) > 59:
        raise InvalidEvent("eventTimeZoneOffset", f'expected "+08:00"-like, found {str(offset)[:20]!r}')
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    return timezone(-delta if m.group(1) == "-" else delta)


def event_time(obj: dict[str, Any]) -> str:
    return _seconds(obj.get("eventTime"), field="eventTime", offset=obj.get("eventTimeZoneOffset"))


def location(obj: dict[str, Any]) -> dict[str, Any]:
    """The event's place: `farmtrace:location` if present (then a readPoint or bizLocation must name
    its GLN or geo, as the export writes them), else the one place `readPoint`/`bizLocation` name."""
    places = {
        k: obj[k].get("id") if isinstance(obj[k], dict) else None
        for k in ("readPoint", "bizLocation")
        if k in obj
    }
    for key, uri in places.items():
        if not isinstance(uri, str):
            raise InvalidEvent(f"{key}.id", "expected a location URI")
    if len(set(places.values())) > 1:
        raise InvalidEvent("bizLocation", "differs from readPoint: a farmtrace event has one place")
    derived = _place(*next(iter(places.items()))) if places else None
    if "farmtrace:location" in obj:
        given = obj["farmtrace:location"]
        if derived is not None and isinstance(given, dict):
            want = (
                ("gln", given["gln"])
                if given.get("gln")
                else ("geo", given.get("geo"))
                if given.get("geo")
                else None
            )
            if want is None or derived.get(want[0]) != want[1]:
                key = next(iter(places))
                raise InvalidEvent(
                    f"{key}.id", "names another place than farmtrace:location (its GLN, else its geo)"
                )
        return given
    if derived is None:
        raise InvalidEvent("readPoint", "missing: a farmtrace event says where it happened")
    return derived


def _place(key: str, uri: str) -> dict[str, Any]:
    """A place from a location URI: a GLN (SGLN URN without extension, or a Digital Link with AI 414
    alone) or "lat,lon" (geo:); the URI itself is its name."""
    place: dict[str, Any] = {"name": uri}
    if uri.startswith("geo:"):
        place["geo"] = uri.removeprefix("geo:")
        return place
    m = _SGLN.fullmatch(uri)
    if m is not None:
        if len(m.group(1)) + len(m.group(2)) != 12 or m.group(3) != "0":
            raise InvalidEvent(
                f"{key}.id", f"only an SGLN without extension (ending .0) is a GLN: {uri[:80]}"
            )
        digits = m.group(1) + m.group(2)
        place["gln"] = digits + gs1_check_digit(digits)
    elif uri.startswith(("https://", "http://")) and "/414/" in uri:
        ais = digital_link(uri, field=f"{key}.id")
        if set(ais) != {"414"}:
            raise InvalidEvent(f"{key}.id", "only a plain GLN (AI 414 alone) is a farmtrace place")
        place["gln"] = ais["414"]
    return place


def party_list(
    obj: dict[str, Any], key: str, field: str, expected: str | None, *, required: bool = True
) -> str:
    items = obj.get(key)
    if items is None and not required:
        return expected or ""
    ok = isinstance(items, list) and len(items) == 1 and isinstance(items[0], dict)
    uri = items[0].get(field) if ok else None  # type: ignore[index]
    if not ok or items[0].get("type") not in ("owning_party", "possessing_party") or not isinstance(uri, str):  # type: ignore[index]
        raise InvalidEvent(key, f"expected one owning_party {field} (urn:farmtrace:party:…)")
    if not uri.startswith("urn:farmtrace:party:"):
        raise InvalidEvent(
            f"{key}[0].{field}", f"a party is named urn:farmtrace:party:{{id}}, found {uri[:60]}"
        )
    found = unquote(uri.removeprefix("urn:farmtrace:party:"))
    if expected is not None and found != expected:
        raise InvalidEvent(f"{key}[0].{field}", f"expected {party_uri(expected)}, found {uri[:80]}")
    return found


def documents(items: object, wire: dict[str, Any]) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidEvent("bizTransactionList", f"expected a list, found {type_name(items)}")
    derived = derived_transactions(wire)
    out = []
    for i, item in enumerate(items):
        f = f"bizTransactionList[{i}]"
        if not isinstance(item, dict) or set(item) - {"type", "bizTransaction"}:
            raise InvalidEvent(f, "expected {type?, bizTransaction}")
        if item in derived:  # re-made from the detail by the export: not a document of its own
            continue
        tx, kind = item.get("bizTransaction"), cbv_value(item, "type", required=False)
        if not isinstance(tx, str):
            raise InvalidEvent(f + ".bizTransaction", "expected a URI")
        if tx.startswith("urn:farmtrace:document:"):
            doc_type, _, doc_id = tx.removeprefix("urn:farmtrace:document:").partition(":")
            out.append({"type": unquote(doc_type), "id": unquote(doc_id)})
            continue
        doc: dict[str, Any] = {"type": _DOC_TYPES.get(kind or "", kind or "document"), "id": tx}
        if tx.startswith(("https://", "http://")):
            doc["url"] = tx
        out.append(doc)
    return out


def derived_transactions(wire: dict[str, Any]) -> list[dict[str, str]]:
    detail = wire.get("detail") if isinstance(wire.get("detail"), dict) else {}
    kind = wire.get("kind")
    out = []
    if kind == "inspect" and isinstance(detail.get("report_no"), str):
        out.append(
            {"type": "testres", "bizTransaction": f"urn:farmtrace:report:{quote_text(detail['report_no'])}"}
        )
    number = detail.get("certificate_no") if kind == "certify" else None
    if kind == "receive" and isinstance(detail.get("entry_check"), dict):
        number = detail["entry_check"].get("certificate_no")
    if isinstance(number, str):
        out.append({"type": "cert", "bizTransaction": f"urn:farmtrace:certificate:{quote_text(number)}"})
    return out


def quote_text(text: object) -> str:
    return quote(str(text), safe="")


def sensors(items: object) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidEvent("sensorElementList", f"expected a list, found {type_name(items)}")
    out = []
    for i, element in enumerate(items):
        f = f"sensorElementList[{i}]"
        if not isinstance(element, dict) or set(element) != {"sensorReport"}:
            raise InvalidEvent(f, "only sensorReport is representable (no sensorMetadata)")
        for j, report in enumerate(
            element["sensorReport"] if isinstance(element["sensorReport"], list) else [None]
        ):
            g = f"{f}.sensorReport[{j}]"
            if not isinstance(report, dict) or set(report) != {"type", "time", "value", "uom"}:
                raise InvalidEvent(g, "expected exactly {type, time, value, uom}")
            kind = str(report["type"]).removeprefix("gs1:")
            if (kind, str(report["uom"])) not in _SENSORS:
                raise InvalidEvent(
                    g + ".type", "farmtrace records Temperature in CEL and RelativeHumidity in P1"
                )
            name, unit = _SENSORS[(kind, str(report["uom"]))]
            value = decimal_text(report["value"], field=g + ".value")
            out.append(
                {
                    "type": name,
                    "value": value,
                    "unit": unit,
                    "time": _seconds(report["time"], field=g + ".time"),
                }
            )
    return out
