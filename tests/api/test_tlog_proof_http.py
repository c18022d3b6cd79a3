"""GET /events/{id}/proof.tlog-proof: an event's (and so a receipt's) C2SP tlog-proof, on SQLite and
PostgreSQL, checked offline with the log's key and the server's witness policy."""

from __future__ import annotations

import base64

from farmtrace.api.demo import run_demo
from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.note import CosignatureSigner, sign_note
from farmtrace.ledger.policy import Policy
from farmtrace.ledger.tlog_proof import check_tlog_proof, parse_tlog_proof

from .conftest import LOG_SIGNER


def test_every_event_of_a_journey_downloads_as_a_tlog_proof(client, tmp_path):
    service = client.app.state.service
    run_demo(service, tmp_path / "keys")
    journey = service.journey_bundle("XF-BAG-0001").to_wire()
    # A witness cosigns the latest checkpoint: the file carries its line, and a policy holds.
    witness = CosignatureSigner.from_seed("w.example/w", bytes([5]) * 32)
    log = client.app.state.log
    note = log.checkpoint().note
    log.add_cosignature(
        sign_note(note[: note.rfind("\n\n") + 1], LOG_SIGNER, witness.at_time(1_800_000_000)),
        witness.verifier,
    )
    policy = Policy.of_witnesses([witness.verifier], quorum=1, max_age=60)
    for item in journey["events"]:
        r = client.get(f"/events/{item['id']}/proof.tlog-proof")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "text/x.tlog.proof; charset=utf-8"
        assert (
            r.headers["content-disposition"]
            == f'attachment; filename="farmtrace-{item["id"][:16]}.tlog-proof"'
        )
        proof = parse_tlog_proof(r.content)
        assert proof.index == item["index"] and proof.checkpoint == log.checkpoint().note_with_cosignatures()
        entry = base64.b64decode(item["entry"])
        checked = check_tlog_proof(
            proof, log_key=LOG_SIGNER.verifier, entry=entry, policy=policy, now=1_800_000_030
        )
        assert checked.entry == entry == proof.extra
        assert checked.witnessed.state == "witnessed"
    assert open_checkpoint(proof.checkpoint, LOG_SIGNER.verifier).checkpoint.size == log.size


def test_unknown_and_malformed_event_ids(client):
    r = client.get(f"/events/{'ab' * 32}/proof.tlog-proof")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert (
        client.get("/events/XYZ/proof.tlog-proof").status_code == 400
    )  # the app maps request validation to 400
