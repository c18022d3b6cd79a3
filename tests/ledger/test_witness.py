"""ledger/witness.py: the add-checkpoint protocol of c2sp.org/tlog-witness, without HTTP.

Golden bodies are the spec's own examples (tlog-witness.md); the rest is a real log under one
key, honest or rewritten, and a witness with a pinned clock.
"""

from __future__ import annotations

import base64
import threading

import pytest

from farmtrace.ledger.checkpoint import Checkpoint, sign_checkpoint
from farmtrace.ledger.errors import InconsistencyError, LedgerError, MalformedError
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import CosignatureSigner, CosignatureVerifier, Signer, open_note
from farmtrace.ledger.store import MemoryStore
from farmtrace.ledger.verify import check_evidence, parse_evidence
from farmtrace.ledger.witness import (
    AddCheckpoint,
    ProofError,
    SignatureError,
    SizeConflictError,
    UnknownLogError,
    Witness,
    format_add_checkpoint,
    format_log_list,
    format_size,
    parse_add_checkpoint,
    parse_log_list,
    parse_size,
)
from farmtrace.ledger.witness_store import MemoryWitnessStore, SqliteWitnessStore, WitnessRecord

LOG = Signer.from_seed("witness-test.farmtrace.example/log", bytes(range(32)))
W1 = CosignatureSigner.from_seed("witness.example/w1", bytes(range(1, 33)))
NOW = 1_700_000_000

# c2sp.org/tlog-witness, "Example request body", byte for byte.
SPEC_BODY = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\u2014 example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
).encode()


def _log(entries) -> Log:
    log = Log(MemoryStore(), LOG, clock=lambda: float(NOW))
    if entries:
        log.append_many(list(entries))
    return log


def _witness(store=None) -> Witness:
    return Witness(W1, [LOG.verifier], store or MemoryWitnessStore(), clock=lambda: float(NOW))


def _body(log: Log, old: int, size: int | None = None) -> bytes:
    cp = log.checkpoint() if size is None else log.checkpoint_at(size)
    proof = log.prove_consistency(old, cp.size) if 0 < old < cp.size else []
    return format_add_checkpoint(AddCheckpoint(old, tuple(proof), cp.note.encode()))


def _entries(prefix: str, n: int) -> list[bytes]:
    return [f"{prefix} {i}".encode() for i in range(n)]


# --- the request body ----------------------------------------------------------------------------


def test_the_spec_example_body_parses_and_formats_back_byte_for_byte():
    req = parse_add_checkpoint(SPEC_BODY)
    assert req.old_size == 20852014
    assert len(req.proof) == 4 and all(len(p) == 32 for p in req.proof)
    assert req.note.startswith(b"example.com/behind-the-sofa\n20852163\n")
    assert format_add_checkpoint(req) == SPEC_BODY


def test_an_empty_proof_and_size_zero():
    req = parse_add_checkpoint(b"old 0\n\nnote\n")
    assert (req.old_size, req.proof, req.note) == (0, (), b"note\n")


HASH = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b"old 5\n" + HASH.encode() + b"\n", "no empty line"),
        (b"old 007\n\nx\n", "leading zeros"),
        (b"old +7\n\nx\n", "leading zeros"),
        (b"old -1\n\nx\n", "leading zeros"),
        (b"old 99999999999999999999\n\nx\n", "leading zeros"),
        (b"old 9223372036854775808\n\nx\n", "2^63-1"),
        (b"olds 5\n\nx\n", "'old <size>'"),
        (b"old\n\nx\n", "'old <size>'"),
        (b"old 5\nnot base64!\n\nx\n", "proof line 1 is not valid base64"),
        (b"old 5\n" + base64.b64encode(bytes(31)) + b"\n\nx\n", "proof line 1 is not the canonical"),
        (b"old 5\n" + (HASH + "\n").encode() * 64 + b"\nx\n", "at most 63 lines"),
        (b"old 5\n\n", "no checkpoint"),
        ("old 5\n\u00e9\n\nx\n".encode(), "ASCII"),
    ],
)
def test_malformed_bodies_are_refused_naming_the_problem(body, names):
    with pytest.raises(MalformedError, match=names.replace("^", r"\^").replace("+", r"\+")):
        parse_add_checkpoint(body)
    with pytest.raises(MalformedError):
        _witness().add_checkpoint(body)


