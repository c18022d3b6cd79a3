"""EPCIS 2.0 capture (trace/epcis_capture.py): the export's inverse, and its refusals.

Round trips: every event of a whole history (story 1, every other kind, and the pork story's live
animals, 动物检疫合格证明 and slaughter), exported by
trace/epcis.py and captured again, gives back its wire form (less what the signer adds: key_id and
the inputs' follows). Where the export loses something (a quantity in jin is exported in KGM; a
document with a URL keeps only the URL), the capture gives what the export kept, and these tests
pin exactly that. Refusals name the EPCIS field; foreign identifiers (LGTIN URNs, Digital Links on
other domains, SGLNs, CBV URIs) are read as the standards write them.
"""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from biip.gtin import Gtin
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.trace.epcis import epcis_document, to_epcis_event
from farmtrace.trace.epcis_capture import capture_document, capture_event, lot_of_class, needs_ship_event
from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.model.event import Event
from farmtrace.trace.model.kinds import NON_EPCIS_KINDS

from ..conftest import STANDARDS
from .story import ABATTOIR, COOP, EAR_TAGS, MARKET, MEAT_CERT, PIG_FARM, VET, sample_wires
from .test_epcis import BASE, CREATED, NS, _full_history, pork_events


def _unsigned(event: Event) -> dict[str, Any]:
    """The wire form less what the signer adds (key_id, and the inputs' follows)."""
    wire = event.to_wire()
    wire.pop("key_id")
    wire["inputs"] = [{k: v for k, v in r.items() if k != "follows"} for r in wire["inputs"]]
    return wire


def test_a_whole_history_round_trips_through_export_and_capture() -> None:
    lg = _full_history()
    pairs = [(e, i) for e, i in lg.log if e.kind not in NON_EPCIS_KINDS]
    doc = epcis_document(pairs, created=CREATED, recorded={i: CREATED for _, i in pairs}, base=BASE)
    kinds = set()
    for (event, _), item in zip(pairs, doc["epcisBody"]["eventList"], strict=True):
        [captured] = capture_document(
            {**doc, "epcisBody": {"eventList": [item]}}, party=event.party, base=BASE
        )
        assert captured.refusal is None, (event.kind, captured.refusal)
        assert captured.wire == _unsigned(event)
        assert captured.epcis_id == item["eventID"]
        kinds.add(event.kind)
    assert kinds == {
        "harvest",
        "inspect",
        "certify",
        "quarantine",
        "transform",
        "ship",
        "receive",
        "sell",
        "recall",
        "destroy",
    }


@pytest.mark.parametrize("name", [n for n, w in sample_wires().items() if w["kind"] not in NON_EPCIS_KINDS])
def test_every_kind_round_trips_but_what_the_export_loses(name: str) -> None:
    event = Event.from_wire(sample_wires()[name])
    item = to_epcis_event(event, event_id="ab" * 32, recorded_at=CREATED, base=BASE)
    got = capture_event(item, party=event.party, base=BASE)
    want = _unsigned(event)
    if name == "harvest":  # 200 jin is exported as 100 KGM; a document with a URL keeps only the URL
        assert want["outputs"][1]["quantity"] == "200" and want["outputs"][1]["unit"] == "jin"
        want["outputs"][1].update(quantity="100", unit="kg")
        url = "https://coop.example/pr/1"
        assert want["documents"] == [{"type": "planting_record", "id": "PR-001", "url": url}]
        want["documents"] = [{"type": "document", "id": url, "url": url}]
    assert got == want


def _harvest() -> dict[str, Any]:
    event = Event.from_wire(sample_wires()["harvest"])
    return to_epcis_event(event, event_id="ab" * 32, recorded_at=None, base=BASE)  # type: ignore[return-value]


def _refusal(item: Any, party: str = COOP) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        capture_event(item, party=party, base=BASE)
    return caught.value


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]}, "epcList", "serialised items"),
        ({"type": "AggregationEvent"}, "type", "AggregationEvent has no farmtrace event kind"),
        ({"type": "AssociationEvent"}, "type", "AssociationEvent has no farmtrace event kind"),
        ({"example:myField": "x"}, "example:myField", "not representable"),
        ({"bizStep": "storing"}, "action", "OBSERVE"),
        ({"action": "OBSERVE"}, "action", "bizStep commissioning is captured with action ADD"),
        ({"disposition": "in_transit"}, "disposition", "a farmtrace harvest event is active"),
        ({"farmtrace:party": MARKET}, "farmtrace:party", "this gateway signs for"),
        ({"eventTime": "yesterday"}, "eventTime", "not an RFC 3339 date-time"),
        ({"eventTimeZoneOffset": "+15:00"}, "eventTimeZoneOffset", "+08:00"),
        ({"ilmd": {}}, "ilmd.farmtrace:products", "a new lot needs its product"),
        ({"certificationInfo": "urn:x"}, "certificationInfo", "a harvest event carries no certificate"),
        ({"farmtrace:price": {"amount": "-1"}}, "farmtrace:price", "farmtrace's price"),
        (
            {"farmtrace:recall": {"reason": "x", "instructions": "y"}},
            "farmtrace:recall",
            "a harvest event carries no",
        ),
    ],
)
def test_refusals_name_the_field(change: dict[str, Any], field: str, words: str) -> None:
    item = {**_harvest(), **change}
    exc = _refusal(item)
    assert exc.field == field and words in exc.message, (exc.field, exc.message)


