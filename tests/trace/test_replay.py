"""The replay audit (trace/replay.py) against an operator who can write to the database.

Each test builds a real ledger (story 1 of tests/trace/story.py, signed and recorded through
TraceService on SQLite and PostgreSQL), tampers with it as the operator could, with SQL or with
the log's own key, and expects the replay to name the failure: the table, row and column of a
projection-only edit; the entry an operator-made key or an undone revocation let in; the witness
and size of a rollback or a fork. A clean ledger passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import Boolean, insert, select, text, update
from sqlalchemy import delete as sql_delete

from farmtrace.ledger.log import Log
from farmtrace.ledger.note import CosignatureSigner, Signer, open_note, sign_note
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.trace import replay as rp
from farmtrace.trace.errors import SignatureRefused
from farmtrace.trace.ingest.record import Recorder
from farmtrace.trace.model.encoding import encode_entry, sign_event
from farmtrace.trace.model.event import Event
from farmtrace.trace.service import TraceService
from farmtrace.trace.store import compare
from farmtrace.trace.store.compare import PROJECTION, create_projection, is_text

from .story import (
    COOP,
    REGULATOR,
    SHOP,
    START,
    Ledger,
    key_id,
    key_wire,
    out,
    party_wire,
    pork_story,
    private_key,
    story_one,
    wire,
)

NOW = START + timedelta(hours=6)  # after every event of the story
LOG_SEED = b"\x07" * 32
ORIGIN = "test.local/log"
WITNESS = CosignatureSigner.from_seed("witness.example/w1", b"\x09" * 32)


def _entry(event: Event, signer: str | None = None) -> bytes:
    signed = sign_event(event, private_key(signer or event.party))
    return encode_entry(signed.canonical, signed.signature)


def _genesis() -> bytes:
    return _entry(
        Event.from_wire(
            wire(
                "party.register",
                REGULATOR,
                time=START - timedelta(days=1),
                detail={"party": party_wire(REGULATOR)},
            )
        )
    )


def story_entries(lg: Ledger | None = None) -> tuple[Ledger, list[bytes]]:
    """Story 1 to the sale, as signed entries after the genesis (the story's ledger for more)."""
    lg = story_one(lg)
    return lg, [_genesis(), *(_entry(e) for e, _ in lg.log)]


@contextmanager
def service_at(url: str) -> Iterator[TraceService]:
    store = SqlStore.from_url(url, create=True)
    service = TraceService(Log(store, Signer.from_seed(ORIGIN, LOG_SEED)), store.engine, clock=lambda: NOW)
    service.create_tables()
    try:
        yield service
    finally:
        service.log.close()
        store.close()


def record(service: TraceService, entries: list[bytes]) -> None:
    if service.log.size == 0:
        service.record_genesis(entries[0])
        entries = entries[1:]
    for result in service.record_many(entries):
        assert not isinstance(result, Exception), result


def run_replay(service: TraceService, **kw) -> rp.ReplayReport:
    return rp.replay(service.log, clock=lambda: NOW, **kw)


@pytest.fixture
def ledger(database_url) -> Iterator[tuple[TraceService, Ledger]]:
    lg = story_one()
    # One lot with the national platform's 追溯码, so that trace_national_code has a row to edit.
    coded = {**out("NX-CAB-009", "5"), "tracing_code": "110105202611200001"}
    lg.record("harvest", COOP, outputs=[coded], detail={"origin": {"name": "宁乡市 3号地块"}})
    # Two pre-printed labels bound to it, so that trace_label has rows to edit.
    lg.record("label_activate", COOP, detail={"lot": "NX-CAB-009", "gtin": "6901234567892", "serials": ["R1", "R2"]})
    # The pork story, so that trace_animal and trace_livestock_certificate have rows to edit.
    pork_story(lg)
    entries = [_genesis(), *(_entry(e) for e, _ in lg.log)]
    with service_at(database_url) as service:
        record(service, entries)
        yield service, lg


def test_a_clean_ledger_passes(ledger):
    service, lg = ledger
    report = run_replay(service)
    assert report.entries_replayed == service.log.size == len(lg.log) + 1
    assert report.rows_compared > 100  # 57 lots, their events, holdings...
    assert report.summary().startswith("OK:")


# --- projection-only edits: every table, a column changed, a row deleted, a row inserted ---------

# The column changed in each table's first row (primary-key order), and its new value.
CHANGES = {
    "trace_party": ("roles", "producer regulator"),
    "trace_party_key": ("revoked_at", "2026-11-20T00:00:00Z"),
    "trace_lot": ("recalled", True),
    "trace_lot_parent": ("parent", "NX-FORGED"),
    "trace_holding": ("quantity", "9999"),
    "trace_transit": ("received", "1"),
    "trace_disposal": ("quantity", "0.5"),
    "trace_certificate": ("lot", "NX-FORGED"),
    "trace_national_code": ("event_id", "f" * 64),
    "trace_label": ("lot", "NX-FORGED"),
    "trace_animal": ("lot", "NX-FORGED"),
    "trace_livestock_certificate": ("valid_until", "2099-01-01T00:00:00Z"),
    "trace_event": ("price_amount", "0.01"),
    "trace_event_lot": ("quantity", "12345"),
}


def _first_row(conn, table):
    pk = [c.collate("C") if conn.dialect.name == "postgresql" and is_text(c) else c
          for c in table.primary_key.columns]  # fmt: skip
    row = conn.execute(select(table).order_by(*pk).limit(1)).one()
    return {c.key: v for c, v in zip(table.columns, row, strict=True)}  # by key: trace_event_lot's seq


def _where(table, row):
    return [c == row[c.key] for c in table.primary_key.columns]


@pytest.mark.parametrize("how", ["update", "delete", "insert"])
@pytest.mark.parametrize("table", PROJECTION, ids=lambda t: t.name)
def test_a_projection_only_edit_is_named(ledger, table, how):
    service, _ = ledger
    column, value = CHANGES[table.name]
    with service.engine.begin() as conn:
        row = _first_row(conn, table)
        if how == "update":
            conn.execute(update(table).where(*_where(table, row)).values({column: value}))
        elif how == "delete":
            conn.execute(sql_delete(table).where(*_where(table, row)))
        else:
            forged = dict(row)
            for c in table.primary_key.columns:
                if is_text(c):
                    forged[c.key] = row[c.key] + "-FORGED"
                    break
            if "ledger_index" in forged:
                forged["ledger_index"] = 10**9
            conn.execute(insert(table).values(forged))
    with pytest.raises(rp.ProjectionDivergence) as caught:
        run_replay(service)
    d = caught.value.divergence
    assert d.table == table.name
    assert table.name in str(caught.value)
    if how == "update" and column not in {c.name for c in table.primary_key.columns}:
        assert (d.column, d.found) == (column, value)
        assert d.expected == row[column] and d.expected != value
        assert d.key == {c.name: row[c.name] for c in table.primary_key.columns}
    elif how == "delete":
        assert d.column is None and d.found is None
        assert d.key == {c.name: row[c.name] for c in table.primary_key.columns}
    elif how == "insert":
        assert d.column is None and d.expected is None and d.found is not None


def test_a_recalled_flag_cleared_is_named(ledger):
    """The issue's case: a recalled lot made sellable again by one UPDATE."""
    service, lg = ledger
    lot = "S-CAB-01-02"
    event = lg.make(
        "recall",
        REGULATOR,
        inputs=[lg.inp(lot, "1")],
        detail={"reason": "农残超标", "instructions": "请停止销售"},
    )
    record(service, [_entry(event)])
    run_replay(service)  # clean so far
    t = next(t for t in PROJECTION if t.name == "trace_lot")
    with service.engine.begin() as conn:
        conn.execute(update(t).where(t.c.code == lot).values(recalled=False))
    with pytest.raises(rp.ProjectionDivergence) as caught:
        run_replay(service)
    d = caught.value.divergence
    assert (d.table, d.key, d.column, d.expected, d.found) == (
        "trace_lot",
        {"code": lot},
        "recalled",
        True,
        False,
    )


# --- keys the operator made, revocations it undid ----------------------------------------------


def _sale(lg: Ledger, lot: str, *, key: str) -> Event:
    return lg.make(
        "sell", SHOP, inputs=[lg.inp(lot, "1")], detail={}, key=key,
        price={"amount": "6.8", "currency": "CNY", "unit": "kg", "stage": "retail"},
    )  # fmt: skip


def _add_key_row(service: TraceService, party: str, owner: str) -> None:
    """The operator puts `owner`'s generation-0 key on `party`'s record with SQL."""
    wire_key = key_wire(owner)
    import base64

    with service.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO trace_party_key (key_id, party_id, public_key, active_from, added_by_event) "
                "VALUES (:k, :p, :pk, '2026-11-01T00:00:00Z', :e)"
            ),
            {
                "k": wire_key["key_id"],
                "p": party,
                "pk": base64.b64decode(wire_key["public_key"]),
                "e": "0" * 64,
            },
        )


