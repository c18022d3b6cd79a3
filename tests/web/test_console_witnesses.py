"""The console's health page, GET /ledger/health and GET /ledger/witnesses: each witness of
FARMTRACE_WITNESSES, its last cosigned size and time, and a warning when one falls behind (issue 16,
part 2).

A witness that is down (nothing listens on its port) is the case to warn about: the submitter
records the failure, and once the latest checkpoint is over a minute old without its cosignature
the witness counts as behind, in both languages.
"""

from __future__ import annotations

import socket
import time
from datetime import timedelta

from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.demo import run_demo
from farmtrace.api.settings import Settings
from farmtrace.client import PartyKey
from farmtrace.ledger.note import CosignatureSigner

from ..clock_support import PINNED_AT
from .consumer_support import LOG_SIGNER


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_witness_that_is_down_is_shown_and_warned_about(tmp_path, clock):
    witness = CosignatureSigner.from_seed("witness.changsha.example/down", bytes(range(32)))
    url = f"http://127.0.0.1:{_closed_port()}"
    settings = Settings.from_env(
        {"FARMTRACE_WITNESSES": f"{url} {witness.verifier.key_string()}"},
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
    )
    app = create_app(settings, clock=clock)
    run_demo(app.state.service, tmp_path / "keys")
    cookie = {"Cookie": f"ft_token={PartyKey.load(tmp_path / 'keys' / 'regulator.key').token(now=PINNED_AT)}"}
    with TestClient(app) as client:
        deadline = time.monotonic() + 10
        while not (status := client.get("/ledger/witnesses").json())[0]["last_error"]:
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
        (w,) = status
        assert (w["name"], w["url"], w["cosigned_size"], w["behind"]) == (witness.name, url, None, False)
        page = client.get("/console", headers=cookie).text
        assert 'data-witness="witness.changsha.example/down" data-behind="false"' in page
        assert "尚未联署" in page and "最近一次提交失败" in page
        # GET /ledger/health carries the same list, with the rest of the ledger's health.
        health = client.get("/ledger/health").json()
        assert health["witness_status"] == client.get("/ledger/witnesses").json()
        clock.advance(timedelta(minutes=2))
        assert client.get("/ledger/witnesses").json()[0]["behind"] is True
        (w,) = client.get("/ledger/health").json()["witness_status"]
        assert (w["name"], w["behind"], w["cosigned_size"]) == (witness.name, True, None)
        assert w["last_error"].startswith("ConnectionRefusedError")
        page = client.get("/console", headers=cookie).text
        assert 'data-behind="true"' in page and "落后：最新检查点超过一分钟未获联署" in page
        page = client.get("/console?lang=en", headers=cookie).text
        assert "behind: the latest checkpoint is over a minute old and not cosigned" in page
        assert "never cosigned" in page


def test_without_witnesses_configured_the_list_is_empty(tmp_path, clock):
    settings = Settings.from_env(
        {},
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        assert client.get("/ledger/witnesses").json() == []
        assert client.get("/ledger/health").json()["witness_status"] == []
