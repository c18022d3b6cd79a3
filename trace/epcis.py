# size: the mapping of every event kind to EPCIS 2.0, tabled in the docstring and written one field at a time
"""Export events as GS1 EPCIS 2.0 JSON (JSON-LD), with CBV 2.0 business steps and dispositions.

Lots are quantities of a class, not serialised items, so every event uses quantity lists. A lot's
class identifier is, if its product has a GTIN, the GS1 Digital Link form of an LGTIN,
`https://id.gs1.org/01/{GTIN-14}/10/{lot}`; otherwise `urn:farmtrace:lot:{lot}`. Either is a URI,
which is all the schema asks of `epcClass`. Lot codes may contain "/", so they are percent-encoded.
The rule depends on the lot alone (its product's GTIN, fixed when the lot is created), so one lot
has one identifier in every document: callers pass the GTINs of every lot a document names
(`gtins`), not only of the lots its own events create.

Vocabulary: what EPCIS has no field for travels as `farmtrace:` extension fields, in the namespace
`{base}/ns#`, where `base` is the service's vocabulary base URI (a setting; the service serves the
namespace and its JSON-LD context, so both resolve). Every document's `@context` names the official
EPCIS 2.0 context and ours, `{base}/ns/epcis-context.jsonld` (`context_document`), which defines
each extension term with a property-scoped context, so JSON-LD expansion keeps the keys nested in
the extension objects (as `{base}/ns#{key}`) instead of dropping them.

    kind        type                 action  bizStep                      disposition
    harvest     ObjectEvent          ADD     commissioning                active           (+ ilmd)
    inspect     ObjectEvent          OBSERVE inspecting                   conformant | non_conformant
    certify     ObjectEvent          OBSERVE inspecting                   conformant       (+ certificationInfo)
    quarantine  ObjectEvent          OBSERVE inspecting                   conformant       (+ certificationInfo)
    transform   TransformationEvent  -       repackaging (split, merge,   active           (+ ilmd)
                                             repack) | commissioning (process)
                                             | killing (slaughter)
    ship        ObjectEvent          OBSERVE shipping                     in_transit
    receive     ObjectEvent          OBSERVE receiving                    in_progress | returned (rejected)
    sell        ObjectEvent          OBSERVE retail_selling               retail_sold      (retail price)
                                             farmtrace wholesale_selling  farmtrace sold   (wholesale price)
    recall      ObjectEvent          OBSERVE holding                      recalled         (persistent)
    destroy     ObjectEvent          DELETE  destroying                   destroyed

CBV 2.0 has no "certifying" step. A 承诺达标合格证 is the producer's documented declaration that
the lot conforms, so it is exported as an inspection (the CBV step for reviewing objects for
defects) with disposition conformant, and the certificate goes where EPCIS 2.0 puts certificates:
`certificationInfo`. Recall uses "holding" (objects segregated pending review) with the CBV
disposition "recalled", set as a persistent disposition so it sticks to the lot.
CBV has no wholesale sale either; rather than misuse retail_selling, wholesale sales use our own
vocabulary URIs (the schema allows any URI outside the CBV namespaces).

eventID: the CBV 2.0 event hash ID of the exported event, `ni:///sha-256;{hex}?ver=CBV2.0`
(CBV 2.0 §8.9, `epcis_hash.event_hash_id`), so that every system that sees the event computes the
same ID from its content. farmtrace's own identity of the event, the SHA-256 of the signed event's
canonical bytes, travels as `farmtrace:eventId` (hex); it is a user extension field, so the CBV
hash covers it too, and two signed events never share a hash ID. (Until this change eventID was
`event_uri(event id)`, the RFC 6920 form of that SHA-256; lookups still accept it.)

Quantities: kg KGM, g GRM, t TNE, jin KGM (converted: 1 jin = 0.5 kg), piece H87, box XBX, bag XBG,
head HEA (UN/CEFACT Recommendation 20 and 21 codes). A 动物检疫合格证明 (quarantine) is exported as
an inspection, like a 合格证, its number in `certificationInfo` and its fields as
`farmtrace:quarantine`; a slaughter is a TransformationEvent with CBV's "killing" step, its live
weight and 肉品品质检验合格证 in `farmtrace:slaughter`; live animals' ear tags and live weight go with
the products in ilmd (`farmtrace:animals`). Locations: a GLN becomes `https://id.gs1.org/414/{gln}`
(an SGLN URN would need the company prefix length, which a GLN alone does not give), else "lat,lon"
becomes an RFC 5870 `geo:` URI, else there is no readPoint. Names, addresses, prices, test results
and certificate details travel as `farmtrace:` extension fields. recordTime is the time the ledger
recorded the event: the signing time of the first checkpoint that includes its entry (the caller
passes it in `recorded`; the EPCIS document builders never read a clock). Party administration events
(party.*) are not supply-chain events and have no EPCIS form: `to_epcis_event` returns None.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from .epcis_hash import event_hash_id
from .model.details import (
    CertifyDetail,
    DestroyDetail,
    HarvestDetail,
    InspectDetail,
    QuarantineDetail,
    RecallDetail,
    ReceiveDetail,
    ShipDetail,
    TransformDetail,
)
from .model.event import Event
from .model.ids import gtin14
from .model.kinds import NON_EPCIS_KINDS
from .model.units import to_base
from .model.values import LotOut, LotRef

__all__ = [
    "EPCIS_CONTEXT",
    "EXTENSIONS",
    "UOM",
    "context_document",
    "context_url",
    "epcis_document",
    "event_uri",
    "lot_class",
    "namespace",
    "party_uri",
    "to_epcis_event",
]

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# The extension terms (`farmtrace:{name}`), with what each holds in English and Chinese; the served
# vocabulary page lists them. The first group holds objects whose keys the context must keep.
EXTENSIONS: dict[str, tuple[str, str]] = {
    "location": ("where the event happened: name, address, GLN, geo", "事件发生地点：名称、地址、GLN、坐标"),
    "price": ("the recorded price: amount, currency, unit, stage", "记录的价格：金额、币种、单位、环节"),
    "inspection": ("a test's report number, method, result and items", "检测的报告编号、方法、结果和项目"),
    "certificate": ("the 承诺达标合格证: number, standard, validity", "承诺达标合格证：编号、标准、有效期"),
    "quarantine": ("the 动物检疫合格证明: its form's fields", "动物检疫合格证明：证明上的各项"),
    "slaughter": ("a slaughter's live weight and 肉品品质检验合格证 number", "屠宰的宰前活重和肉品品质检验合格证编号"),
    "animals": ("live animals' ear tags and live weight, keyed by lot code (in ilmd)", "活畜的耳标号和活重，以批次码为键（在 ilmd 中）"),
    "receipt": ("the receiving party's entry check", "收货方的市场准入查验"),
    "recall": ("a recall's reason and instructions", "召回原因和处置要求"),
    "destruction": ("why and how a lot was destroyed", "销毁原因和方式"),
    "origin": ("a harvest's place of origin (in ilmd)", "采收的产地（在 ilmd 中）"),
    "products": ("each output lot's product, keyed by lot code (in ilmd)", "各产出批次的产品，以批次码为键（在 ilmd 中）"),
    "tracingCodes": ("each output lot's national 追溯码, keyed by lot code (in ilmd)", "各产出批次的国家平台追溯码，以批次码为键（在 ilmd 中）"),
    "eventId": ("the SHA-256 of the signed event's canonical bytes (hex)", "已签名事件规范字节的 SHA-256（十六进制）"),
    "party": ("the id of the party that signed the event", "签署该事件的主体编号"),
    "transformType": ("split, merge, repack, process or slaughter", "分装、合并、改包装、加工或屠宰"),
    "wholesale_selling": ("business step: a wholesale sale (CBV has none)", "业务步骤：批发销售（CBV 无此项）"),
    "sold": ("disposition: sold wholesale", "处置状态：已批发售出"),
}
_OBJECT_TERMS = ("location", "price", "inspection", "certificate", "receipt", "recall", "destruction", "origin")
_OBJECT_TERMS += ("quarantine", "slaughter")
# Keys our extension objects use that the EPCIS context already defines (as protected terms): inside
# an extension object they must mean our keys, not EPCIS's, so the scoped context redefines them.
_EPCIS_TERMS = ("id", "type", "quantity", "uom")
# UN/CEFACT Recommendation 20 (measures) and 21 (packages: X + code).
UOM = {"kg": "KGM", "g": "GRM", "t": "TNE", "jin": "KGM", "piece": "H87", "box": "XBX", "bag": "XBG", "head": "HEA"}
_SENSOR = {"temperature": ("Temperature", "CEL"), "humidity": ("RelativeHumidity", "P1")}
# CBV 2.0 business transaction types for our document types; others go untyped.
_DOC_TYPES = {"invoice": "inv", "certificate": "cert", "inspection_report": "testres", "purchase_order": "po"}


def _enc(text: str) -> str:
    return quote(text, safe="")


def namespace(base: str) -> str:
    """Return the extension vocabulary's namespace IRI, `{base}/ns#`, for a base URI (no trailing slash)."""
    return base.rstrip("/") + "/ns#"