def test_an_operator_inserted_key_names_the_entry_it_signed(ledger):
    service, lg = ledger
    _add_key_row(service, SHOP, "operator")
    sale = _sale(lg, "S-CAB-01-02", key=key_id("operator"))
    (receipt,) = service.record_many([_entry(sale, signer="operator")])
    assert not isinstance(receipt, Exception)  # the service, reading the tables, let it in
    with pytest.raises(rp.EntryRefused) as caught:
        run_replay(service)
    assert caught.value.index == receipt.index
    assert isinstance(caught.value.cause, SignatureRefused)
    assert f"entry {receipt.index}" in str(caught.value) and key_id("operator") in str(caught.value)


def test_a_forged_key_add_appended_by_the_log_is_named(ledger):
    """The operator appends a key_add 'by the regulator', signed with its own key, straight to the log."""
    service, lg = ledger
    forged = lg.make(
        "party.key_add", REGULATOR, key=key_id("operator"),
        detail={"party_id": SHOP, **key_wire("operator")},
    )  # fmt: skip
    index = service.log.append(_entry(forged, signer="operator"))
    _add_key_row(service, SHOP, "operator")
    with pytest.raises(rp.EntryRefused) as caught:
        run_replay(service)
    assert caught.value.index == index
    assert isinstance(caught.value.cause, SignatureRefused)


