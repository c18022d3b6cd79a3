# size: the inverse of trace/epcis.py's mapping, one reader per EPCIS event shape, tabled in the docstring
"""Capture GS1 EPCIS 2.0 events as farmtrace events: the inverse of the export in `epcis.py`.

`capture_document(doc, party=, base=)` reads an EPCISDocument and returns, for each event of its
eventList in order, either the farmtrace wire form it means (unsigned: no `key_id`, and inputs
without `follows`, which the signer fills from the lots' heads) or the reason it cannot be
represented. Nothing is dropped: a field this module does not map is a refusal naming that field,
never ignored. The mapping, both ways, is written down in docs/epcis-mapping.md:

    type / action / bizStep (CBV 2.0)                      kind       detail from
    ObjectEvent ADD commissioning                          harvest    ilmd farmtrace:origin (else the place)
    ObjectEvent OBSERVE inspecting + farmtrace:inspection  inspect    farmtrace:inspection
    ObjectEvent OBSERVE inspecting + farmtrace:certificate certify    farmtrace:certificate
    ObjectEvent OBSERVE inspecting + farmtrace:quarantine  quarantine farmtrace:quarantine (动物检疫合格证明)
    ObjectEvent OBSERVE shipping                           ship       destinationList (owning_party)
    ObjectEvent OBSERVE receiving                          receive    farmtrace:receipt, else sourceList,
                                                                      disposition, a cert bizTransaction
    ObjectEvent OBSERVE retail_selling | {ns}wholesale_selling  sell  farmtrace:price
    ObjectEvent OBSERVE holding, disposition recalled      recall     farmtrace:recall
    ObjectEvent DELETE destroying                          destroy    farmtrace:destruction
    TransformationEvent                                    transform  farmtrace:transformType, else
                                                                      commissioning -> process, n->1 merge,
                                                                      1->n split, 1->1 repack
    TransformationEvent killing                            transform  type slaughter; farmtrace:slaughter's
                                                                      live_weight and certificate_no

certificationInfo, where given, must be `urn:farmtrace:certificate:{number}` of the 合格证 (certify)
or of the 动物检疫合格证明 (quarantine). A killing must carry `farmtrace:slaughter` with both its
fields, and no other step may carry it. New lots of live animals (uom HEA, unit head) take their
ear tags and live weight from `ilmd.farmtrace:animals`, keyed by lot code like the products.

Lots come from quantity lists' `epcClass`: `urn:farmtrace:lot:{lot}`, an LGTIN EPC URN
(`urn:epc:class:lgtin:{company prefix}.{item ref}.{lot}`) or a GS1 Digital Link with AI 01 and AI 10
on any domain (parsed by biip). Serialised identifiers (`epcList`, `inputEPCList`, ...), class
patterns and quantities of classes without a lot are refused: farmtrace traces lots.
Event times are kept to the second (the event model's precision): sub-second digits are cut, and
the time is written in the event's `eventTimeZoneOffset`. `recordTime`, `eventID` and
`farmtrace:eventId` are read but not carried: the ledger records its own time and the signed event
has its own id. AggregationEvent, AssociationEvent and TransactionEvent have no farmtrace kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .epcis import namespace
from .epcis_values import (
    cbv_value,
    documents,
    event_time,
    input_ref,
    location,
    lot_of_class,
    outputs,
    party_list,
    quantities,
    quote_text,
    sensors,
)
from .errors import InvalidEvent
from .model.event import Event
from .model.reader import type_name

__all__ = [
    "MAX_CAPTURE_EVENTS",
    "Captured",
    "capture_document",
    "capture_event",
    "document_events",
    "lot_of_class",
    "needs_ship_event",
]  # lot_of_class: from epcis_values, for the resolver

MAX_CAPTURE_EVENTS = 500  # events in one capture document (the gateway's GS1-EPCIS-Capture-Limit)

# The detail extensions of the ObjectEvent kinds, and the kind each belongs to.
_DETAIL_EXTENSIONS = {
    "farmtrace:inspection": "inspect",
    "farmtrace:certificate": "certify",
    "farmtrace:quarantine": "quarantine",
    "farmtrace:receipt": "receive",
    "farmtrace:recall": "recall",
    "farmtrace:destruction": "destroy",
}
_SERIAL = ("epcList", "inputEPCList", "outputEPCList", "childEPCs", "parentID")
_COMMON = ("type", "eventID", "eventTime", "eventTimeZoneOffset", "recordTime", "bizStep", "disposition",
           "readPoint", "bizLocation", "bizTransactionList", "sensorElementList", "ilmd",
           "farmtrace:eventId", "farmtrace:party", "farmtrace:location", "farmtrace:price")  # fmt: skip
_OBJECT = (*_COMMON, "action", "quantityList", "persistentDisposition", "sourceList", "destinationList",
           "certificationInfo", "farmtrace:inspection", "farmtrace:certificate", "farmtrace:quarantine",
           "farmtrace:receipt", "farmtrace:recall", "farmtrace:destruction")  # fmt: skip
_TRANSFORM = (*_COMMON, "inputQuantityList", "outputQuantityList", "farmtrace:transformType",
              "farmtrace:slaughter")  # fmt: skip
# The fields of `farmtrace:slaughter`: the slaughter's TransformDetail less its type.
_SLAUGHTER = ("live_weight", "certificate_no")
# A transformation's bizStep for each type that has its own (the others are repackaging).
_TRANSFORM_STEPS = {"process": "commissioning", "slaughter": "killing"}
_PLACEHOLDER_ID = "0" * 64  # stands in for `follows` and `key_id` while the wire form is checked


@dataclass(frozen=True)
class Captured:
    """One event of a capture document: its place, its EPCIS eventID, and a wire form or a refusal."""

    index: int
    epcis_id: str | None
    wire: dict[str, Any] | None = None
    refusal: InvalidEvent | None = None


def document_events(doc: object) -> list[Any]:
    """The events of an EPCISDocument (`epcisBody.eventList`) or of an EPCISQueryDocument
    (`epcisBody.queryResults.resultsBody.eventList`), which the REST binding's capture also takes.

    Raises InvalidEvent for the document itself: another type, schemaVersion not 2.0, no events.
    """
    if not isinstance(doc, dict):
        raise InvalidEvent("document", f"expected an EPCISDocument object, found {type_name(doc)}")
    kind = doc.get("type")
    if kind not in ("EPCISDocument", "EPCISQueryDocument"):
        raise InvalidEvent("type", f"expected EPCISDocument or EPCISQueryDocument, found {str(kind)[:40]!r}")
    version = doc.get("schemaVersion")
    if not (isinstance(version, str) and re.fullmatch(r"2\.0(?:\.0)*", version)):  # "2.0", "2.0.0"
        raise InvalidEvent("schemaVersion", f"expected 2.0, found {str(version)[:20]!r}")
    where = (
        ["epcisBody", "eventList"]
        if kind == "EPCISDocument"
        else ["epcisBody", "queryResults", "resultsBody", "eventList"]
    )
    events: Any = doc
    for key in where:
        events = events.get(key) if isinstance(events, dict) else None
    if not isinstance(events, list) or not events:
        raise InvalidEvent(".".join(where), "expected a non-empty list of events")
    return events


def capture_document(doc: object, *, party: str, base: str) -> list[Captured]:
    """Map every event of a capture document (`document_events`, `capture_event`), in order;
    refusals are kept, not raised. Raises InvalidEvent for the document itself."""
    events = document_events(doc)
    if len(events) > MAX_CAPTURE_EVENTS:
        raise InvalidEvent("eventList", f"at most {MAX_CAPTURE_EVENTS} events, found {len(events)}")
    out = []
    for i, event in enumerate(events):
        epcis_id = event.get("eventID") if isinstance(event, dict) else None
        epcis_id = epcis_id if isinstance(epcis_id, str) else None
        try:
            out.append(Captured(i, epcis_id, wire=capture_event(event, party=party, base=base)))
        except InvalidEvent as exc:
            out.append(Captured(i, epcis_id, refusal=exc))
    return out


def capture_event(obj: object, *, party: str, base: str) -> dict[str, Any]:
    """Return the farmtrace wire form of one EPCIS event, unsigned (no key_id; inputs without follows).

    `party` is the signing party: an event whose `farmtrace:party` names another is refused. `base`
    is the platform's vocabulary base URI (the wholesale sale's bizStep is `{base}/ns#…`). Raises
    InvalidEvent whose `field` is the EPCIS field that cannot be represented.
    """
    if not isinstance(obj, dict):
        raise InvalidEvent("event", f"expected an object, found {type_name(obj)}")
    kind_type = obj.get("type")
    for key in _SERIAL:
        if key in obj:
            raise InvalidEvent(
                key, "serialised items are not representable: farmtrace traces lots (quantityList)"
            )
    if kind_type not in ("ObjectEvent", "TransformationEvent"):
        raise InvalidEvent("type", f"{str(kind_type)[:40]} has no farmtrace event kind; ObjectEvent and "
                           "TransformationEvent have (an aggregation packs lots, it does not change them)")  # fmt: skip
    allowed = _OBJECT if kind_type == "ObjectEvent" else _TRANSFORM
    for key in obj:
        if key not in allowed:
            raise InvalidEvent(
                str(key), "farmtrace has no field for it, and does not drop it: not representable"
            )
    claimed = obj.get("farmtrace:party", party)
    if claimed != party:
        raise InvalidEvent("farmtrace:party", f"the event is {claimed!r}'s; this gateway signs for {party}")
    wire: dict[str, Any] = {"event_time": event_time(obj), "party": party, "location": location(obj)}
    if kind_type == "TransformationEvent":
        _transform(obj, wire)
    else:
        _object(obj, wire, namespace(base))
    if "farmtrace:price" in obj:
        wire["price"] = obj["farmtrace:price"]
    readings = sensors(obj.get("sensorElementList"))
    if readings:
        wire["sensors"] = readings
    papers = documents(obj.get("bizTransactionList"), wire)
    if papers:
        wire["documents"] = papers
    _check(wire)
    return wire


def _ext(obj: dict[str, Any], name: str, why: str) -> Any:
    key = f"farmtrace:{name}"
    if key not in obj:
        raise InvalidEvent(key, f"missing: {why}; EPCIS has no standard field for it")
    return obj[key]


def _object(obj: dict[str, Any], wire: dict[str, Any], ns: str) -> None:
    step, disposition = cbv_value(obj, "bizStep"), cbv_value(obj, "disposition", required=False)
    action = obj.get("action")
    want_action = {"commissioning": "ADD", "destroying": "DELETE"}.get(step or "", "OBSERVE")
    if action != want_action:
        raise InvalidEvent(
            "action", f"bizStep {step} is captured with action {want_action}, found {action!r}"
        )
    refs = quantities(obj, "quantityList")
    persistent: str | None = None
    if step == "commissioning":
        kind, wire["outputs"], wire["inputs"] = "harvest", outputs(obj, refs), []
        origin = obj.get("ilmd", {}).get("farmtrace:origin") if isinstance(obj.get("ilmd"), dict) else None
        detail: dict[str, Any] = {"origin": origin if origin is not None else wire["location"]}
        expected = "active"
    else:
        wire["inputs"], wire["outputs"] = [input_ref(r) for r in refs], []
        if "ilmd" in obj:
            raise InvalidEvent(
                "ilmd", f"instance/lot master data belongs to the event that creates a lot, not to {step}"
            )
        kind, detail, expected = _observed(obj, step or "", ns, wire)
        persistent = expected if expected in ("recalled", "non_conformant") else None
    if disposition is not None and disposition != expected:
        raise InvalidEvent("disposition", f"a farmtrace {kind} event is {expected}, found {disposition}")
    given = obj.get("persistentDisposition")
    if given is not None and given != ({"set": [persistent]} if persistent else None):
        raise InvalidEvent("persistentDisposition", f"expected {{'set': [{persistent!r}]}} or none, found {given!r}"
                           if persistent else "a farmtrace event sets no persistent disposition here")  # fmt: skip
    if "certificationInfo" in obj and kind not in ("certify", "quarantine"):
        raise InvalidEvent("certificationInfo", f"a {kind} event carries no certificate")
    for key in ("sourceList", "destinationList"):
        if key in obj and kind not in ("ship", "receive"):
            raise InvalidEvent(key, f"a {kind} event has no {key}")
    for key, owner in _DETAIL_EXTENSIONS.items():  # another kind's detail would be dropped
        if key in obj and owner != kind:
            raise InvalidEvent(key, f"a {kind} event carries no {key}")
    wire["kind"], wire["detail"] = kind, detail


def _observed(
    obj: dict[str, Any], step: str, ns: str, wire: dict[str, Any]
) -> tuple[str, dict[str, Any], str]:
    """(kind, detail, disposition) of an OBSERVE or DELETE ObjectEvent with bizStep `step`."""
    party = wire["party"]
    for key, kind in (("farmtrace:certificate", "certify"), ("farmtrace:quarantine", "quarantine")):
        if step == "inspecting" and key in obj:
            detail = obj[key]
            uri = (
                f"urn:farmtrace:certificate:{quote_text(detail.get('certificate_no'))}"
                if isinstance(detail, dict)
                else None
            )
            if obj.get("certificationInfo", uri) != uri:
                raise InvalidEvent("certificationInfo", f"expected {uri} ({key}'s number)")
            return kind, detail, "conformant"
    if step == "inspecting":
        detail = _ext(
            obj, "inspection", "an inspection's analyte, method, value, limit, unit, result and report"
        )
        result = detail.get("result") if isinstance(detail, dict) else None
        return "inspect", detail, "conformant" if result == "pass" else "non_conformant"
    if step == "shipping":
        party_list(obj, "sourceList", "source", party, required=False)
        return "ship", {"destination": party_list(obj, "destinationList", "destination", None)}, "in_transit"
    if step == "receiving" and "farmtrace:receipt" not in obj:
        return _receipt(obj, party)
    if step == "receiving":
        detail = obj["farmtrace:receipt"]
        fields = detail if isinstance(detail, dict) else {}
        source = fields.get("source") if isinstance(fields.get("source"), str) else None
        party_list(obj, "sourceList", "source", source, required=False)
        party_list(obj, "destinationList", "destination", party, required=False)
        check = fields.get("entry_check")
        accepted = isinstance(check, dict) and check.get("result") == "accepted"
        return "receive", detail, "in_progress" if accepted else "returned"
    if step in ("retail_selling", ns + "wholesale_selling"):
        stage = "retail" if step == "retail_selling" else "wholesale"
        price = _ext(obj, "price", "a sale states its price")
        if not isinstance(price, dict) or price.get("stage") != stage:
            raise InvalidEvent("farmtrace:price.stage", f"bizStep {step} is a sale at stage {stage}")
        return "sell", {}, "retail_sold" if stage == "retail" else ns + "sold"
    if step == "holding" and cbv_value(obj, "disposition", required=False) == "recalled":
        return "recall", _ext(obj, "recall", "a recall's reason and instructions"), "recalled"
    if step == "destroying":
        return "destroy", _ext(obj, "destruction", "why the lot was destroyed"), "destroyed"
    raise InvalidEvent("bizStep", f"{step[:80]} has no farmtrace event kind (captured: commissioning, inspecting, "
                       "shipping, receiving, retail_selling, wholesale_selling, holding + recalled, destroying)")  # fmt: skip


def _receipt(obj: dict[str, Any], party: str) -> tuple[str, dict[str, Any], str]:
    """A receipt told in standard fields only: the source from `sourceList`, the entry check's
    result from the disposition (in_progress: accepted, returned: rejected), the 合格证 checked from
    a `cert` bizTransaction `urn:farmtrace:certificate:{number}`. The ship event is left for the
    signer (`needs_ship_event`): the lot's head on the platform, the shipment to this party."""
    source = party_list(obj, "sourceList", "source", None)
    party_list(obj, "destinationList", "destination", party, required=False)
    disposition = cbv_value(obj, "disposition", required=False) or "in_progress"
    if disposition not in ("in_progress", "returned"):
        raise InvalidEvent(
            "disposition", f"a receipt is in_progress (accepted) or returned (rejected), found {disposition}"
        )
    check: dict[str, Any] = {"result": "accepted" if disposition == "in_progress" else "rejected"}
    prefix = "urn:farmtrace:certificate:"
    certs = [t.get("bizTransaction") for t in obj.get("bizTransactionList") or [] if isinstance(t, dict)
             and cbv_value(t, "type", required=False) == "cert" and str(t.get("bizTransaction")).startswith(prefix)]  # fmt: skip
    if len(certs) > 1:
        raise InvalidEvent("bizTransactionList", "a receipt's entry check names one 合格证, found several")
    if certs:
        check["certificate_no"] = unquote(str(certs[0]).removeprefix(prefix))
    return "receive", {"source": source, "entry_check": check}, disposition