def context_url(base: str) -> str:
    """Return the URL of the extension vocabulary's JSON-LD context, `{base}/ns/epcis-context.jsonld`."""
    return base.rstrip("/") + "/ns/epcis-context.jsonld"


def context_document(base: str) -> dict[str, Any]:
    """Return the JSON-LD 1.1 context of the `farmtrace:` extensions, as served at `context_url(base)`.

    Each object-valued extension term carries a property-scoped context whose `@vocab` is our
    namespace, so every key nested in it (at any depth) expands to `{base}/ns#{key}`. Property-scoped
    contexts may redefine the EPCIS context's protected terms (JSON-LD 1.1 §4.1.11), which our
    objects need for keys such as `type`. `farmtrace:products` is keyed by lot code: an index map.
    """
    ns = namespace(base)
    scoped = {"@vocab": ns, **{k: {"@id": ns + k} for k in _EPCIS_TERMS}}
    terms: dict[str, Any] = {"@version": 1.1, "farmtrace": ns}
    for name in EXTENSIONS:
        terms[f"farmtrace:{name}"] = {"@id": ns + name}
    for name in _OBJECT_TERMS:
        terms[f"farmtrace:{name}"]["@context"] = scoped
    terms["farmtrace:products"].update({"@container": "@index", "@context": scoped})
    terms["farmtrace:tracingCodes"]["@container"] = "@index"
    terms["farmtrace:animals"].update({"@container": "@index", "@context": scoped})
    return {"@context": terms}