def test_a_transform_refuses_an_origin_it_would_drop() -> None:
    item = copy.deepcopy(_EXPORTED["transform"])
    item["ilmd"]["farmtrace:origin"] = {"name": "somewhere"}
    exc = _refusal(item, party=sample_wires()["transform"]["party"])
    assert exc.field == "ilmd.farmtrace:origin"


def test_quantities_lots_and_units_are_refused_with_their_place() -> None:
    item = _harvest()
    bad = copy.deepcopy(item)
    bad["quantityList"][1]["uom"] = "LTR"
    assert _refusal(bad).field == "quantityList[1].uom"
    bad = copy.deepcopy(item)
    bad["quantityList"][0]["quantity"] = "500"
    assert _refusal(bad).field == "quantityList[0].quantity"
    bad = copy.deepcopy(item)
    bad["quantityList"][0]["epcClass"] = "urn:epc:idpat:sgtin:4012345.066666.*"
    assert _refusal(bad).field == "quantityList[0].epcClass"
    bad = copy.deepcopy(item)
    bad["quantityList"][1]["epcClass"] = "https://id.gs1.org/01/06901234567892/10/OTHER"
    exc = _refusal(bad)
    assert exc.field == "ilmd.farmtrace:products.OTHER" and "missing" in exc.message


def test_foreign_identifiers_as_the_standards_write_them() -> None:
    # EPC Tag Data Standard LGTIN URN: company prefix 0614141, item reference 812345 (indicator 8).
    assert lot_of_class("urn:epc:class:lgtin:0614141.812345.ABC%2F1", field="f") == (
        "ABC/1",
        "80614141123458",
    )
    # A Digital Link on the party's own domain (parsed by biip), with extra AIs refused if serial.
    assert lot_of_class("https://brand.example/01/06901234567892/10/L1", field="f") == (
        "L1",
        "06901234567892",
    )
    with pytest.raises(InvalidEvent, match="no 21"):
        lot_of_class("https://id.gs1.org/01/06901234567892/10/L1/21/7", field="f")
    with pytest.raises(InvalidEvent, match="check digit"):
        lot_of_class("https://id.gs1.org/01/06901234567893/10/L1", field="f")
    # Dates as data attributes (AI 17 expiry, AI 13 packaging date) are read and checked by biip:
    # a valid one names the same lot, an impossible month is refused, naming the AI.
    assert lot_of_class("https://id.gs1.org/01/06901234567892/10/L1?17=261231&13=261201", field="f") == (
        "L1",
        "06901234567892",
    )
    with pytest.raises(InvalidEvent, match=r"\(17\)"):
        lot_of_class("https://id.gs1.org/01/06901234567892/10/L1?17=261331", field="f")
    # An LGTIN URN has no check digit: the computed one is what biip, independently, accepts.
    for urn in ("urn:epc:class:lgtin:0614141.812345.L1", "urn:epc:class:lgtin:690123456.0789.L1"):
        gtin = lot_of_class(urn, field="f")[1]
        assert gtin is not None and Gtin.parse(gtin).value == gtin
    item = {
        **_harvest(),
        "bizStep": "https://ref.gs1.org/cbv/BizStep-commissioning",
        "disposition": "urn:epcglobal:cbv:disp:active",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.0"},
        "eventTime": "2026-11-19T22:00:00.750Z",
    }
    for key in ("farmtrace:location", "bizLocation"):
        item.pop(key, None)
    wire = capture_event(item, party=COOP, base=BASE)
    assert wire["location"] == {"name": "urn:epc:id:sgln:0614141.07346.0", "gln": "0614141073467"}
    assert wire["event_time"] == "2026-11-20T06:00:00+08:00"  # in the event's offset, to the second
    item["readPoint"] = {"id": "urn:epc:id:sgln:0614141.07346.1234"}
    assert _refusal(item).field == "readPoint.id"