def needs_ship_event(wire: dict[str, Any]) -> bool:
    """Whether `wire` is a receipt whose ship event the signer fills in (see `_receipt`)."""
    return wire.get("kind") == "receive" and "ship_event" not in wire.get("detail", {})


def _transform(obj: dict[str, Any], wire: dict[str, Any]) -> None:
    step = cbv_value(obj, "bizStep")
    ins, outs = quantities(obj, "inputQuantityList"), quantities(obj, "outputQuantityList")
    if step not in ("repackaging", "commissioning", "killing"):
        raise InvalidEvent(
            "bizStep",
            f"a transformation is captured with repackaging, commissioning or killing, found {step}",
        )
    if obj.get("disposition", "active") != "active":
        raise InvalidEvent(
            "disposition", f"a farmtrace transform's outputs are active, found {obj['disposition']!r}"
        )
    given = obj.get("farmtrace:transformType")
    by_step = {s: t for t, s in _TRANSFORM_STEPS.items()}
    inferred = by_step.get(step) or ("merge" if len(ins) > 1 else "split" if len(outs) > 1 else "repack")
    kind = given if given is not None else inferred
    if (_TRANSFORM_STEPS.get(kind, "repackaging") if isinstance(kind, str) else "repackaging") != step:
        raise InvalidEvent("farmtrace:transformType", f"{str(kind)[:40]!r} does not go with bizStep {step}")
    detail: dict[str, Any] = {"type": kind}
    if step == "killing":
        detail.update(_slaughter(obj))
    elif "farmtrace:slaughter" in obj:
        raise InvalidEvent("farmtrace:slaughter", f"only a slaughter (bizStep killing) has one, not {step}")
    ilmd = obj.get("ilmd")
    if isinstance(ilmd, dict) and "farmtrace:origin" in ilmd:
        raise InvalidEvent(
            "ilmd.farmtrace:origin", "a transform's new lots come from its inputs, not from a field"
        )
    wire.update(
        kind="transform",
        inputs=[input_ref(r) for r in ins],
        outputs=outputs(obj, outs),
        detail=detail,
    )


