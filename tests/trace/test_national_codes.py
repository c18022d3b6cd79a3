"""The national platform's codes in the event model, and one party's 来源/去向 flows.

A 追溯码 (LotOut.tracing_code) and a 主体码 (PartyRecord.subject_code) are optional fields of
encoding version 1: absent, an event's bytes are what they always were (tests/trace/test_encoding.py's
golden vector is unchanged); present, they are signed like every other field. The vector below was
written by hand from RFC 8785's rules (keys sorted by code unit: "tracing_code" between "quantity"
and "unit"), not produced by the encoder.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.trace.epcis import EPCIS_CONTEXT, context_document, context_url, epcis_document, to_epcis_event
from farmtrace.trace.epcis_capture import capture_event
from farmtrace.trace.errors import InvalidEvent, TraceError
from farmtrace.trace.ingest import runs
from farmtrace.trace.model.encoding import decode_event, encode_event, event_id
from farmtrace.trace.model.event import Event
from farmtrace.trace.model.ids import check_national_code
from farmtrace.trace.model.values import parse_party_record
from farmtrace.trace.stock_flows import FLOW_COLUMNS, flow_rows, flow_subjects, stock_flows
from farmtrace.trace.store.bulk import BatchState

from .story import COOP, MARKET, REGULATOR, SHOP, party_wire, sample_wires, story_one
from .story import out as sc_out
from .test_encoding import GOLDEN_CANONICAL, GOLDEN_WIRE
from .test_epcis import BASE, CREATED, EPCIS_CONTEXT_FILE, NS, check_extensions_survive, expand
from .test_replay import _entry, _genesis, record, service_at

CODED_WIRE = {
    **GOLDEN_WIRE,
    "outputs": [{**GOLDEN_WIRE["outputs"][0], "tracing_code": "43012420261120000001"}],
}
CODED_CANONICAL = (
    '{"detail":{"origin":{"name":"3号地"}},"event_time":"2026-11-20T08:30:00+08:00","inputs":[],'
    '"key_id":"21fe31dfa154a261","kind":"harvest","location":{"name":"宁乡合作社"},'
    '"outputs":[{"lot":"NX-001","product":{"name_zh":"包菜"},"quantity":"500",'
    '"tracing_code":"43012420261120000001","unit":"kg"}],'
    '"party":"91350100M000100Y43","v":1}'
).encode()
CODED_ID = "01c52ef927262c46c46837fb8d6e4b55ad2e33490f9f84a4163cb449553939e2"


def test_a_tracing_code_is_signed_as_written_and_its_absence_changes_nothing():
    event = Event.from_wire(CODED_WIRE)
    assert event.outputs[0].tracing_code == "43012420261120000001"
    assert encode_event(event) == CODED_CANONICAL
    assert event_id(CODED_CANONICAL) == CODED_ID == hashlib.sha256(CODED_CANONICAL).hexdigest()
    assert decode_event(CODED_CANONICAL) == event
    plain = Event.from_wire(GOLDEN_WIRE)
    assert plain.outputs[0].tracing_code is None and encode_event(plain) == GOLDEN_CANONICAL


def test_a_subject_code_rides_on_the_party_record():
    wire = {**party_wire(COOP), "subject_code": "430124000000123456"}
    record = parse_party_record(wire)
    assert record.subject_code == "430124000000123456" and record.to_wire() == wire
    assert parse_party_record(party_wire(COOP)).subject_code is None
    assert "subject_code" not in parse_party_record(party_wire(COOP)).to_wire()


@pytest.mark.parametrize(
    "bad",
    ["1234567", "1" * 41, "43012420261120ab", "4301 24202611", "4301-24202611", "４３０１２４２０２６", "", 43012420, None],
)
def test_codes_of_the_wrong_shape_are_refused_naming_the_field(bad):
    with pytest.raises(InvalidEvent) as caught:
        Event.from_wire({**CODED_WIRE, "outputs": [{**CODED_WIRE["outputs"][0], "tracing_code": bad}]})
    assert caught.value.field == "outputs[0].tracing_code"
    with pytest.raises(InvalidEvent) as caught:
        parse_party_record({**party_wire(COOP), "subject_code": bad}, field="detail.party")
    assert caught.value.field == "detail.party.subject_code"


@pytest.mark.parametrize("good", ["12345678", "1" * 40, "A1B2C3D4", "430124000000123456"])
def test_codes_of_the_accepted_shape(good):
    check_national_code(good, field="code")


# --- flows ------------------------------------------------------------------------------------------


def _events():
    lg = story_one()
    return [(event, eid, i) for i, (event, eid) in enumerate(lg.log)], lg


def test_the_market_takes_in_from_the_coop_splits_and_ships_on():
    events, lg = _events()
    lots, parties = flow_subjects(events, MARKET)
    assert "NX-CAB-001" in lots and {MARKET, COOP, SHOP} <= parties
    flows = stock_flows(
        events,
        MARKET,
        names={COOP: "合作社", SHOP: "超市"},
        subject_codes={MARKET: "430100000000000003", COOP: "430124000000000001"},
        tracing_codes={"NX-CAB-001": "43012420261120000001"},
        products={"NX-CAB-001": "包菜"},
    )
    received = [f for f in flows if f.business == "receive"]
    first = received[0]
    assert (first.direction, first.lot, first.quantity, first.counterparty) == ("in", "NX-CAB-001", Decimal(500), COOP)
    assert (first.counterparty_name, first.counterparty_code, first.tracing_code) == (
        "合作社", "430124000000000001", "43012420261120000001",
    )  # fmt: skip
    assert first.related_event == lg.ids["ship"] and first.event_id == lg.ids["receive"]
    assert first.certificate_no and first.subject_code == "430100000000000003"
    split_out = [f for f in flows if f.business == "split" and f.direction == "out"]
    split_in = [f for f in flows if f.business == "split" and f.direction == "in"]
    assert [f.lot for f in split_out] == ["NX-CAB-001"] and len(split_in) == 50
    assert split_out[0].related_lots == tuple(f.lot for f in split_in)
    assert all(f.related_lots == ("NX-CAB-001",) for f in split_in)
    shipped = [f for f in flows if f.business == "ship"]
    assert shipped and all(f.direction == "out" and f.counterparty for f in shipped)
    assert [f.ledger_index for f in flows] == sorted(f.ledger_index for f in flows)
    assert not [f for f in flows if f.party != MARKET]


def test_a_destroy_counts_for_the_holder_not_the_regulator_who_recorded_it():
    _, lg = _events()
    lot, quantity = next((code, q) for (code, party), q in sorted(lg.state.holdings.items()) if party == SHOP and q > 0)
    lg.record(
        "destroy", REGULATOR, inputs=[lg.inp(lot, str(quantity))], detail={"reason": "抽检不合格", "holder": SHOP}
    )
    destroy = lg.log[-1]
    events = [(destroy[0], destroy[1], 99)]
    out = stock_flows(events, SHOP, names={}, subject_codes={}, tracing_codes={}, products={})
    assert [(f.direction, f.business, f.lot) for f in out] == [("out", "destroy", lot)]
    assert stock_flows(events, REGULATOR, names={}, subject_codes={}, tracing_codes={}, products={}) == []


def test_rows_carry_every_column_in_both_languages():
    events, _ = _events()
    flows = stock_flows(events, COOP, names={}, subject_codes={}, tracing_codes={}, products={})
    zh, en = flow_rows(flows, lang="zh"), flow_rows(flows, lang="en")
    keys = [key for key, _, _ in FLOW_COLUMNS]
    assert all(list(row) == keys for row in zh + en)
    harvest = [(z, e) for z, e in zip(zh, en, strict=True) if e["business"] == "Production"]
    assert harvest and harvest[0][0]["business"] == "生产" and harvest[0][0]["direction"] == "入库"
    assert harvest[0][1]["place"] and harvest[0][1]["counterparty"] == ""


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=50), st.from_regex(r"[0-9A-Z]{6,42}", fullmatch=True), st.integers(), st.none()))
def test_the_code_check_raises_only_its_own_error_and_accepts_exactly_the_shape(value):
    shaped = isinstance(value, str) and 8 <= len(value) <= 40 and all(c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" for c in value)
    try:
        check_national_code(value, field="code")
    except InvalidEvent as exc:
        assert not shaped and exc.field == "code"
    else:
        assert shaped


# --- EPCIS: the 追溯码 travels in ilmd and comes back ---------------------------------------------------


def _coded_harvest() -> Event:
    wire = sample_wires()["harvest"]
    outputs = [{**wire["outputs"][0], "tracing_code": "43012420261120000001"}, *wire["outputs"][1:]]
    return Event.from_wire({**wire, "outputs": outputs})


def test_a_tracing_code_round_trips_through_epcis_export_and_capture():
    event = _coded_harvest()
    item = to_epcis_event(event, event_id="ab" * 32, recorded_at=CREATED, base=BASE)
    assert item["ilmd"]["farmtrace:tracingCodes"] == {event.outputs[0].lot: "43012420261120000001"}
    got = capture_event(item, party=event.party, base=BASE)
    assert got["outputs"][0]["tracing_code"] == "43012420261120000001"
    assert "tracing_code" not in got["outputs"][1]
    plain = Event.from_wire(sample_wires()["harvest"])
    assert "farmtrace:tracingCodes" not in to_epcis_event(plain, event_id="ab" * 32, recorded_at=CREATED, base=BASE)["ilmd"]


@pytest.mark.parametrize("codes", [{}, [], "x", {"NO-SUCH-LOT": "43012420261120000001"}])
def test_epcis_tracing_codes_of_the_wrong_form_are_refused(codes):
    item = to_epcis_event(_coded_harvest(), event_id="ab" * 32, recorded_at=CREATED, base=BASE)
    item["ilmd"]["farmtrace:tracingCodes"] = codes
    with pytest.raises(InvalidEvent) as caught:
        capture_event(item, party=COOP, base=BASE)
    assert caught.value.field == "ilmd.farmtrace:tracingCodes"


def test_an_epcis_tracing_code_of_the_wrong_shape_is_refused_naming_it():
    item = to_epcis_event(_coded_harvest(), event_id="ab" * 32, recorded_at=CREATED, base=BASE)
    lot = next(iter(item["ilmd"]["farmtrace:tracingCodes"]))
    item["ilmd"]["farmtrace:tracingCodes"] = {lot: "lower-case"}
    with pytest.raises(InvalidEvent) as caught:
        capture_event(item, party=COOP, base=BASE)
    assert caught.value.field == f"ilmd.farmtrace:tracingCodes.{lot}"


def test_tracing_codes_survive_json_ld_expansion():
    event = _coded_harvest()
    doc = epcis_document([(event, "ab" * 32)], created=CREATED, recorded={"ab" * 32: CREATED}, base=BASE)
    contexts = {
        EPCIS_CONTEXT: json.loads(EPCIS_CONTEXT_FILE.read_text(encoding="utf-8")),
        context_url(BASE): context_document(BASE),
    }
    assert "tracingCodes" in check_extensions_survive(doc, expand(doc, contexts), NS)


# --- both appliers write the same index rows --------------------------------------------------------

NEW_FARM = "93430124MA4L009772"


def _coded_history() -> list[bytes]:
    """Story 1 to the market's receipt, then a farm registered with its 主体码, its harvest with a
    追溯码 and the market's split whose packs carry theirs: signed entries after the genesis."""
    lg = story_one(until="receive")
    record = {**party_wire(NEW_FARM, roles=["producer"]), "subject_code": "430124000000000977"}
    lg.record("party.register", REGULATOR, detail={"party": record})
    out = {**sc_out("GM-1", "30"), "tracing_code": "43012420261120000977"}
    lg.record("harvest", NEW_FARM, outputs=[out], detail={"origin": {"name": "9号地"}})
    packs = [{**sc_out(f"M-GM-{i}", "100"), "tracing_code": f"4301002026112000{i:04d}"} for i in range(1, 6)]
    lg.record("transform", MARKET, inputs=[lg.inp("NX-CAB-001", "500")], outputs=packs, detail={"type": "split"})
    return [_genesis(), *(_entry(e) for e, _ in lg.log)]