def test_a_sale_at_wholesale_uses_the_platforms_vocabulary() -> None:
    event = Event.from_wire(sample_wires()["sell"])
    item = to_epcis_event(event, event_id="ab" * 32, recorded_at=None, base=BASE)
    assert item is not None
    item = {**item, "bizStep": NS + "wholesale_selling"}
    exc = _refusal(item, party=event.party)
    assert exc.field == "farmtrace:price.stage" and "wholesale" in exc.message
    other = {**item, "bizStep": "https://elsewhere.example/ns#wholesale_selling"}
    assert _refusal(other, party=event.party).field == "bizStep"


def test_document_level_problems_raise_and_event_problems_are_kept() -> None:
    for version in ("1.2", "2.1", "2", 2.0):
        with pytest.raises(InvalidEvent, match="schemaVersion"):
            capture_document({"type": "EPCISDocument", "schemaVersion": version}, party=COOP, base=BASE)
    with pytest.raises(InvalidEvent, match="eventList"):
        capture_document(
            {"type": "EPCISDocument", "schemaVersion": "2.0", "epcisBody": {}}, party=COOP, base=BASE
        )
    doc = json.loads((STANDARDS / "epcis" / "Example_9.6.1-ObjectEvent.jsonld").read_text(encoding="utf-8"))
    assert len(capture_document({**doc, "schemaVersion": "2.0.0"}, party=COOP, base=BASE)) == 2
    query = {
        **doc,
        "type": "EPCISQueryDocument",
        "epcisBody": {"queryResults": {"resultsBody": doc["epcisBody"]}},
    }
    assert len(capture_document(query, party=COOP, base=BASE)) == 2
    with pytest.raises(InvalidEvent, match=r"epcisBody\.queryResults\.resultsBody\.eventList"):
        capture_document({**query, "epcisBody": doc["epcisBody"]}, party=COOP, base=BASE)
    with pytest.raises(InvalidEvent, match="at most 500 events"):
        capture_document({**doc, "epcisBody": {"eventList": [{}] * 501}}, party=COOP, base=BASE)
    captured = capture_document(doc, party=COOP, base=BASE)
    assert [(c.index, c.wire, c.refusal.field if c.refusal else None) for c in captured] == [
        (0, None, "epcList"),
        (1, None, "epcList"),
    ]
    assert [c.epcis_id for c in captured] == [e["eventID"] for e in doc["epcisBody"]["eventList"]]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


def _exported(name: str) -> dict[str, Any]:
    event = Event.from_wire(sample_wires()[name])
    return to_epcis_event(event, event_id="ab" * 32, recorded_at=None, base=BASE)  # type: ignore[return-value]


_KINDS = [n for n, w in sample_wires().items() if w["kind"] not in NON_EPCIS_KINDS]
_EXPORTED = {name: _exported(name) for name in _KINDS}
_KEYS = sorted(
    {k for item in _EXPORTED.values() for k in item}
    | {"farmtrace:transformType", "farmtrace:slaughter", "ilmd"}
)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(_KINDS), st.dictionaries(st.sampled_from(_KEYS), _JSON, max_size=4))
def test_capture_raises_only_its_own_error(name: str, change: dict[str, Any]) -> None:
    party = sample_wires()[name]["party"]
    with contextlib.suppress(InvalidEvent):  # anything else fails the test
        capture_event({**_EXPORTED[name], **change}, party=party, base=BASE)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_KINDS), st.data())
def test_nested_values_raise_only_its_own_error(name: str, data: st.DataObject) -> None:
    item = copy.deepcopy(_EXPORTED[name])
    # Replace one value somewhere inside the event (a quantity, a detail's field, a list item).
    paths = list(_paths(item))
    path = data.draw(st.sampled_from(paths))
    target = item
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = data.draw(_JSON)
    with contextlib.suppress(InvalidEvent):
        capture_event(item, party=sample_wires()[name]["party"], base=BASE)


def _paths(value: Any, prefix: tuple = ()) -> Any:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def test_an_event_time_without_an_offset_is_refused() -> None:
    exc = _refusal({**_harvest(), "eventTime": "2026-11-20T06:00:00"})
    assert exc.field == "eventTime" and "explicit offset" in exc.message