def _slaughter(obj: dict[str, Any]) -> dict[str, Any]:
    """The fields a killing adds to its TransformDetail: `farmtrace:slaughter`, both of them."""
    fields = _ext(obj, "slaughter", "a slaughter states the live weight and its 肉品品质检验合格证 number")
    if not isinstance(fields, dict):
        raise InvalidEvent("farmtrace:slaughter", f"expected an object, found {type_name(fields)}")
    for key in fields:
        if key not in _SLAUGHTER:
            raise InvalidEvent(
                f"farmtrace:slaughter.{str(key)[:40]}", "farmtrace has no field for it: not representable"
            )
    for key in _SLAUGHTER:
        if key not in fields:
            what = (
                "the animals' live weight in kg (宰前活重)"
                if key == "live_weight"
                else "its 肉品品质检验合格证 number"
            )
            raise InvalidEvent(f"farmtrace:slaughter.{key}", f"missing: a slaughter states {what}")
    return fields


def _check(wire: dict[str, Any]) -> None:
    """Parse the wire form as the event model does, with placeholders for what the signer adds."""
    probe = {**wire, "key_id": _PLACEHOLDER_ID[:16]}
    probe["inputs"] = [{**r, "follows": [_PLACEHOLDER_ID]} for r in wire["inputs"]]
    if needs_ship_event(wire):
        probe["detail"] = {**wire["detail"], "ship_event": _PLACEHOLDER_ID}
    try:
        Event.from_wire(probe)
    except InvalidEvent as exc:
        raise InvalidEvent(_source(wire, exc.field), f"farmtrace's {exc.field}: {exc.message}") from exc