def test_the_size_body_of_a_409():
    assert format_size(20852163) == b"20852163\n"
    assert parse_size(b"20852163\n") == 20852163
    for bad in (b"12", b"012\n", b"-1\n", b"1 \n", b""):
        with pytest.raises(MalformedError):
            parse_size(bad)


def test_the_log_list_is_the_log_lines_of_a_tlog_policy():
    text = f"# trusted logs\n\n  log {LOG.verifier.key_string()} https://log.example/\n"
    assert parse_log_list(text) == (LOG.verifier,)
    assert parse_log_list(format_log_list([LOG.verifier])) == (LOG.verifier,)
    for bad, names in [
        ("", "empty"),
        ("# nothing\n", "empty"),
        (f"witness w1 {W1.verifier.key_string()}\n", "line 1: expected 'log"),
        (f"log {LOG.verifier.key_string()}\nlog {LOG.verifier.key_string()}\n", "line 2: .* listed twice"),
        ("log not-a-key\n", "line 1:"),
    ]:
        with pytest.raises(MalformedError, match=names):
            parse_log_list(bad)


# --- add-checkpoint ------------------------------------------------------------------------------


def _cosigned(note: bytes, line: str) -> None:
    opened = open_note(note.decode() + line, [LOG.verifier, W1.verifier])
    (sig,) = [s for s in opened.signatures if s.name == W1.name]
    assert CosignatureVerifier.timestamp(sig.signature) == NOW


def test_a_first_checkpoint_is_cosigned_then_extended_with_proofs():
    log, witness = _log(_entries("e", 5)), _witness()
    line = witness.add_checkpoint(_body(log, 0))
    assert line.startswith("\u2014 witness.example/w1 ") and line.endswith("\n")
    _cosigned(log.checkpoint().note.encode(), line)
    for n in (1, 2, 3, 4, 9):  # 4 is a power of two, where the RFC proof leaves out the old root
        before = log.size
        log.append_many(_entries(f"more{n}", n))
        _cosigned(log.checkpoint().note.encode(), witness.add_checkpoint(_body(log, before)))
    assert witness.store.latest(LOG.name).size == log.size
    # The same checkpoint again (old size = its size, same root) is cosigned again.
    witness.add_checkpoint(_body(log, log.size))


def test_an_unknown_origin_is_404():
    other = Log(MemoryStore(), Signer.from_seed("other.example/log", bytes(32)), clock=lambda: 0.0)
    with pytest.raises(UnknownLogError, match=r"other\.example/log"):
        _witness().add_checkpoint(_body(other, 0))


def test_every_bit_flip_of_the_note_is_refused_and_never_recorded():
    log = _log(_entries("e", 7))
    body = _body(log, 0)
    head, note = body[: len(b"old 0\n\n")], body[len(b"old 0\n\n") :]
    origin_end, text_end = note.index(b"\n"), note.index(b"\n\n")
    outcomes: dict[str, int] = {}
    for i in range(len(note)):
        for bit in range(8):
            flipped = bytearray(note)
            flipped[i] ^= 1 << bit
            witness = _witness()
            with pytest.raises(LedgerError) as info:
                witness.add_checkpoint(head + bytes(flipped))
            assert witness.store.latest(LOG.name) is None
            name = type(info.value).__name__
            outcomes[name] = outcomes.get(name, 0) + 1
            # In the size and root lines a flip either breaks the grammar (400) or the signature (403).
            if origin_end < i < text_end:
                assert isinstance(info.value, SignatureError | MalformedError), (i, bit, info.value)
    assert outcomes["SignatureError"] > 100 and set(outcomes) <= {
        "SignatureError",
        "MalformedError",
        "UnknownLogError",
    }


def test_a_flipped_signature_byte_is_403():
    log = _log(_entries("e", 3))
    note = log.checkpoint().note
    text, _, sigline = note.rpartition("\n\n")
    name, b64 = sigline.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    for i in range(4, len(raw)):  # past the key ID: an ID flip is a signature by an unknown key (also 403)
        for bit in (0, 7):
            bad = bytearray(raw)
            bad[i] ^= 1 << bit
            forged = f"{text}\n\n{name} {base64.b64encode(bytes(bad)).decode()}\n"
            with pytest.raises(SignatureError):
                _witness().add_checkpoint(b"old 0\n\n" + forged.encode())