def test_a_receipt_in_standard_fields_leaves_the_ship_event_to_the_signer() -> None:
    exported = _EXPORTED["receive"]
    party = sample_wires()["receive"]["party"]
    item = {k: v for k, v in exported.items() if k != "farmtrace:receipt"}
    wire = capture_event(item, party=party, base=BASE)
    assert needs_ship_event(wire) and not needs_ship_event(capture_event(exported, party=party, base=BASE))
    assert wire["detail"] == {
        "source": COOP,
        "entry_check": {"result": "accepted", "certificate_no": "HGZ-1"},
    }
    assert "documents" not in wire  # the cert transaction is the entry check's, not a document
    returned = capture_event(
        {**item, "disposition": "returned", "bizTransactionList": []}, party=party, base=BASE
    )
    assert returned["detail"]["entry_check"] == {"result": "rejected"}
    assert _refusal({**item, "disposition": "in_transit"}, party=party).field == "disposition"
    two = item["bizTransactionList"] + [{"type": "cert", "bizTransaction": "urn:farmtrace:certificate:HGZ-2"}]
    assert _refusal({**item, "bizTransactionList": two}, party=party).field == "bizTransactionList"
    assert _refusal({k: v for k, v in item.items() if k != "sourceList"}, party=party).field == "sourceList"


# --- livestock (issue 20 §5): live animals in HEA, 动物检疫合格证明, slaughter ---------------------------

_PORK = pork_events(until="product_cert")
_PORK_ITEMS = {
    name: to_epcis_event(event, event_id=eid, recorded_at=CREATED, base=BASE)
    for name, (event, eid) in _PORK.items()
}


def _pork(name: str) -> dict[str, Any]:
    return copy.deepcopy(_PORK_ITEMS[name])  # type: ignore[arg-type]


def test_a_live_animal_harvest_round_trips() -> None:
    event, _ = _PORK["harvest"]
    wire = capture_event(_pork("harvest"), party=PIG_FARM, base=BASE)
    assert wire == _unsigned(event)
    assert wire["outputs"][0]["unit"] == "head"  # HEA
    assert wire["outputs"][0]["ear_tags"] == EAR_TAGS and wire["outputs"][0]["live_weight"] == "345"


def test_a_slaughter_round_trips() -> None:
    event, _ = _PORK["slaughter"]
    wire = capture_event(_pork("slaughter"), party=ABATTOIR, base=BASE)
    assert wire == _unsigned(event)
    assert wire["detail"] == {"type": "slaughter", "live_weight": "345", "certificate_no": MEAT_CERT}
    assert [r["unit"] for r in wire["inputs"]] == ["head"]
    # Without farmtrace:transformType, bizStep killing alone means a slaughter.
    item = _pork("slaughter")
    del item["farmtrace:transformType"]
    assert capture_event(item, party=ABATTOIR, base=BASE) == wire


def test_both_quarantine_forms_round_trip() -> None:
    for name in ("quarantine", "product_cert"):  # 动物B on the pigs, 产品B on a carcass lot
        event, _ = _PORK[name]
        wire = capture_event(_pork(name), party=VET, base=BASE)
        assert wire == _unsigned(event) and wire["kind"] == "quarantine"
    # certificationInfo is optional, as for a 合格证; if given it names the certificate.
    item = _pork("quarantine")
    del item["certificationInfo"]
    assert capture_event(item, party=VET, base=BASE) == _unsigned(_PORK["quarantine"][0])


def _without(item: dict[str, Any], *path: str) -> dict[str, Any]:
    target = item
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return item


