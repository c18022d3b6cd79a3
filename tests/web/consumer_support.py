"""What the consumer-page tests share: a demo app and a live server for Chromium.

The browser side (Chromium, phones, verify_page) is tests/web/browser_support.py; its names used to
live here and are still importable from here.
"""

from __future__ import annotations

import hashlib
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from farmtrace.api.app import create_app
from farmtrace.api.demo import run_demo
from farmtrace.api.settings import Settings
from farmtrace.client import PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME
from farmtrace.ledger.note import Signer
from farmtrace.trace.index_keeper import IndexKeeper

from .browser_support import (  # noqa: F401 - their old home: other modules import them from here
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    REPO,
    chromium,
    require_chromium,
    screenshot,
)

LOG_SIGNER = Signer.from_seed("farmtrace.local/log", bytes(range(32)))


def demo_app(tmp_path: Path, *, port: int | None = None, clock=None):
    """A fresh app on SQLite in `tmp_path`, filled with api/demo.py's scenario: (app, demo result).

    With `port`, the public URL (what labels encode) is http://127.0.0.1:PORT, where `live_server`
    will serve it. With `clock` (tests/clock_support.PinnedClock), the app reads the time only from
    it, and the demo's stories end at its time.
    """
    settings = Settings.from_env(
        {},
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
        public_url=f"http://127.0.0.1:{port}" if port else "http://127.0.0.1:8000",
    )
    app = create_app(settings, clock=clock)
    result = run_demo(app.state.service, tmp_path / "keys")
    # The head index's entry over the whole demo (issue 17 §2), so its journeys prove completeness.
    IndexKeeper(app.state.service.log, clock=time.time, lag=0).commit_due()
    return app, result


def close_app(app) -> None:
    app.state.log.close(close_store=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(app, port: int | None = None):
    """Serve `app` over HTTP on 127.0.0.1 (a secure context for WebCrypto) in a thread; yield its URL."""
    import uvicorn

    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class Served:
    """A demo app served over HTTP: its base URL, the app, and its data directory (db.sqlite, keys/)."""

    url: str
    app: object
    data: Path

    @property
    def db(self) -> Path:
        return self.data / "db.sqlite"


@contextmanager
def served_demo(data: Path, *, clock=None) -> Iterator[Served]:
    """demo_app in `data`, served by live_server at the port its labels name; closed on exit."""
    port = free_port()
    app, _ = demo_app(data, port=port, clock=clock)
    try:
        with live_server(app, port) as url:
            yield Served(url, app, data)
    finally:
        close_app(app)


# Text a party typed, meant to run as script if a page forgot to escape it.
INJECTED = {
    "name": "<script>window.__pwned=1</script>张记农场",
    "place": '<img src=x onerror="window.__pwned=2">',
    "product": '"><svg onload=window.__pwned=3>',
    "field": "</script><script>window.__pwned=4</script>",
    "reason": "<img src=x onerror=window.__pwned=5> 农残超标",
}
INJECTED_LOT = "EVIL-0001"


def add_injected_lot(app, key_dir: Path) -> str:
    """Register a farm whose texts are script-injection attempts, harvest a lot and recall it.

    Every event is genuine (signed by the farm, or the demo's regulator): escaping, not the
    verifier, is what must keep these texts inert.
    """
    service = app.state.service
    regulator = PartyKey.load(key_dir / "regulator.key")
    farm = PartyKey.generate("F430124-000999")
    now = app.state.clock().astimezone(CHINA_STANDARD_TIME).replace(microsecond=0)

    def record(key: PartyKey, minutes_ago: int, wire: dict) -> None:
        wire = {"inputs": [], "outputs": [], **wire}
        wire["event_time"] = (now - timedelta(minutes=minutes_ago)).isoformat()
        service.record(key.sign(wire))

    party = {
        "id": farm.party,
        "id_type": "farmer_reg",
        "name_zh": INJECTED["name"],
        "roles": ["producer"],
        "address": INJECTED["place"],
        "keys": [farm.public_record_key()],
        "contact_commitment": hashlib.sha256(b"kept off the ledger").hexdigest(),
    }
    record(
        regulator,
        30,
        {"kind": "party.register", "location": {"name": "登记窗口"}, "detail": {"party": party}},
    )
    output = {
        "lot": INJECTED_LOT,
        "quantity": "10",
        "unit": "kg",
        "product": {"name_zh": INJECTED["product"]},
    }
    record(
        farm,
        20,
        {
            "kind": "harvest",
            "location": {"name": INJECTED["place"]},
            "outputs": [output],
            "price": {"amount": "3", "currency": "CNY", "unit": "jin", "stage": "production"},
            "detail": {"origin": {"name": INJECTED["field"]}},
        },
    )
    head = service.lot_summary(INJECTED_LOT).head
    record(
        regulator,
        10,
        {
            "kind": "recall",
            "location": {"name": "市场监督管理局"},
            "inputs": [{"lot": INJECTED_LOT, "quantity": "10", "unit": "kg", "follows": [head]}],
            "detail": {"reason": INJECTED["reason"], "instructions": INJECTED["field"]},
        },
    )
    return INJECTED_LOT


def edit_entry(db: Path, index: int, edit) -> bytes:
    """Rewrite ledger entry `index` in the SQLite file behind the service's back; return the original."""
    with sqlite3.connect(db) as conn:
        (entry,) = conn.execute("SELECT entry FROM ledger_entry WHERE idx = ?", (index,)).fetchone()
        conn.execute("UPDATE ledger_entry SET entry = ? WHERE idx = ?", (edit(bytes(entry)), index))
    conn.close()
    return bytes(entry)