def lot_class(lot: str, gtin: str | None = None) -> str:
    """Return the EPCIS class URI of a lot: LGTIN Digital Link with a GTIN, else urn:farmtrace:lot:…"""
    if gtin is not None:
        return f"https://id.gs1.org/01/{gtin14(gtin)}/10/{_enc(lot)}"
    return f"urn:farmtrace:lot:{_enc(lot)}"


def party_uri(party_id: str) -> str:
    """Return the URI naming a party in source and destination lists."""
    return f"urn:farmtrace:party:{_enc(party_id)}"


def event_uri(event_id: str) -> str:
    """Return the RFC 6920 ni URI of a farmtrace event id (64 hex digits), without `?ver`.

    This was the exported eventID before the CBV 2.0 event hash ID replaced it; lookups accept it.
    """
    digest = base64.urlsafe_b64encode(bytes.fromhex(event_id)).rstrip(b"=").decode("ascii")
    return f"ni:///sha-256;{digest}"


def _number(value: Decimal) -> int | float:
    # The schema's decimals are JSON numbers. Our quantities have at most 15 significant digits, so
    # a float's shortest repr writes them back exactly.
    return int(value) if value == value.to_integral_value() else float(value)


def _time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("times in an EPCIS document must be timezone-aware")
    return value.isoformat(timespec="milliseconds")


def _offset(event: Event) -> str:
    return "+00:00" if event.event_time.endswith("Z") else event.event_time[-6:]


def _quantity(ref: LotRef | LotOut, gtins: Mapping[str, str]) -> dict[str, Any]:
    quantity = ref.quantity if ref.unit != "jin" else to_base(ref.quantity, "jin")[0]
    return {
        "epcClass": lot_class(ref.lot, gtins.get(ref.lot)),
        "quantity": _number(quantity),
        "uom": UOM[ref.unit],
    }


def _location_uri(event: Event) -> str | None:
    loc = event.location
    if loc.gln is not None:
        return f"https://id.gs1.org/414/{loc.gln}"
    if loc.geo is not None:
        return f"geo:{loc.geo}"
    return None