@pytest.mark.parametrize(
    ("name", "change", "field", "words"),
    [
        # A slaughter states its live weight and 肉品品质检验合格证; only a slaughter does.
        ("slaughter", lambda i: _without(i, "farmtrace:slaughter"), "farmtrace:slaughter", "missing"),
        ("slaughter", lambda i: _without(i, "farmtrace:slaughter", "live_weight"),
         "farmtrace:slaughter.live_weight", "live weight"),
        ("slaughter", lambda i: _without(i, "farmtrace:slaughter", "certificate_no"),
         "farmtrace:slaughter.certificate_no", "肉品品质检验合格证"),
        ("slaughter", lambda i: {**i, "farmtrace:slaughter": {**i["farmtrace:slaughter"], "type": "split"}},
         "farmtrace:slaughter.type", "not representable"),
        ("slaughter", lambda i: {**i, "farmtrace:slaughter": "345"}, "farmtrace:slaughter", "an object"),
        ("slaughter", lambda i: {**i, "farmtrace:slaughter": {**i["farmtrace:slaughter"], "live_weight": "-1"}},
         "farmtrace:slaughter.live_weight", "farmtrace's detail.live_weight"),
        ("slaughter", lambda i: {**i, "farmtrace:transformType": "split"}, "farmtrace:transformType",
         "does not go with bizStep killing"),
        ("slaughter", lambda i: {**i, "bizStep": "repackaging"}, "farmtrace:transformType",
         "does not go with bizStep repackaging"),
        ("slaughter", lambda i: {**_without(i, "farmtrace:transformType"), "bizStep": "repackaging"},
         "farmtrace:slaughter", "only a slaughter"),
        ("slaughter", lambda i: {**i, "bizStep": "urn:epcglobal:cbv:bizstep:killing"}, None, None),
        # A 动物检疫合格证明's number is its certificationInfo; it is the vet's, on one kind of event.
        ("quarantine", lambda i: {**i, "certificationInfo": "urn:farmtrace:certificate:OTHER"},
         "certificationInfo", "farmtrace:quarantine's number"),
        ("quarantine", lambda i: {**i, "farmtrace:certificate": {"certificate_no": "4301820001"}},
         "farmtrace:quarantine", "a certify event carries no farmtrace:quarantine"),
        ("quarantine", lambda i: {**_without(i, "certificationInfo"), "bizStep": "shipping", "disposition":
         "in_transit", "destinationList": [{"type": "owning_party", "destination": f"urn:farmtrace:party:{ABATTOIR}"}]},
         "farmtrace:quarantine", "a ship event carries no farmtrace:quarantine"),
        ("quarantine", lambda i: {**i, "disposition": "non_conformant"}, "disposition",
         "a farmtrace quarantine event is conformant"),
        ("quarantine", lambda i: _without(i, "farmtrace:quarantine", "official_vet"), "farmtrace:quarantine",
         "official_vet"),
        ("quarantine", lambda i: {**i, "farmtrace:quarantine": {**i["farmtrace:quarantine"], "ear_tags": ["1"]}},
         "farmtrace:quarantine", "15 digits"),
        # Live animals (HEA) carry their ear tags in ilmd.farmtrace:animals, one per head.
        ("harvest", lambda i: _without(i, "ilmd", "farmtrace:animals"), "ilmd.farmtrace:animals.PIG-001",
         "missing"),
        ("harvest", lambda i: {**i, "ilmd": {**i["ilmd"], "farmtrace:animals": {}}}, "ilmd.farmtrace:animals",
         "non-empty"),
        ("harvest", lambda i: {**i, "ilmd": {**i["ilmd"], "farmtrace:animals": {"PIG-001": {"live_weight": "1"}}}},
         "ilmd.farmtrace:animals.PIG-001", "ear_tags"),
        ("harvest", lambda i: {**i, "ilmd": {**i["ilmd"], "farmtrace:animals": {
            "PIG-001": {"ear_tags": EAR_TAGS, "breed": "花猪"}}}},
         "ilmd.farmtrace:animals.PIG-001.breed", "not representable"),
        ("harvest", lambda i: {**i, "ilmd": {**i["ilmd"], "farmtrace:animals": {"PIG-001": {"ear_tags": EAR_TAGS[:2]}}}},
         "ilmd.farmtrace:animals.PIG-001.ear_tags", "3 head need 3 ear tags"),
        ("harvest", lambda i: {**i, "ilmd": {**i["ilmd"], "farmtrace:animals": {
            "PIG-001": {"ear_tags": [*EAR_TAGS[:2], "14301820000000X"]}}}},
         "ilmd.farmtrace:animals.PIG-001.ear_tags", "15 digits"),
        ("harvest", lambda i: {**i, "quantityList": [{**i["quantityList"][0], "uom": "KGM"}]},
         "ilmd.farmtrace:animals.PIG-001", "only a new lot of live animals"),
        ("slaughter", lambda i: {**i, "ilmd": {**i["ilmd"], "farmtrace:animals": {"PORK-001-L": {
            "ear_tags": EAR_TAGS}}}}, "ilmd.farmtrace:animals.PORK-001-L", "only a new lot of live animals"),
    ],
)  # fmt: skip
def test_livestock_refusals_name_the_field(
    name: str, change: Any, field: str | None, words: str | None
) -> None:
    event, _ = _PORK[name]
    item = change(_pork(name))
    if field is None:  # accepted: the same event
        assert capture_event(item, party=event.party, base=BASE) == _unsigned(event)
        return
    exc = _refusal(item, party=event.party)
    assert exc.field == field and words in exc.message, (exc.field, exc.message)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(_PORK_ITEMS)), st.data())
def test_livestock_values_raise_only_its_own_error(name: str, data: st.DataObject) -> None:
    item = _pork(name)
    path = data.draw(st.sampled_from(list(_paths(item))))
    target = item
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = data.draw(_JSON)
    with contextlib.suppress(InvalidEvent):
        capture_event(item, party=_PORK[name][0].party, base=BASE)