def test_a_wrong_old_size_is_409_with_the_known_size():
    log, witness = _log(_entries("e", 6)), _witness()
    witness.add_checkpoint(_body(log, 0))
    log.append_many(_entries("f", 3))
    with pytest.raises(SizeConflictError) as info:
        witness.add_checkpoint(_body(log, 0))
    assert info.value.known_size == 6
    with pytest.raises(SizeConflictError):
        witness.add_checkpoint(_body(log, 5))
    witness.add_checkpoint(_body(log, 6))


def test_old_size_beyond_the_checkpoint_is_400():
    log = _log(_entries("e", 3))
    body = format_add_checkpoint(AddCheckpoint(4, (), log.checkpoint().note.encode()))
    with pytest.raises(MalformedError, match="larger than the checkpoint's 3"):
        _witness().add_checkpoint(body)


def test_bad_proofs_are_422_and_prove_nothing():
    log, witness = _log(_entries("e", 6)), _witness()
    with pytest.raises(ProofError, match="from size 0 is empty"):
        witness.add_checkpoint(
            format_add_checkpoint(AddCheckpoint(0, (bytes(32),), log.checkpoint().note.encode()))
        )
    witness.add_checkpoint(_body(log, 0))
    log.append_many(_entries("f", 5))
    good = parse_add_checkpoint(_body(log, 6))
    for i in range(len(good.proof)):
        proof = list(good.proof)
        proof[i] = bytes(32)
        with pytest.raises(ProofError):
            witness.add_checkpoint(format_add_checkpoint(AddCheckpoint(6, tuple(proof), good.note)))
    assert witness.store.latest(LOG.name).size == 6 and witness.store.evidence(LOG.name) == []


def test_an_empty_tree_with_another_root_is_422():
    note = sign_checkpoint(Checkpoint(LOG.name, 0, bytes(32)), LOG)
    with pytest.raises(ProofError, match="size 0"):
        _witness().add_checkpoint(b"old 0\n\n" + note.encode())


@pytest.mark.parametrize(("old", "new"), [(6, 11), (6, 6), (5, 9)])
def test_a_fork_is_422_with_evidence_the_log_key_alone_rechecks(old, new):
    honest, witness = _log(_entries("sell", old)), _witness()
    witness.add_checkpoint(_body(honest, 0))
    prefix = 3
    forked = _log(_entries("sell", prefix) + _entries("destroy", new - prefix))
    with pytest.raises(InconsistencyError) as info:
        witness.add_checkpoint(_body(forked, old))
    check_evidence(info.value.evidence, log_key=LOG.verifier)
    (stored,) = witness.store.evidence(LOG.name)
    check_evidence(parse_evidence(stored), log_key=LOG.verifier)
    assert witness.store.latest(LOG.name).size == old  # not moved


