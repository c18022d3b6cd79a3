"""EPCIS 2.0 export: every domain kind, validated offline against the official GS1 JSON Schema."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

from farmtrace.trace.epcis import (
    EPCIS_CONTEXT,
    context_document,
    context_url,
    epcis_document,
    event_uri,
    lot_class,
    to_epcis_event,
)
from farmtrace.trace.model.event import Event
from farmtrace.trace.model.kinds import KINDS, LOT_KINDS, NON_EPCIS_KINDS, PARTY_KINDS

from ..conftest import STANDARDS
from .story import (
    ANIMAL_CERT,
    COOP,
    EAR_TAGS,
    INSPECT_FAIL,
    MARKET,
    MEAT_CERT,
    REGULATOR,
    SHOP,
    STATION,
    Ledger,
    out,
    pork_story,
    sample_wires,
    story_one,
)

SCHEMA_PATH = STANDARDS / "epcis" / "EPCIS-JSON-Schema.json"

# RFC 3986 §3 characters, with well-formed percent-encoding and a scheme: the "uri" format, checked
# offline (jsonschema checks "uri" only when the optional rfc3987 package is installed).
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})*")


def _validator() -> Draft7Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    # The schema is one self-contained file: no remote $ref to fetch.
    assert '"$ref": "http' not in SCHEMA_PATH.read_text(encoding="utf-8")
    checker = FormatChecker(["date-time"])  # RFC 3339, via the installed rfc3339-validator
    checker.checks("uri")(lambda value: not isinstance(value, str) or bool(_URI.fullmatch(value)))
    assert checker.conforms("2026-11-20T08:30:00+08:00", "date-time")
    assert not checker.conforms("2026-11-20 08:30", "date-time")
    assert not checker.conforms("not a uri", "uri")
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=checker)


VALIDATOR = _validator()


def _errors(doc: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(doc)]


@pytest.mark.parametrize(
    "name",
    [
        "Example_9.6.1-ObjectEvent.jsonld",
        "Example_9.6.4-TransformationEvent.jsonld",
        "SensorDataExample1.jsonld",
    ],
)
def test_validator_accepts_the_official_examples(name: str) -> None:
    assert _errors(json.loads((STANDARDS / "epcis" / name).read_text(encoding="utf-8"))) == []


def _full_history() -> Ledger:
    """Story 1, then a wholesale sale, a failed test, a rejection, a recall and a destruction; then
    the pork story (live animals in head, two 动物检疫合格证明, a slaughter) on the same ledger."""
    lg = story_one()
    lg.record(
        "sell",
        MARKET,
        inputs=[lg.inp("M-CAB-001-03", "10")],
        detail={},
        price={"amount": "2.6", "currency": "CNY", "unit": "kg", "stage": "wholesale"},
    )
    lg.record("inspect", STATION, inputs=[lg.inp("M-CAB-001-04", "10")], detail=INSPECT_FAIL)
    lg.record("ship", MARKET, inputs=[lg.inp("M-CAB-001-05", "10")], detail={"destination": SHOP})
    ship = lg.log[-1][1]
    lg.record(
        "receive",
        SHOP,
        inputs=[lg.inp("M-CAB-001-05", "10")],
        detail={
            "source": MARKET,
            "ship_event": ship,
            "entry_check": {"result": "rejected", "note": "包装破损"},
        },
    )
    lg.record(
        "transform",
        SHOP,
        inputs=[lg.inp("M-CAB-001-02", "10")],
        outputs=[out("S-SLAW-1", "9", product={"name_zh": "包菜丝", "name_en": "Shredded cabbage"})],
        detail={"type": "process"},
    )
    lg.record(
        "recall",
        REGULATOR,
        inputs=[lg.inp("NX-CAB-001", "500")],
        detail={"reason": "抽检不合格", "instructions": "立即下架"},
    )
    lg.record("destroy", MARKET, inputs=[lg.inp("M-CAB-001-05", "10")], detail={"reason": "召回销毁"})
    return pork_story(lg)


CREATED = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
BASE = "https://trace.changsha.example.cn"  # the vocabulary base URI (FARMTRACE_VOCAB_BASE)
NS = BASE + "/ns#"


def test_whole_history_validates() -> None:
    lg = _full_history()
    recorded = {eid: CREATED for _, eid in lg.log}
    doc = epcis_document(lg.log, created=CREATED, recorded=recorded, base=BASE)
    assert _errors(doc) == []
    events = doc["epcisBody"]["eventList"]
    exported = set(LOT_KINDS) - NON_EPCIS_KINDS  # recall_ack and label_activate have no EPCIS form
    kinds = {e.kind for e, _ in lg.log if e.kind in exported}
    assert kinds == exported
    assert len(events) == sum(1 for e, _ in lg.log if e.kind in exported)  # registrations left out
    steps = {(e["bizStep"], e.get("disposition")) for e in events}
    transforms = [e for e in events if e["type"] == "TransformationEvent"]
    assert {e["bizStep"] for e in transforms} == {"repackaging", "commissioning", "killing"}
    uoms = {q["uom"] for e in events for key in ("quantityList", "inputQuantityList", "outputQuantityList")
            for q in e.get(key, [])}  # fmt: skip
    assert uoms == {"KGM", "HEA"}, uoms  # the pigs are counted in head
    assert {
        ("commissioning", "active"),
        ("inspecting", "conformant"),
        ("inspecting", "non_conformant"),
        ("shipping", "in_transit"),
        ("receiving", "in_progress"),
        ("receiving", "returned"),
        ("repackaging", "active"),
        ("retail_selling", "retail_sold"),
        (NS + "wholesale_selling", NS + "sold"),
        ("holding", "recalled"),
        ("destroying", "destroyed"),
    } <= steps
    json.dumps(doc, ensure_ascii=False)  # plain JSON types only


@pytest.mark.parametrize("kind", KINDS)
def test_every_sample_kind_validates(kind: str) -> None:
    event = Event.from_wire(sample_wires()[kind])
    item = to_epcis_event(event, event_id="ab" * 32, recorded_at=None, base=BASE)
    if kind in PARTY_KINDS:
        assert item is None
        return
    doc = epcis_document([(event, "ab" * 32)], created=CREATED, base=BASE)
    assert _errors(doc) == []


def test_mapping_details() -> None:
    samples = sample_wires()
    harvest = to_epcis_event(
        Event.from_wire(samples["harvest"]), event_id="00" * 32, recorded_at=CREATED, base=BASE
    )
    assert harvest is not None
    assert harvest["action"] == "ADD"
    assert harvest["eventTimeZoneOffset"] == "+08:00"
    assert harvest["recordTime"] == "2026-11-21T09:00:00.000+00:00"
    # eventID is the CBV 2.0 event hash ID (tests/trace/test_epcis_hash.py); farmtrace's id rides along.
    assert re.fullmatch(r"ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0", harvest["eventID"])
    assert harvest["farmtrace:eventId"] == "00" * 32
    # 200 jin of a GTIN product: an LGTIN class, 100 KGM.
    assert harvest["quantityList"] == [
        {"epcClass": "urn:farmtrace:lot:NX-CAB-001", "quantity": 500, "uom": "KGM"},
        {"epcClass": "https://id.gs1.org/01/06901234567892/10/NX-CAB-002", "quantity": 100, "uom": "KGM"},
    ]
    assert harvest["ilmd"]["farmtrace:origin"]["name"] == "宁乡 3号地块"
    assert (
        harvest["readPoint"] == {"id": "geo:28.2458,112.5512"}
        if "geo" in samples["harvest"]["location"]
        else True
    )
    assert harvest["farmtrace:price"] == {
        "amount": "1.2",
        "currency": "CNY",
        "unit": "kg",
        "stage": "production",
    }

    inspect = to_epcis_event(
        Event.from_wire(samples["inspect"]), event_id="00" * 32, recorded_at=None, base=BASE
    )
    assert inspect is not None
    assert inspect["readPoint"] == {"id": "https://id.gs1.org/414/6901234000009"}
    assert inspect["farmtrace:inspection"]["result"] == "pass"
    assert {"type": "testres", "bizTransaction": "urn:farmtrace:report:KJ-20261120-0001"} in inspect[
        "bizTransactionList"
    ]

    ship = to_epcis_event(Event.from_wire(samples["ship"]), event_id="00" * 32, recorded_at=None, base=BASE)
    assert ship is not None
    assert ship["destinationList"] == [
        {"type": "owning_party", "destination": f"urn:farmtrace:party:{MARKET}"}
    ]
    assert ship["sourceList"] == [{"type": "owning_party", "source": f"urn:farmtrace:party:{COOP}"}]
    reports = ship["sensorElementList"][0]["sensorReport"]
    assert reports[0] == {"type": "Temperature", "time": "2026-11-20T06:00:00Z", "value": -1.5, "uom": "CEL"}
    assert reports[1]["type"] == "RelativeHumidity"

    certify = to_epcis_event(
        Event.from_wire(samples["certify"]), event_id="00" * 32, recorded_at=None, base=BASE
    )
    assert certify is not None
    assert certify["certificationInfo"] == "urn:farmtrace:certificate:HGZ-430124-20261120-001"

    recall = to_epcis_event(
        Event.from_wire(samples["recall"]), event_id="00" * 32, recorded_at=None, base=BASE
    )
    assert recall is not None and recall["persistentDisposition"] == {"set": ["recalled"]}


def pork_events(until: str = "sell") -> dict[str, tuple[Event, str]]:
    """The pork story's events (tests/trace/story.py), by step name, on a ledger with story 1's parties."""
    lg = pork_story(story_one(until="register"), until=until)
    by_id = {eid: event for event, eid in lg.log}
    return {name: (by_id[eid], eid) for name, eid in lg.ids.items()}


def test_livestock_mapping_details() -> None:
    pork = pork_events(until="product_cert")
    items = {
        name: to_epcis_event(event, event_id=eid, recorded_at=None, base=BASE)
        for name, (event, eid) in pork.items()
    }
    harvest = items["harvest"]
    assert harvest is not None
    assert harvest["quantityList"] == [{"epcClass": "urn:farmtrace:lot:PIG-001", "quantity": 3, "uom": "HEA"}]
    assert harvest["ilmd"]["farmtrace:animals"] == {"PIG-001": {"ear_tags": EAR_TAGS, "live_weight": "345"}}
    # A 动物检疫合格证明 is an inspection with its number as certificationInfo, as a 合格证 is.
    quarantine = items["quarantine"]
    assert quarantine is not None
    assert (quarantine["action"], quarantine["bizStep"], quarantine["disposition"]) == (
        "OBSERVE",
        "inspecting",
        "conformant",
    )
    assert quarantine["certificationInfo"] == f"urn:farmtrace:certificate:{ANIMAL_CERT}"
    assert quarantine["farmtrace:quarantine"]["ear_tags"] == EAR_TAGS
    assert quarantine["farmtrace:quarantine"]["form"] == "animal_b"
    assert "farmtrace:certificate" not in quarantine
    slaughter = items["slaughter"]
    assert slaughter is not None
    assert (slaughter["type"], slaughter["bizStep"], slaughter["disposition"]) == (
        "TransformationEvent",
        "killing",
        "active",
    )
    assert slaughter["farmtrace:transformType"] == "slaughter"
    assert slaughter["farmtrace:slaughter"] == {"live_weight": "345", "certificate_no": MEAT_CERT}
    assert [q["uom"] for q in slaughter["inputQuantityList"]] == ["HEA"]
    assert [q["uom"] for q in slaughter["outputQuantityList"]] == ["KGM", "KGM"]
    assert "farmtrace:animals" not in slaughter["ilmd"]  # carcasses have no ear tags
    # Only a slaughter carries farmtrace:slaughter.
    split = to_epcis_event(
        Event.from_wire(sample_wires()["transform"]), event_id="00" * 32, recorded_at=None, base=BASE
    )
    assert split is not None and "farmtrace:slaughter" not in split
    doc = epcis_document(list(pork.values()), created=CREATED, base=BASE)
    assert _errors(doc) == []


def test_one_lot_one_identifier_across_a_document() -> None:
    lg = story_one()
    doc = epcis_document(lg.log, created=CREATED, base=BASE)
    classes = {
        q["epcClass"]
        for e in doc["epcisBody"]["eventList"]
        for key in ("quantityList", "inputQuantityList", "outputQuantityList")
        for q in e.get(key, [])
    }
    # The bags have a GTIN: their sale uses the same LGTIN class as their creation by the repack.
    bag = lot_class("S-CAB-01-01", "6901234567892")
    assert bag in classes
    assert "urn:farmtrace:lot:S-CAB-01-01" not in classes


def test_identifiers() -> None:
    assert lot_class("A/B", None) == "urn:farmtrace:lot:A%2FB"
    assert lot_class("L1", "96385074") == "https://id.gs1.org/01/00000096385074/10/L1"
    assert event_uri("ff" * 32) == "ni:///sha-256;__________________________________________8"


def test_an_invalid_export_is_caught() -> None:
    # Guard against a vacuous validator: a broken event must fail.
    lg = story_one(until="harvest")
    doc = epcis_document(lg.log, created=CREATED, base=BASE)
    doc["epcisBody"]["eventList"][0]["bizStep"] = "harvesting"
    del doc["epcisBody"]["eventList"][0]["eventTimeZoneOffset"]
    assert len(_errors(doc)) >= 2


def test_naive_times_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        epcis_document([], created=datetime(2026, 1, 1), base=BASE)


# --- JSON-LD: the extension vocabulary survives expansion (pyld, offline) -----------------------------

EPCIS_CONTEXT_FILE = STANDARDS / "epcis" / "epcis-context.jsonld"


def offline_loader(contexts: dict[str, Any]):
    """A pyld document loader that serves only the given URLs (no network): anything else fails."""

    def load(url: str, options: Any = None) -> dict[str, Any]:
        if url not in contexts:
            raise AssertionError(f"the document names a context that was not expected: {url}")
        return {"contextUrl": None, "documentUrl": url, "document": contexts[url]}

    return load


def expand(doc: dict[str, Any], contexts: dict[str, Any]) -> list[dict[str, Any]]:
    from pyld import jsonld

    return jsonld.expand(doc, {"documentLoader": offline_loader(contexts)})


def check_survives(compact: Any, expanded: list[Any], ns: str, where: str) -> int:
    """Assert the compact JSON value `compact`, found inside an extension object, is all present in
    its expansion, every object key as `{ns}{key}`. Returns how many keys were checked."""
    if isinstance(compact, dict):
        assert len(expanded) == 1 and isinstance(expanded[0], dict), (where, expanded)
        node, n = expanded[0], 0
        for key, value in compact.items():
            assert ns + key in node, f"{where}.{key} was dropped by expansion: {sorted(node)}"
            n += 1 + check_survives(value, node[ns + key], ns, f"{where}.{key}")
        return n
    if isinstance(compact, list):
        assert len(expanded) == len(compact), (where, expanded)
        pairs = enumerate(zip(compact, expanded, strict=True))
        return sum(check_survives(c, [e], ns, f"{where}[{i}]") for i, (c, e) in pairs)
    assert expanded == [{"@value": compact}], (where, expanded)
    return 0


def check_extensions_survive(doc: dict[str, Any], expanded: list[dict[str, Any]], ns: str) -> set[str]:
    """Check every `farmtrace:*` object of every event (and of its ilmd) against the expansion; return
    the dotted paths of the nested keys checked."""
    events = expanded[0]["https://ref.gs1.org/epcis/epcisBody"][0]["https://ref.gs1.org/epcis/eventList"]
    events = events[0].get("@list", events)
    compact_events = doc["epcisBody"]["eventList"]
    assert len(events) == len(compact_events)
    seen: set[str] = set()
    for compact, node in zip(compact_events, events, strict=True):
        holders = [(compact, node)]
        if "ilmd" in compact:
            holders.append((compact["ilmd"], node["https://ref.gs1.org/epcis/ilmd"][0]))
        for c, n in holders:
            for key, value in c.items():
                if not key.startswith("farmtrace:"):
                    continue
                term = key.partition(":")[2]
                assert ns + term in n, f"{key} was dropped by expansion"
                if term in ("products", "animals"):  # index maps: lot code -> product, or ear tags
                    by_lot = {p["@index"]: p for p in n[ns + term]}
                    assert set(by_lot) == set(value)
                    for lot, product in value.items():
                        check_survives(
                            product, [{k: v for k, v in by_lot[lot].items() if k != "@index"}], ns, key
                        )
                        seen |= {f"{term}.{k}" for k in product}
                elif term == "tracingCodes":  # an index map: lot code -> 追溯码 (docs/national-platform.md)
                    assert {(c["@index"], c["@value"]) for c in n[ns + term]} == set(value.items())
                    seen.add(term)
                elif isinstance(value, dict):
                    check_survives(value, n[ns + term], ns, key)
                    seen |= {f"{term}.{k}" for k in value}
    return seen


def test_json_ld_expansion_keeps_every_extension_key() -> None:
    lg = _full_history()
    doc = epcis_document(lg.log, created=CREATED, recorded={eid: CREATED for _, eid in lg.log}, base=BASE)
    assert doc["@context"] == [EPCIS_CONTEXT, context_url(BASE)]
    contexts = {
        EPCIS_CONTEXT: json.loads(EPCIS_CONTEXT_FILE.read_text(encoding="utf-8")),
        context_url(BASE): context_document(BASE),
    }
    seen = check_extensions_survive(doc, expand(doc, contexts), NS)
    # Location names, prices, test results, certificates and recall reasons, as the issue lists them.
    assert {
        "location.name",
        "price.amount",
        "price.stage",
        "inspection.result",
        "certificate.certificate_no",
        "recall.reason",
        "recall.instructions",
        "origin.name",
        "products.name_zh",
        "receipt.entry_check",
        "destruction.reason",
        "quarantine.certificate_no",
        "quarantine.ear_tags",
        "quarantine.official_vet",
        "slaughter.live_weight",
        "slaughter.certificate_no",
        "animals.ear_tags",
        "animals.live_weight",
    } <= seen, sorted(seen)


def test_json_ld_checker_is_not_vacuous() -> None:
    # With only a prefix for our namespace (no scoped contexts), expansion drops the nested keys.
    lg = story_one(until="harvest")
    doc = epcis_document(lg.log, created=CREATED, base=BASE)
    doc["@context"] = [EPCIS_CONTEXT, {"farmtrace": NS}]
    contexts = {EPCIS_CONTEXT: json.loads(EPCIS_CONTEXT_FILE.read_text(encoding="utf-8"))}
    with pytest.raises(AssertionError, match="dropped by expansion"):
        check_extensions_survive(doc, expand(doc, contexts), NS)


def test_record_time_is_set_on_every_event_given_one() -> None:
    lg = _full_history()
    recorded = {eid: CREATED for _, eid in lg.log}
    doc = epcis_document(lg.log, created=CREATED, recorded=recorded, base=BASE)
    assert {e["recordTime"] for e in doc["epcisBody"]["eventList"]} == {"2026-11-21T09:00:00.000+00:00"}
    with pytest.raises(ValueError, match="aware"):
        first = next(eid for e, eid in lg.log if e.kind in LOT_KINDS)
        epcis_document(lg.log, created=CREATED, recorded={first: datetime(2026, 1, 1)}, base=BASE)


def test_one_lot_one_identifier_with_gtins_of_lots_made_elsewhere() -> None:
    # A document holding only the bag's sale still names the bag by its GTIN when told it.
    lg = story_one()
    sale = [(e, i) for e, i in lg.log if e.kind == "sell"]
    alone = epcis_document(sale, created=CREATED, base=BASE, gtins={"S-CAB-01-01": "6901234567892"})
    quantities = alone["epcisBody"]["eventList"][0]["quantityList"]
    assert quantities[0]["epcClass"] == lot_class("S-CAB-01-01", "6901234567892")