def test_a_deleted_key_revocation_names_the_entry_it_let_in(ledger):
    service, lg = ledger
    revoke = lg.make(
        "party.key_revoke", REGULATOR, detail={"party_id": SHOP, "key_id": key_id(SHOP), "reason": "手机丢失"}
    )
    record(service, [_entry(revoke)])
    lg.clock += timedelta(minutes=1)
    with service.engine.begin() as conn:  # the operator undoes the revocation in the table
        conn.execute(
            text("UPDATE trace_party_key SET revoked_at = NULL WHERE key_id = :k"), {"k": key_id(SHOP)}
        )
    (receipt,) = service.record_many([_entry(_sale(lg, "S-CAB-01-02", key=key_id(SHOP)))])
    assert not isinstance(receipt, Exception)
    with pytest.raises(rp.EntryRefused) as caught:
        run_replay(service)
    assert caught.value.index == receipt.index
    assert caught.value.rule == "key_inactive"


def test_an_entry_the_log_appended_twice_is_named(ledger):
    """The operator appends an event already recorded again, with the log's key: a repeat."""
    service, _ = ledger
    first = service.log.read_entries(5, 6)[0][1]
    index = service.log.append(first)
    with pytest.raises(rp.EntryRefused) as caught:
        run_replay(service)
    assert caught.value.index == index
    assert "repeats event" in str(caught.value) and "entry 5" in str(caught.value)


def test_small_chunks_name_the_same_entry(ledger, monkeypatch):
    """Projected a few entries per call (each call at its own first index, one transaction each),
    a clean ledger passes and a tamper is named at the same entry."""
    service, lg = ledger
    monkeypatch.setattr(rp, "CHUNK", 4)
    seen: list[int] = []
    run_replay(service, progress=lambda done, total: seen.append(done))
    assert seen == [*range(4, service.log.size, 4), service.log.size]
    forged = lg.make(
        "party.key_add", REGULATOR, key=key_id("operator"),
        detail={"party_id": SHOP, **key_wire("operator")},
    )  # fmt: skip
    index = service.log.append(_entry(forged, signer="operator"))
    with pytest.raises(rp.EntryRefused) as caught:
        run_replay(service)
    assert caught.value.index == index and isinstance(caught.value.cause, SignatureRefused)


def test_project_many_keeps_nothing_of_a_call_that_fails(tmp_path):
    """`Recorder.project_many` (the replay's step 3) is all or nothing per call, and names the first
    entry it could not apply at its own index; a projecting Recorder cannot append."""
    lg, entries = story_entries()
    bad = 7
    entries[bad] = _entry(_sale(lg, "S-CAB-01-02", key=key_id("operator")), signer="operator")
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'projection.db'}", create=True)
    try:
        create_projection(store.engine)
        recorder = Recorder.projecting(store.engine, clock=lambda: NOW)
        refused = recorder.project_many(100, entries, operator=True)
        assert refused is not None and refused.index == 100 + bad
        assert isinstance(refused.cause, SignatureRefused)
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM trace_event")).scalar_one() == 0
            assert conn.execute(text("SELECT count(*) FROM trace_party")).scalar_one() == 0
        assert recorder.project_many(100, entries[:bad], operator=True) is None
        with store.engine.connect() as conn:
            indexes = conn.execute(text("SELECT ledger_index FROM trace_event ORDER BY 1")).scalars().all()
        assert indexes == list(range(100, 100 + bad))
        with pytest.raises(TypeError):
            recorder.record_many(entries[bad + 1 :])
    finally:
        store.close()


# --- witnesses: a rollback below a cosigned size, a fork -----------------------------------------


def _witnessed_note(tmp_path, entries: list[bytes]) -> str:
    """The checkpoint of a log holding `entries`, as the witness cosigned it (another database)."""
    with service_at(f"sqlite:///{tmp_path / 'witnessed.db'}") as other:
        record(other, entries)
        note = other.log.checkpoint().note
    body = open_note(note, [Signer.from_seed(ORIGIN, LOG_SEED).verifier]).text
    return sign_note(body, Signer.from_seed(ORIGIN, LOG_SEED), WITNESS.at_time(1_800_000_000))


