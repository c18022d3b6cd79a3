"""`farmtrace verify-lot --policy FILE [--max-age S]`: the page's witness policy, in the CLI twin.

The demo's log has no witnesses, so a policy that wants one finds its checkpoint unwitnessed (the
same code the page gives); a policy of none changes nothing; a bad policy file or a --max-age
without a policy is a usage error naming the problem.
"""

from __future__ import annotations

from farmtrace.api.cli import main as farmtrace
from farmtrace.ledger.note import CosignatureSigner
from farmtrace.ledger.policy import Policy, format_policy

from .consumer_support import close_app, demo_app, live_server

WITNESS = CosignatureSigner.from_seed("witness.test.example/w1", bytes([7]) * 32)


def test_verify_lot_holds_the_checkpoint_to_a_policy(tmp_path, capsys):
    one = tmp_path / "one.policy"
    one.write_text(format_policy(Policy.of_witnesses([WITNESS.verifier], quorum=1, max_age=None)))
    none = tmp_path / "none.policy"
    none.write_text("quorum none\n")
    bad = tmp_path / "bad.policy"
    bad.write_text("quorum of everyone\n")
    app, _ = demo_app(tmp_path)
    key = app.state.log.verifier.key_string()
    base = ["verify-lot", "XF-BAG-0001", "--key", key]
    try:
        with live_server(app) as url:
            args = [*base, "--server", url]
            assert farmtrace([*args, "--policy", str(one), "--max-age", "3600"]) == 1
            checks = capsys.readouterr().out.split("\n\n")[0]
            assert "NOT verified" in checks and "checkpoint.unwitnessed" in checks
            assert farmtrace([*args, "--policy", str(none)]) == 0
            assert "verified, 10 events" in capsys.readouterr().out
            assert farmtrace([*args, "--policy", str(bad)]) == 2
            assert "is not a witness policy" in capsys.readouterr().err
            assert farmtrace([*args, "--max-age", "60"]) == 2
            assert "--max-age needs --policy" in capsys.readouterr().err
            assert farmtrace([*args, "--policy", str(tmp_path / "missing.policy")]) != 0
            # The head index's age, as the page's FARMTRACE_INDEX_MAX_AGE: checked against this
            # machine's clock when no witness cosigned (the demo's index entry is a few seconds old,
            # or the lot's events are all newer than it).
            code = farmtrace([*args, "--index-max-age", "3600"])
            out = capsys.readouterr().out.split("\n\n")[0]
            assert "index.stale" not in out, out
            assert code == 0, out
            assert farmtrace([*args, "--index-max-age", "0"]) == 2
            assert "--index-max-age" in capsys.readouterr().err
    finally:
        close_app(app)
