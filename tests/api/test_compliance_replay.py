"""Compliance records are derived from the log (docs/compliance-record.md): recomputed from the
entries alone they equal the served ones, and a projection table edited behind the ledger's back
either changes nothing, or makes the read refuse (409), or is found by `check_records` and by the
replay audit."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from farmtrace.api.demo import PARTIES, run_demo
from farmtrace.client import PartyKey
from farmtrace.trace import replay as rp
from farmtrace.trace.compliance import ComplianceDivergence, fold_items
from farmtrace.trace.head_index import is_index_entry
from farmtrace.trace.index_keeper import IndexKeeper
from farmtrace.trace.reads.compliance import check_records

COOP, MARKET, FARM = (PARTIES[n][0] for n in ("coop", "market", "farm"))
FAILED_LOT = "NX-XBC-1120"  # the demo's failed pesticide test


@pytest.fixture
def demo(client, tmp_path):
    run_demo(client.app.state.service, tmp_path / "keys")
    return PartyKey.load(tmp_path / "keys" / "regulator.key")


def _served(client, regulator: PartyKey, party: str) -> list[tuple]:
    r = client.get(
        f"/parties/{party}/compliance", headers={"Authorization": f"FarmTrace {regulator.token()}"}
    )
    assert r.status_code == 200, r.text
    return [
        (
            i["category"],
            i["lot"],
            i["recorded_by"],
            i["reason"],
            i["reference"],
            i["event_id"],
            i["ledger_index"],
        )
        for i in r.json()["items"]
        if i["on_ledger"]
    ]


def _from_log(client, party: str) -> list[tuple]:
    log = client.app.state.log
    return [
        (i.category, i.lot, i.recorded_by, i.reason, i.reference, i.event_id, i.ledger_index)
        for i in fold_items(log.read_entries(0, log.size))
        if i.party == party
    ]


def _edit(client, sql: str, **params) -> None:
    with client.app.state.service.engine.begin() as conn:
        assert conn.execute(text(sql), params).rowcount == 1


def _replay(client) -> None:
    rp.replay(client.app.state.log, clock=lambda: datetime.now(UTC))


def test_the_record_recomputed_from_the_log_equals_the_served_one(client, demo):
    # A head index entry among the events (trace/head_index.py): the fold passes over it.
    assert IndexKeeper(client.app.state.log, clock=time.time, lag=0).commit_due() is not None
    assert is_index_entry(
        client.app.state.log.read_entries(client.app.state.log.size - 1, client.app.state.log.size)[0][1]
    )
    for party, *_ in PARTIES.values():
        assert _served(client, demo, party) == _from_log(client, party)
    assert [x[0] for x in _from_log(client, COOP)] == ["failed_test"]
    assert [x[0] for x in _from_log(client, FARM)] == ["recall"]
    check_records(client.app.state.service.engine, client.app.state.log)  # None: equal, item by item
    _replay(client)  # and the projection the reads use is the ledger's


def test_an_edited_maker_changes_no_record_and_the_replay_finds_it(client, demo):
    _edit(client, "UPDATE trace_lot SET created_by = :m WHERE code = :c", m=MARKET, c=FAILED_LOT)
    # The maker is read from the signed entry that created the lot, not from trace_lot.
    assert [x[:2] for x in _served(client, demo, COOP)] == [("failed_test", FAILED_LOT)]
    assert _served(client, demo, MARKET) == []
    check_records(client.app.state.service.engine, client.app.state.log)
    with pytest.raises(rp.ProjectionDivergence) as found:
        _replay(client)
    assert found.value.divergence.table == "trace_lot" and found.value.divergence.column == "created_by"


def test_a_cleared_flag_hides_an_item_which_check_records_and_the_replay_find(client, demo):
    _edit(client, "UPDATE trace_lot SET failed = :f WHERE code = :c", f=False, c=FAILED_LOT)
    assert _served(client, demo, COOP) == []  # the tables no longer lead the read to the entry
    with pytest.raises(ComplianceDivergence) as found:
        check_records(client.app.state.service.engine, client.app.state.log)
    missing = found.value.expected
    assert (missing.category, missing.party, missing.lot) == ("failed_test", COOP, FAILED_LOT)
    assert found.value.found.category == "recall"  # served, the next item took its place
    with pytest.raises(rp.ProjectionDivergence) as diverged:
        _replay(client)
    assert diverged.value.divergence.table == "trace_lot" and diverged.value.divergence.column == "failed"


def test_a_lot_pointed_at_another_event_makes_the_read_refuse(client, demo):
    events = client.get("/lots/NX-BC-1120").json()["events"]  # another lot's creating event
    (other,) = [e["id"] for e in events if e["role"] == "output"]
    _edit(client, "UPDATE trace_lot SET created_event = :e WHERE code = :c", e=other, c=FAILED_LOT)
    r = client.get(f"/parties/{COOP}/compliance")
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert f"created lot {FAILED_LOT}" in r.json()["detail"] and "does not output it" in r.json()["detail"]


def test_verify_replay_rebuilds_the_records_and_says_when_they_differ(tmp_path, monkeypatch, capsys):
    from farmtrace.api.cli import main
    from farmtrace.trace.reads import compliance as reads

    for name in [n for n in os.environ if n.startswith("FARMTRACE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0 and main(["demo"]) == 0
    capsys.readouterr()
    assert main(["verify", "--replay"]) == 0
    out = capsys.readouterr().out
    assert (
        "OK: " in out and "compliance records: recomputed from the entries, equal to the served ones" in out
    )
    # Served records that lost an item (a fault of the read, since the replay found the tables sound).
    served = reads.served_items
    monkeypatch.setattr(reads, "served_items", lambda engine, log: (served(engine, log)[0][1:], log.size))
    assert main(["verify", "--replay"]) == 1
    failed = capsys.readouterr().out.strip().splitlines()[-1]
    assert failed.startswith(
        "log farmtrace.local/log: FAILED: compliance records: the served compliance records"
    )
    assert "failed_test" in failed and "NX-XBC-1120" in failed