def test_a_consistent_rollback_below_a_witnessed_size_names_the_witness(database_url, tmp_path):
    _, entries = story_entries()
    note = _witnessed_note(tmp_path, entries)  # the witness saw all of them
    with service_at(database_url) as service:
        record(service, entries[:-3])  # entries, checkpoints and projection as they were before
        run_replay(service)  # without the witness's checkpoint nothing shows
        with pytest.raises(rp.LogBehindWitness) as caught:
            run_replay(service, witnesses=[WITNESS.verifier], witnessed_notes=[note])
    assert (caught.value.witness, caught.value.size) == (WITNESS.name, len(entries))
    assert caught.value.log_size == len(entries) - 3
    assert WITNESS.name in str(caught.value) and str(len(entries)) in str(caught.value)


def test_a_fork_names_the_witness_and_size(ledger, tmp_path):
    service, _ = ledger
    other = Ledger()
    story_one(other, until="inspect")
    other.record("harvest", COOP, outputs=[out("NX-OTHER", "1")], detail={"origin": {"name": "别处"}})
    forked = [_genesis(), *(_entry(e) for e, _ in other.log)]
    note = _witnessed_note(tmp_path, forked)
    with pytest.raises(rp.ForkedFromWitness) as caught:
        run_replay(service, witnesses=[WITNESS.verifier], witnessed_notes=[note])
    assert (caught.value.witness, caught.value.size) == (WITNESS.name, len(forked))


def test_cosignatures_stored_with_the_log_are_compared(ledger):
    service, _ = ledger
    cp = service.log.checkpoint()
    body = open_note(cp.note, [service.log.verifier]).text
    service.log.add_cosignature(sign_note(body, WITNESS.at_time(1_800_000_000)), WITNESS.verifier)
    report = run_replay(service, witnesses=[WITNESS.verifier])
    assert [(w.witness, w.size) for w in report.witnessed] == [(WITNESS.name, cp.size)]


def test_an_edited_entry_fails_the_merkle_audit_first(ledger):
    service, _ = ledger
    with service.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_entry SET entry = :e WHERE idx = 3"), {"e": b"{}"})
    with pytest.raises(rp.LedgerAuditFailed) as caught:
        run_replay(service)
    assert caught.value.index == 3


def test_progress_counts_entries(ledger):
    service, _ = ledger
    seen: list[tuple[int, int]] = []
    run_replay(service, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (service.log.size, service.log.size)


# Bool columns are compared as bools on both databases (SQLite stores 0/1).
def test_flags_compare_alike(ledger):
    service, _ = ledger
    t = next(t for t in PROJECTION if t.name == "trace_lot")
    assert any(isinstance(c.type, Boolean) for c in t.columns)
    run_replay(service)


def test_sqlite_answers_equal_tables_without_the_walk(ledger, monkeypatch, database_url):
    """On SQLite, equal projections are confirmed by SQLite itself (compare._equal_in_sqlite); the
    Python walk runs only to name a difference (the edits above all go through it)."""
    service, _ = ledger
    walked: list[str] = []
    plain = compare._walk
    monkeypatch.setattr(compare, "_walk", lambda table, *a: walked.append(table.name) or plain(table, *a))
    run_replay(service)
    assert walked == ([] if database_url.startswith("sqlite") else [t.name for t in PROJECTION])


# --- the console's audit job offers the replay ---------------------------------------------------


def test_the_audit_job_runs_the_replay_with_progress(ledger):
    from farmtrace.trace.audits import AuditJob

    service, _ = ledger
    job = AuditJob(service.log, service.engine, clock=lambda: NOW, witnesses=[WITNESS.verifier])
    job.start(requested_by=REGULATOR, replay=True)
    job.wait(120)
    last = job.status()["last"]
    assert last["ok"] is True and "entries replayed" in last["summary"]
    assert last["done"] == last["total"] == service.log.size
    with service.engine.begin() as conn:
        conn.execute(text("UPDATE trace_holding SET quantity = '1000' WHERE lot = 'NX-CAB-001'"))
    job.start(requested_by=REGULATOR)  # the Merkle audit cannot see it
    job.wait(120)
    assert job.status()["last"]["ok"] is True
    job.start(requested_by=REGULATOR, replay=True)
    job.wait(120)
    last = job.status()["last"]
    assert last["ok"] is False
    (failure,) = last["failures"]
    assert "table trace_holding" in failure["message"] and "column quantity" in failure["message"]
    assert last["summary"].startswith("FAILED: the projection was changed behind the ledger")