def _national_rows(url: str, entries: list[bytes]) -> list[tuple]:
    with service_at(url) as service:
        record(service, entries)
        with service.engine.connect() as conn:
            return sorted(tuple(r) for r in conn.exec_driver_sql("SELECT * FROM trace_national_code"))


def test_the_bulk_and_the_reference_applier_write_the_same_code_rows(tmp_path, monkeypatch):
    entries = _coded_history()
    bulk = _national_rows(f"sqlite:///{tmp_path / 'bulk.db'}", entries)
    monkeypatch.setenv("FARMTRACE_INGEST_STRICT", "0")

    def broken(self, *args, **kw):
        raise TraceError("the overlay is off: every run falls back to Repository")

    monkeypatch.setattr(BatchState, "apply_effects", broken)
    before = runs.fallbacks()
    reference = _national_rows(f"sqlite:///{tmp_path / 'reference.db'}", entries)
    assert runs.fallbacks() > before
    assert bulk == reference
    assert {(code, scheme, holder) for code, scheme, holder, _ in bulk} == {
        ("430124000000000977", "subject", NEW_FARM),
        ("43012420261120000977", "tracing", "GM-1"),
        *{(f"4301002026112000{i:04d}", "tracing", f"M-GM-{i}") for i in range(1, 6)},
    }