def _transactions(event: Event) -> list[dict[str, str]]:
    out = []
    for doc in event.documents:
        tx = {"bizTransaction": doc.url or f"urn:farmtrace:document:{_enc(doc.type)}:{_enc(doc.id)}"}
        if doc.type in _DOC_TYPES:
            tx = {"type": _DOC_TYPES[doc.type], **tx}
        out.append(tx)
    detail = event.detail
    if isinstance(detail, InspectDetail):
        out.append({"type": "testres", "bizTransaction": f"urn:farmtrace:report:{_enc(detail.report_no)}"})
    if isinstance(detail, CertifyDetail):
        out.append({"type": "cert", "bizTransaction": _certificate_uri(detail.certificate_no)})
    if isinstance(detail, ReceiveDetail) and detail.entry_check.certificate_no is not None:
        out.append({"type": "cert", "bizTransaction": _certificate_uri(detail.entry_check.certificate_no)})
    return out


def _certificate_uri(number: str) -> str:
    return f"urn:farmtrace:certificate:{_enc(number)}"


def _sensors(event: Event) -> list[dict[str, Any]]:
    if not event.sensors:
        return []
    reports = []
    for s in event.sensors:
        kind, uom = _SENSOR[s.type]
        reports.append({"type": kind, "time": s.time, "value": _number(s.value), "uom": uom})
    return [{"sensorReport": reports}]


def _ilmd(event: Event) -> dict[str, Any]:
    ilmd: dict[str, Any] = {"farmtrace:products": {o.lot: o.product.to_wire() for o in event.outputs}}
    if isinstance(event.detail, HarvestDetail):
        ilmd["farmtrace:origin"] = event.detail.origin.to_wire()
    codes = {o.lot: o.tracing_code for o in event.outputs if o.tracing_code is not None}
    if codes:  # absent without codes: such events export as before
        ilmd["farmtrace:tracingCodes"] = codes
    animals = {
        o.lot: {k: v for k, v in o.to_wire().items() if k in ("ear_tags", "live_weight")}
        for o in event.outputs
        if o.ear_tags is not None
    }
    if animals:  # live animals only
        ilmd["farmtrace:animals"] = animals
    return ilmd


def to_epcis_event(
    event: Event,
    *,
    event_id: str,
    recorded_at: datetime | None,
    base: str,
    gtins: Mapping[str, str] | None = None,
) -> dict[str, Any] | None:
    """Return the EPCIS 2.0 event for `event` (mapping in the module docstring), or None for kinds without one (party.*, recall_ack, label_activate).

    `gtins` maps lot codes to GTINs for input lots, whose product the event itself does not carry
    (outputs use their own product's GTIN); a lot missing from it gets a urn:farmtrace:lot class.
    Pass the GTIN of every lot the event names so one lot has one identifier in every document.
    `base` is the vocabulary base URI (see `namespace`). Raises ValueError if `recorded_at` is naive.

    size: the module docstring's mapping, one short block per EPCIS field in the standard's order
    """
    if event.kind in NON_EPCIS_KINDS:
        return None
    known = dict(gtins or {})
    known.update((o.lot, o.product.gtin) for o in event.outputs if o.product.gtin is not None)
    detail = event.detail
    kind = event.kind
    inputs = [_quantity(r, known) for r in event.inputs]
    outputs = [_quantity(o, known) for o in event.outputs]

    out: dict[str, Any] = {
        "type": "TransformationEvent" if kind == "transform" else "ObjectEvent",
        "eventID": "",  # set last: the CBV 2.0 event hash ID of everything below
        "eventTime": event.event_time,
        "eventTimeZoneOffset": _offset(event),
    }
    if recorded_at is not None:
        out["recordTime"] = _time(recorded_at)
    if kind == "transform":
        assert isinstance(detail, TransformDetail)
        out["inputQuantityList"] = inputs
        out["outputQuantityList"] = outputs
        out["bizStep"] = {"process": "commissioning", "slaughter": "killing"}.get(detail.type, "repackaging")
        out["disposition"] = "active"
        out["farmtrace:transformType"] = detail.type
    else:
        out["action"] = {"harvest": "ADD", "destroy": "DELETE"}.get(kind, "OBSERVE")
        out["quantityList"] = outputs if kind == "harvest" else inputs
        step, disposition = _step(event, namespace(base))
        out["bizStep"] = step
        out["disposition"] = disposition
        if disposition in ("recalled", "non_conformant"):
            out["persistentDisposition"] = {"set": [disposition]}

    where = _location_uri(event)
    if where is not None:
        out["readPoint"] = {"id": where}
        if kind not in ("ship", "sell", "destroy"):  # after these the goods are not at this place
            out["bizLocation"] = {"id": where}
    transactions = _transactions(event)
    if transactions:
        out["bizTransactionList"] = transactions
    if isinstance(detail, ShipDetail):
        out["sourceList"] = [{"type": "owning_party", "source": party_uri(event.party)}]
        out["destinationList"] = [{"type": "owning_party", "destination": party_uri(detail.destination)}]
    if isinstance(detail, ReceiveDetail):
        out["sourceList"] = [{"type": "owning_party", "source": party_uri(detail.source)}]
        out["destinationList"] = [{"type": "owning_party", "destination": party_uri(event.party)}]
    sensors = _sensors(event)
    if sensors:
        out["sensorElementList"] = sensors
    if isinstance(detail, CertifyDetail | QuarantineDetail):
        out["certificationInfo"] = _certificate_uri(detail.certificate_no)
    if kind in ("harvest", "transform"):
        out["ilmd"] = _ilmd(event)

    # Extensions: what EPCIS has no field for, under our namespace.
    out["farmtrace:eventId"] = event_id
    out["farmtrace:party"] = event.party
    out["farmtrace:location"] = event.location.to_wire()
    if event.price is not None:
        out["farmtrace:price"] = event.price.to_wire()
    if isinstance(detail, TransformDetail) and detail.type == "slaughter":
        out["farmtrace:slaughter"] = {k: v for k, v in detail.to_wire().items() if k != "type"}
    if isinstance(detail, InspectDetail | CertifyDetail | QuarantineDetail | ReceiveDetail | RecallDetail | DestroyDetail):
        name = {
            InspectDetail: "inspection",
            CertifyDetail: "certificate",
            QuarantineDetail: "quarantine",
            ReceiveDetail: "receipt",
            RecallDetail: "recall",
            DestroyDetail: "destruction",
        }[type(detail)]
        out[f"farmtrace:{name}"] = detail.to_wire()
    out["eventID"] = event_hash_id(out, prefixes={"farmtrace": namespace(base)})
    return out