def test_two_requests_from_one_size_cannot_both_advance(tmp_path):
    log = _log(_entries("e", 4))
    store = SqliteWitnessStore(tmp_path / "w.db")
    _witness(store).add_checkpoint(_body(log, 0))
    log.append_many(_entries("a", 3))
    body_a = _body(log, 4)
    log.append_many(_entries("b", 3))
    body_b = _body(log, 4)
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def run(body: bytes) -> None:
        w = _witness(SqliteWitnessStore(tmp_path / "w.db"))  # one store each, as two processes
        barrier.wait()
        try:
            outcomes.append(w.add_checkpoint(body))
        except SizeConflictError as exc:
            outcomes.append(exc.known_size)

    threads = [threading.Thread(target=run, args=(b,)) for b in (body_a, body_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["int", "str"]
    assert store.latest(LOG.name).size in (7, 10)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_the_store_contract(kind, tmp_path):
    store = MemoryWitnessStore() if kind == "memory" else SqliteWitnessStore(tmp_path / "w.db")
    a = WitnessRecord("o", 5, b"note5\n", "\u2014 w x\n")
    b = WitnessRecord("o", 9, b"note9\n", "\u2014 w y\n")
    assert store.latest("o") is None
    assert not store.compare_and_swap("o", expected_size=0, new=a)
    assert store.compare_and_swap("o", expected_size=None, new=a)
    assert not store.compare_and_swap("o", expected_size=None, new=b)
    assert store.compare_and_swap("o", expected_size=5, new=b)
    assert store.latest("o") == b and store.latest("p") is None
    with pytest.raises(MalformedError):
        store.compare_and_swap("p", expected_size=None, new=a)
    store.add_evidence("o", b"ev1", at=1.0)
    store.add_evidence("o", b"ev2", at=2.0)
    assert store.evidence("o") == [b"ev1", b"ev2"] and store.evidence("p") == []
    store.close()
    if kind == "sqlite":  # durable: a new store over the file sees it all
        again = SqliteWitnessStore(tmp_path / "w.db")
        assert again.latest("o") == b and again.evidence("o") == [b"ev1", b"ev2"]
        again.close()


def test_misuse_is_refused():
    with pytest.raises(MalformedError):
        Witness(LOG, [LOG.verifier], MemoryWitnessStore(), clock=lambda: 1.0)  # type: ignore[arg-type]
    with pytest.raises(MalformedError):
        Witness(W1, [], MemoryWitnessStore(), clock=lambda: 1.0)


def test_the_monitoring_read_serves_the_note_with_our_cosignature():
    log, witness = _log(_entries("e", 2)), _witness()
    with pytest.raises(UnknownLogError):
        witness.checkpoint(LOG.name)
    witness.add_checkpoint(_body(log, 0))
    opened = open_note(witness.checkpoint(LOG.name), [LOG.verifier, W1.verifier])
    assert {s.name for s in opened.signatures} == {LOG.name, W1.name}


def test_signatures_of_unknown_keys_and_types_are_ignored_not_fatal():
    # An ML-DSA-44 cosignature (c2sp.org/tlog-cosignature: 8-byte time + 2420-byte signature) by a key
    # nobody here knows, on the note the witness receives and on the answer the log receives.
    mldsa = base64.b64encode(bytes([0x06, 1, 2, 3]) + bytes(8 + 2420)).decode()
    unknown = f"\u2014 pq-witness.example/w2 {mldsa}\n"
    log, witness = _log(_entries("e", 4)), _witness()
    note = log.checkpoint().note
    line = witness.add_checkpoint(b"old 0\n\n" + (note + unknown).encode())
    stored = log.add_cosignature(note + unknown + line, W1.verifier)
    assert stored.cosignatures == (line,)
    opened = open_note(stored.note_with_cosignatures() + unknown, [LOG.verifier, W1.verifier])
    assert len(opened.signatures) == 2 and len(opened.unverified) == 1


def test_a_submitter_started_over_a_checkpoint_its_witness_already_cosigned_reports_it():
    # Another process (or this service before a restart) stored W1's cosignature on the latest
    # checkpoint: the submitter must count it, not ask again, and keep answering `status`.
    import socket
    import time

    from farmtrace.ledger.witnessing import WitnessEndpoint, Witnessing

    log, witness = _log(_entries("e", 3)), _witness()
    note = log.checkpoint().note
    log.add_cosignature(note + witness.add_checkpoint(_body(log, 0)), W1.verifier)
    with socket.socket() as s:  # nothing listens here: a submission would fail, and show as an error
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    submitter = Witnessing(log, [WitnessEndpoint(url, W1.verifier)], poll=0.01)
    submitter.start()
    try:
        deadline = time.monotonic() + 5
        while True:
            answer: list = []

            def read(out: list = answer) -> None:
                out.extend(submitter.status())

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            reader.join(2.0)
            assert answer, "status() did not answer: the submitter holds its lock"
            (status,) = answer
            if status.cosigned_size == 3:
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.01)
        assert status.last_error is None and status.cosigned_at is not None
    finally:
        stopper = threading.Thread(target=submitter.stop, daemon=True)  # a deadlocked one never stops
        stopper.start()
        stopper.join(10.0)


class _CountingStore(MemoryStore):
    """A MemoryStore that remembers each `add_cosignatures` call (one call, one write transaction)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[tuple[int, str]]] = []

    def add_cosignatures(self, lines):
        self.calls.append(list(lines))
        super().add_cosignatures(lines)


def _serve_witness(witness: Witness):
    """`witness` behind a loopback HTTP server speaking add-checkpoint (200 line, 409 size only)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from farmtrace.ledger.witness import SizeConflictError, format_size

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                status, ctype, answer = 200, "text/plain", witness.add_checkpoint(body).encode()
            except SizeConflictError as exc:
                status, ctype, answer = 409, "text/x.tlog.size", format_size(exc.known_size)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_the_submitter_stores_the_cosignatures_of_a_round_together():
    # Three witnesses over HTTP on loopback; each new checkpoint is cosigned by all three, and the
    # submitter stores their cosignatures in fewer write transactions than there are cosignatures
    # (one per round when the witnesses answer together; the previous code made one per witness).
    import time

    from farmtrace.ledger.witnessing import WitnessEndpoint, Witnessing

    store = _CountingStore()
    log = Log(store, LOG, clock=lambda: float(NOW))
    signers = [CosignatureSigner.from_seed(f"witness.example/r{i}", bytes([40 + i]) * 32) for i in range(3)]
    served = [
        _serve_witness(Witness(s, [LOG.verifier], MemoryWitnessStore(), clock=lambda: float(NOW)))
        for s in signers
    ]
    endpoints = [WitnessEndpoint(url, s.verifier) for (_, url), s in zip(served, signers, strict=True)]
    submitter = Witnessing(log, endpoints, poll=0.01, pace=0.05, gather=5.0)
    submitter.start()
    try:
        for round_ in range(3):
            log.append_many(_entries(f"round {round_}", 5))
            size = log.size
            deadline = time.monotonic() + 20
            while len(log.checkpoint_at(size).cosignatures) < 3:
                assert time.monotonic() < deadline, submitter.status()
                time.sleep(0.01)
    finally:
        submitter.stop()
        for server, _ in served:
            server.shutdown()
    lines = [line for call in store.calls for line in call]
    assert len(lines) == len(set(lines)) >= 9  # every witness's cosignature of every round, once
    assert len(store.calls) < len(lines), store.calls
    assert max(len(call) for call in store.calls) >= 3  # a round's three together (or more rounds)
    assert [s.cosigned_size for s in submitter.status()] == [15, 15, 15]


def test_a_quiet_logs_checkpoint_is_sent_again_and_only_the_newest_cosignature_is_kept():
    # No new checkpoint for longer than `refresh`: the submitter sends the same one again, the witness
    # cosigns it with a newer time, and the log replaces the witness's older line with it (a page
    # whose policy has a max age would otherwise call a quiet log stale).
    import time

    from farmtrace.ledger.note import CosignatureVerifier, parse_signature_line
    from farmtrace.ledger.witnessing import WitnessEndpoint, Witnessing

    now = [float(NOW)]
    log = Log(MemoryStore(), LOG, clock=lambda: now[0])
    log.append_many(_entries("quiet", 4))
    server, url = _serve_witness(Witness(W1, [LOG.verifier], MemoryWitnessStore(), clock=lambda: now[0]))
    submitter = Witnessing(
        log, [WitnessEndpoint(url, W1.verifier)], poll=0.01, pace=0.01, refresh=100.0, clock=lambda: now[0]
    )

    def cosigned_at() -> list[int]:
        return [
            CosignatureVerifier.timestamp(parse_signature_line(line).signature)
            for line in log.checkpoint_at(4).cosignatures
        ]

    def wait_for(times: list[int]) -> None:
        deadline = time.monotonic() + 20
        while cosigned_at() != times:
            assert time.monotonic() < deadline, (cosigned_at(), submitter.status())
            time.sleep(0.01)

    submitter.start()
    try:
        wait_for([NOW])
        now[0] = NOW + 50.0  # younger than `refresh`: nothing is sent
        time.sleep(1.5)
        assert cosigned_at() == [NOW]
        now[0] = NOW + 150.0
        wait_for([NOW + 150])
        (status,) = submitter.status()
        assert (status.cosigned_size, status.cosigned_at) == (4, NOW + 150)
    finally:
        submitter.stop()
        server.shutdown()


def test_the_log_keeps_one_cosignature_per_witness_on_a_checkpoint_the_newest():
    log = _log(_entries("e", 3))
    note = log.checkpoint().note
    old = Witness(W1, [LOG.verifier], MemoryWitnessStore(), clock=lambda: float(NOW)).add_checkpoint(
        _body(log, 0)
    )
    new = Witness(W1, [LOG.verifier], MemoryWitnessStore(), clock=lambda: float(NOW + 9)).add_checkpoint(
        _body(log, 0)
    )
    log.add_cosignature(note + new, W1.verifier)
    assert log.add_cosignature(note + old, W1.verifier).cosignatures == (new,)  # an older one is dropped
    log2 = _log(_entries("e", 3))
    log2.add_cosignature(note + old, W1.verifier)
    assert log2.add_cosignature(note + new, W1.verifier).cosignatures == (new,)  # a newer one replaces
