"""The typed answers of trace/reads/, checked against the tables themselves (raw SQL, written here)
on SQLite and PostgreSQL, over the demo's ledger: a recall, a failed test, refused attempts,
goods still on the road, prices at three stages.

Reads that the pages and the API already pin byte for byte (tests/api/test_answers.py) are checked
here for what they mean: every holding above zero and no other, outstanding = shipped - received,
newest first, chunked reads past 500 keys, and what a tampered database does to each answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from farmtrace.api.demo import run_demo
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import Signer
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.trace.clock import cst_day, parse_utc
from farmtrace.trace.errors import InvalidEvent, NotFound
from farmtrace.trace.reads.lots import LotStatus
from farmtrace.trace.service import TraceService
from farmtrace.trace.store import lot_queries, party_queries

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def demo(database_url, tmp_path) -> Iterator[tuple[TraceService, dict]]:
    store = SqlStore.from_url(database_url, create=True)
    service = TraceService(
        Log(store, Signer.from_seed("test.local/log", b"\x02" * 32)), store.engine, clock=lambda: NOW
    )
    service.create_tables()
    result = run_demo(service, tmp_path / "keys")
    try:
        yield service, result
    finally:
        service.log.close()
        store.close()


def _sql(service: TraceService, text: str, *params) -> list[tuple]:
    with service.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(text, params)]


def _party_ids(service: TraceService) -> list[str]:
    return [p for (p,) in _sql(service, "SELECT id FROM trace_party ORDER BY id")]


def test_holdings_are_every_lot_held_above_zero_newest_first(demo):
    service, _ = demo
    checked = 0
    for party in _party_ids(service):
        rows = _sql(
            service, f"SELECT lot, quantity FROM trace_holding WHERE party = {_param(service)}", party
        )
        expected = {lot for lot, q in rows if Decimal(q) > 0}
        held = service.holdings(party)
        assert {h.lot for h in held} == expected
        assert all(Decimal(h.held) > 0 for h in held)
        assert [h.created_at for h in held] == sorted((h.created_at for h in held), reverse=True)
        for h in held:
            summary = service.lot_summary(h.lot)
            assert (h.head, h.unit, h.product, h.status) == (
                summary.head,
                summary.unit,
                summary.product,
                summary.status,
            )
            assert dict(summary.holders)[party] == str(Decimal(h.held))
        checked += len(held)
    assert checked > 10


def test_incoming_and_shipments_agree_line_for_line(demo):
    service, _ = demo
    seen_open = seen_done = 0
    for party in _party_ids(service):
        sent = service.shipments_from(party)
        assert [s.at for s in sent] == sorted((s.at for s in sent), reverse=True)
        for s in sent:
            assert Decimal(s.outstanding) == Decimal(s.shipped) - Decimal(s.received) >= 0
            incoming = {(i.ship_event, i.lot): i for i in service.incoming(s.to)}
            if Decimal(s.outstanding) > 0:  # what the sender still has on the road, the destination awaits
                line = incoming[(s.ship_event, s.lot)]
                assert (line.source, line.outstanding, line.unit) == (party, s.outstanding, s.unit)
                assert line.head == service.lot_summary(s.lot).head
                seen_open += 1
            else:  # fully received: no longer offered to the receive form
                assert (s.ship_event, s.lot) not in incoming
                seen_done += 1
    assert seen_open and seen_done


def test_a_tampered_holding_or_shipment_changes_the_answers_not_the_shape(demo):
    # The projection is an index, not the truth (the replay audit rebuilds it); the reads must
    # follow it exactly, never invent or keep a row the tables lost.
    service, _ = demo
    p = _param(service)
    rows = _sql(service, "SELECT party, lot, quantity FROM trace_holding ORDER BY lot, party")
    party, lot, _ = next(r for r in rows if Decimal(r[2]) > 0)
    assert lot in {h.lot for h in service.holdings(party)}
    with service.engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE trace_holding SET quantity = '0' WHERE party = {p} AND lot = {p}", (party, lot)
        )
    assert lot not in {h.lot for h in service.holdings(party)}
    assert party not in dict(service.lot_summary(lot).holders)
    ship_event, lot, source, dest = _sql(
        service, "SELECT ship_event, lot, source, destination FROM trace_transit ORDER BY ship_event, lot"
    )[0]
    with service.engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE trace_transit SET received = '0.5' WHERE ship_event = {p} AND lot = {p}",
            (ship_event, lot),
        )
    (line,) = [s for s in service.shipments_from(source) if (s.ship_event, s.lot) == (ship_event, lot)]
    assert line.received == "0.5" and Decimal(line.outstanding) == Decimal(line.shipped) - Decimal("0.5")
    assert (ship_event, lot) in {(i.ship_event, i.lot) for i in service.incoming(dest)}


def test_the_trace_graph_is_closed_and_its_origins_are_its_first_lots(demo):
    service, result = demo
    for code in (result["consumer_lot"], result["recalled_lot"]):
        graph = service.trace_graph(code)
        lots = {n.lot for n in graph.nodes}
        assert code in lots and [n.direction for n in graph.nodes if n.lot == code] == ["self"]
        assert all(e.parent in lots and e.child in lots for e in graph.edges)
        children = {e.child for e in graph.edges}
        assert {n.lot for n in graph.nodes if n.origin} == lots - children
        assert set(graph.origins) <= {n.lot for n in graph.nodes if n.direction != "forward"}
        for n in graph.nodes:
            (row,) = _sql(
                service,
                f"SELECT quantity, unit, recalled FROM trace_lot WHERE code = {_param(service)}",
                n.lot,
            )
            assert (n.quantity, n.unit, n.status.recalled) == (row[0], row[1], bool(row[2]))
        for e in graph.edges:  # a split or repack names the child's share; a merge each parent's
            p = _param(service)
            lines = _sql(
                service,
                "SELECT l.lot, l.role, l.quantity, l.unit FROM trace_event_lot l"
                f" JOIN trace_lot c ON c.created_event = l.event_id WHERE c.code = {p}",
                e.child,
            )
            inputs = [x for x in lines if x[1] == "input"]
            share = [x for x in lines if x[0] == (e.child if len(inputs) == 1 else e.parent)]
            assert e.quantity == f"{share[0][2]} {share[0][3]}"
        back = service.trace_graph(code, direction="back")
        assert {n.lot for n in back.nodes} <= lots and all(n.direction != "forward" for n in back.nodes)
        assert back.to_wire()["edges"] == [
            e
            for e in graph.to_wire()["edges"]
            if e["to"] in {n.lot for n in back.nodes} and e["from"] in {n.lot for n in back.nodes}
        ]
    with pytest.raises(InvalidEvent):
        service.trace_graph(result["consumer_lot"], direction="sideways")
    with pytest.raises(NotFound):
        service.trace_graph("NO-SUCH-LOT")


def test_a_recall_reaches_every_descendant_and_tells_whoever_holds_or_awaits_it(demo):
    service, result = demo
    report = service.recall_report(result["recalled_lot"])
    graph = service.trace_graph(result["recalled_lot"], direction="forward")
    assert [a.lot for a in report.affected_lots] == sorted(n.lot for n in graph.nodes)
    assert all(a.recalled for a in report.affected_lots)
    assert [p.party for p in report.parties] == sorted(p.party for p in report.parties)
    holders = {(p, lot) for n in graph.nodes for lot, p in [(n.lot, h.party) for h in n.holders]}
    assert {(p.party, x.lot) for p in report.parties for x in p.lots} == holders
    on_road = {(s.destination, s.lot) for s in report.shipments if Decimal(s.outstanding) > 0}
    assert {(p.party, x.lot) for p in report.parties for x in p.in_transit or ()} == on_road
    for p in report.parties:  # the optional key: present exactly when something is on the road
        assert ("in_transit" in p.to_wire()) == (p.in_transit is not None)


def test_parties_keys_and_anomalies(demo):
    service, _ = demo
    parties = service.parties()
    assert [p.id for p in parties] == _party_ids(service) and all(p.keys is None for p in parties)
    for p in parties:
        full = service.party(p.id)
        keys = _sql(service, f"SELECT key_id FROM trace_party_key WHERE party_id = {_param(service)}", p.id)
        assert {k.key_id for k in full.keys or ()} == {k for (k,) in keys} and full.roles == p.roles
    with pytest.raises(NotFound):
        service.party("NOBODY")
    every = service.anomalies(limit=1000)
    assert every and [a.id for a in every] == sorted((a.id for a in every), reverse=True)
    rule = every[-1].rule
    assert {a.rule for a in service.anomalies(rule=rule)} == {rule}
    assert len(service.anomalies(limit=1)) == 1
    at = parse_utc(every[0].at)
    assert every[0].id in {a.id for a in service.anomalies(since=at)}
    assert every[0].id not in {a.id for a in service.anomalies(until=at)}
    assert all(isinstance(a.event, dict) and a.event["kind"] == a.kind for a in every)


def test_prices_group_by_china_day_stage_and_unit(demo):
    service, _ = demo
    rows = service.prices()
    points = _sql(
        service,
        "SELECT at_utc, product_name, price_amount, price_unit, price_stage FROM trace_event"
        " WHERE price_amount IS NOT NULL",
    )
    assert sum(r.count for r in rows) == len(points) > 0
    for r in rows:
        mine = [
            Decimal(a)
            for at, prod, a, unit, stage in points
            if (cst_day(parse_utc(at)).isoformat(), prod or "", stage, unit)
            == (r.day, r.product, r.stage, r.unit)
        ]
        assert (r.count, r.min, r.max) == (len(mine), str(min(mine)), str(max(mine)))
        assert r.mean == str((sum(mine) / len(mine)).quantize(Decimal("0.01")))
    assert service.priced_products() == sorted({r.product for r in rows if r.product})
    assert service.prices(product="no such product") == []


def test_entry_event_and_record_times(demo):
    service, _ = demo
    size = service.log.size
    record = service.entry_event(size - 1)
    assert record is not None and record.index == size - 1
    (row,) = _sql(
        service, f"SELECT id, kind, party FROM trace_event WHERE ledger_index = {_param(service)}", size - 1
    )
    assert (record.event_id, record.kind, record.party) == row
    assert list(record.lots) == sorted(record.lots)
    assert service.entry_event(size + 10) is None
    times = service.record_times([0, size - 1, size + 5])
    assert set(times) == {0, size - 1}  # an index beyond the log is left out
    assert times[0] <= times[size - 1]


def test_chunked_reads_pass_500_keys(demo):
    # Every list of keys goes through in_chunks(): more than 500 bound values, known and unknown.
    service, _ = demo
    codes = [c for (c,) in _sql(service, "SELECT code FROM trace_lot")]
    asked = codes + [f"NONE-{i:04d}" for i in range(1200)]
    with service.engine.connect() as conn:
        assert set(lot_queries.lot_rows(conn, asked)) == set(codes)
        assert set(lot_queries.lot_products(conn, asked)) == set(codes)
        assert set(lot_queries.holders_of(conn, sorted(asked))) <= set(codes)
        names = party_queries.party_names(conn, _party_ids(service) + [f"P{i}" for i in range(700)])
        assert set(names) == set(_party_ids(service))
    assert isinstance(service.lot_summary(codes[0]).status, LotStatus)


def test_a_damaged_entry_is_served_as_stored_and_a_recall_stays_listed(demo):
    service, result = demo
    journey = service.journey_bundle(result["recalled_lot"])
    recall = next(e for e in journey.events if e.kind == "recall")
    index = recall.proven.index
    p = _param(service)
    with service.engine.begin() as conn:  # the signed event's text edited inside the stored entry
        (entry,) = [
            bytes(e)
            for (e,) in conn.exec_driver_sql(f"SELECT entry FROM ledger_entry WHERE idx = {p}", (index,))
        ]
        damaged = entry.replace(b'"recall"', b'"rec\xffll"', 1)
        assert damaged != entry
        conn.exec_driver_sql(f"UPDATE ledger_entry SET entry = {p} WHERE idx = {p}", (damaged, index))
    again = service.journey_bundle(result["recalled_lot"])
    (served,) = [e for e in again.events if e.proven.index == index]
    assert served.proven.entry == damaged and served.event is None  # the verifier names it
    assert served.id == recall.id and recall.id not in {r.id for r in again.recalls}
    notices = {n.event_id: n for n in service.recent_recalls(limit=50, since=NOW - timedelta(days=30))}
    assert recall.id in notices and notices[recall.id].reason is None


def _param(service: TraceService) -> str:
    """The DB-API placeholder of the engine's driver (SQLite: ?, psycopg: %s)."""
    return "?" if service.engine.dialect.name == "sqlite" else "%s"
