"""The consumer page, current and witnessed, with real processes (issue 17 §3).

Three `farmtrace witness serve` processes (tests/api/test_witness_processes.py's WitnessProcess);
a served log (FARMTRACE_WITNESSES, quorum 2, max age MAX_AGE seconds) that submits each checkpoint
to them; the demo recorded through it; Chromium opens the bag's page. While the witnesses cosign,
the page says "Verified" and when the record was last witnessed. Then the witnesses are killed,
MAX_AGE passes, and the same page says the record may be out of date: neither verified nor a crash.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from farmtrace.api.app import create_app
from farmtrace.api.demo import run_demo
from farmtrace.api.settings import Settings
from farmtrace.ledger.policy import check_witnessed
from farmtrace.ledger.tlog_proof import check_tlog_proof, parse_tlog_proof

from ..api.test_witness_processes import LOG, _wait, witnesses  # noqa: F401 - the fixture
from .browser_support import ARTIFACTS, new_context, settle
from .consumer_support import close_app, free_port, live_server

MAX_AGE = 20


def _cst(t: int) -> str:
    return (datetime.fromtimestamp(t, UTC) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


@pytest.mark.browser
def test_the_page_is_witnessed_then_stale_when_the_witnesses_are_gone(witnesses, tmp_path, browser):  # noqa: F811
    ws = witnesses
    port = free_port()
    settings = Settings.from_env(
        {
            "FARMTRACE_WITNESSES": ",".join(f"{w.url} {w.signer.verifier.key_string()}" for w in ws),
            "FARMTRACE_WITNESS_QUORUM": "2",
            "FARMTRACE_WITNESS_MAX_AGE": str(MAX_AGE),
        },
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        log_key=LOG.key_string(),
        log_origin=LOG.name,
        public_url=f"http://127.0.0.1:{port}",
    )
    app = create_app(settings)
    policy = settings.witness_policy()
    run_demo(app.state.service, tmp_path / "keys")
    app.state.witnessing.start()  # the lifespan would; live_server runs without it
    try:
        log = app.state.log

        def witnessed():
            got = check_witnessed(log.checkpoint().note_with_cosignatures(), policy, now=int(time.time()))
            return got if len(got.cosigned) == 3 else None

        with live_server(app, port) as url:
            page = new_context(browser).new_page()
            quorum_at = _wait(witnessed, "three cosignatures on the latest checkpoint", timeout=30).quorum_at
            page.goto(f"{url}/l/XF-BAG-0001?lang=en")
            settle(page, 20_000)
            assert _state(page, "verified") == [], page.inner_text("#verify")
            line = page.inner_text(".verify-witnessed")
            assert line == f"Last witnessed {_cst(quorum_at)} by 3 independent witnesses"
            result = page.evaluate("window.farmtraceVerification")
            assert (
                result["witnessed"]["state"] == "witnessed" and result["witnessed"]["quorumAt"] == quorum_at
            )
            page.screenshot(path=str(_artifact("witnessed")), full_page=True)
            # Each step links its offline proof (docs/tlog-proof.md), which checks with the keys alone.
            hrefs = page.eval_on_selector_all(
                ".step .step-proof", "els => els.map((e) => e.getAttribute('href'))"
            )
            ids = [e["id"] for e in app.state.service.journey_bundle("XF-BAG-0001").to_wire()["events"]]
            assert hrefs == [f"/events/{i}/proof.tlog-proof" for i in ids]
            proof = parse_tlog_proof(page.request.get(url + hrefs[-1]).body())
            checked = check_tlog_proof(proof, log_key=LOG.verifier, policy=policy, now=int(time.time()))
            assert checked.witnessed.state == "witnessed"

            # The witnesses die; nothing cosigns any more, and the max age passes on the phone's clock
            # (the page judges the age by Date.now(): the clock is set instead of waiting MAX_AGE s).
            for w in ws:
                w.kill()
            page.clock.set_fixed_time(max(time.time(), quorum_at + MAX_AGE + 1.5))
            page.goto(f"{url}/l/XF-BAG-0001?lang=en")
            settle(page, 20_000)
            assert _state(page, "stale") == ["checkpoint.stale"], page.inner_text("#verify")
            assert page.inner_text(".verify-witnessed") == line  # when it was last witnessed, still
            page.screenshot(path=str(_artifact("stale")), full_page=True)

            # In Chinese the same state reads in Chinese.
            page.goto(f"{url}/l/XF-BAG-0001?lang=zh")
            settle(page, 20_000)
            assert _state(page, "stale") == ["checkpoint.stale"]
            assert page.inner_text(".verify-witnessed") == f"最近见证：{_cst(quorum_at)}（3 个独立见证方）"
    finally:
        app.state.witnessing.stop()
        close_app(app)


def _state(page, state: str) -> list[str]:
    """The failure codes the page reports, the index's aside; and, when the index is not among them,
    the page's state must be `state` (with its heading and, for stale, the time last witnessed).

    The head index (issue 17 §2) is built by another part of the work: while a journey carries no
    index, its `index.*` failure decides the page's state, and only the witness codes are compared."""
    failures = [f["reason"] for f in page.evaluate("window.farmtraceVerification.failures")]
    ours = [f for f in failures if not f.startswith("index.")]
    if ours == failures:
        assert page.get_attribute("#verify", "data-state") == state
        if state == "stale":
            heading = page.inner_text("#verify h2")
            assert heading in ("Signatures checked, possibly out of date", "签名已核对，记录可能过时")
            assert page.inner_text(".verify-detail").count("(UTC+8)") == 1
    return ours


def _artifact(name: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"witnessed-page-{name}.png"