def _step(event: Event, ns: str) -> tuple[str, str]:
    detail = event.detail
    if isinstance(detail, InspectDetail):
        return "inspecting", "conformant" if detail.result == "pass" else "non_conformant"
    if isinstance(detail, ReceiveDetail):
        return "receiving", "in_progress" if detail.entry_check.result == "accepted" else "returned"
    if event.kind == "sell":
        if event.price is not None and event.price.stage == "wholesale":
            return ns + "wholesale_selling", ns + "sold"
        return "retail_selling", "retail_sold"
    return {
        "harvest": ("commissioning", "active"),
        "certify": ("inspecting", "conformant"),
        "quarantine": ("inspecting", "conformant"),
        "ship": ("shipping", "in_transit"),
        "recall": ("holding", "recalled"),
        "destroy": ("destroying", "destroyed"),
    }[event.kind]


def epcis_document(
    events: Iterable[tuple[Event, str]],
    *,
    created: datetime,
    base: str,
    recorded: Mapping[str, datetime] | None = None,
    gtins: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return an EPCISDocument (schemaVersion 2.0) of the (event, event id) pairs, in the given order.

    Party administration events are left out. `gtins` maps lot codes to their products' GTINs: give
    every lot the events name (lots created before these events too), so that each lot has the same
    identifier here as in any other document; lots created in these events add their own. `recorded`
    maps event ids to the time the ledger recorded them (recordTime). `base` is the vocabulary base
    URI. Raises ValueError if `created` or a recorded time is naive.
    """
    pairs = list(events)
    known = dict(gtins or {})
    known.update((o.lot, o.product.gtin) for e, _ in pairs for o in e.outputs if o.product.gtin is not None)
    recorded = recorded or {}
    body = []
    for event, event_id in pairs:
        item = to_epcis_event(
            event, event_id=event_id, recorded_at=recorded.get(event_id), base=base, gtins=known
        )
        if item is not None:
            body.append(item)
    return {
        "@context": [EPCIS_CONTEXT, context_url(base)],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(created),
        "epcisBody": {"eventList": body},
    }