def _source(wire: dict[str, Any], field: str) -> str:
    """The EPCIS field a farmtrace field (as the event model names it) came from."""
    top = field.split(".")[0].split("[")[0]
    m = re.match(r"outputs\[([0-9]+)\]\.(ear_tags|live_weight)", field)
    if m is not None:  # a new lot of live animals: its ilmd entry
        lot = wire["outputs"][int(m.group(1))]["lot"]
        return f"ilmd.farmtrace:animals.{lot}.{m.group(2)}"
    if top != "detail":
        return _FIELDS.get(top, "event")
    if wire.get("kind") == "transform" and field.split(".")[1:2] != ["type"] and field != "detail":
        return "farmtrace:slaughter." + field.split(".")[1]  # the fields a slaughter adds
    return _DETAILS.get(wire.get("kind", ""), "event")


# Which EPCIS field a farmtrace field came from, to name it in a refusal.
_FIELDS: dict[str, str] = {
    "event_time": "eventTime",
    "location": "farmtrace:location",
    "inputs": "quantityList",
    "outputs": "quantityList",
    "price": "farmtrace:price",
    "sensors": "sensorElementList",
    "documents": "bizTransactionList",
}
_DETAILS = {
    "harvest": "ilmd.farmtrace:origin",
    "inspect": "farmtrace:inspection",
    "certify": "farmtrace:certificate",
    "quarantine": "farmtrace:quarantine",
    "ship": "destinationList",
    "receive": "farmtrace:receipt",
    "recall": "farmtrace:recall",
    "destroy": "farmtrace:destruction",
    "transform": "farmtrace:transformType",
}
