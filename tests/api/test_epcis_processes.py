"""EPCIS query, subscriptions, the resolver and per-audience views, between separate processes (issue 18).

A platform (`farmtrace serve` over the demo's ledger, its own SQLite file, allowed to deliver
webhooks to loopback), the cooperative's `farmtrace gateway` (its own database) and a subscriber (an
HTTP server in this test's process) talk over loopback:
- the market subscribes to shipments; the coop's ERP captures a harvest and a shipment to the market
  through its gateway; the subscriber is sent the shipment, signed (GS1-Signature), exactly what the
  market's own query answers;
- the same shipment is shown, by GET /epcis/events, to the coop, the market and the regulator, and
  not to the public or the shop (docs/visibility.md); the lot's trace shows holders the same way;
- the lot's Digital Link answers as a GS1 resolver: its linkset names its EPCIS events, which the
  platform serves; a bad check digit is a 400 naming the GTIN.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from farmtrace.client import PartyKey
from farmtrace.trace.epcis import party_uri

from .test_gateway_processes import MARKET, _capture, _document, _harvest_as, _job, _now
from .test_mirror_processes import _Process, _run
from .test_witness_processes import _free_port

TOKEN = "a shared secret of the market's"


class _Subscriber:
    """An HTTP server that keeps every POST: (headers, body)."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, str], bytes]] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                seen.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/epcis-in"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def processes(tmp_path_factory) -> Any:
    tmp = tmp_path_factory.mktemp("epcis")
    data = tmp / "platform"
    env = {**os.environ, "FARMTRACE_DATA_DIR": str(data), "FARMTRACE_VERIFY_WORKERS": "0"}
    env["FARMTRACE_WEBHOOK_PRIVATE"] = "1"  # the subscriber listens on loopback
    env.pop("FARMTRACE_DATABASE_URL", None)
    # The platform names itself by the address it binds: a FARMTRACE_PUBLIC_URL left in this worker's
    # environment (an in-process `serve` sets it) would point its links at another port.
    env.pop("FARMTRACE_PUBLIC_URL", None)
    assert _run("demo", env=env).returncode == 0
    port, gport = _free_port(), _free_port()
    platform = _Process(["serve", "--port", str(port)], env, port, tmp / "platform.out")
    argv = ["gateway", "--key", str(data / "demo-keys" / "coop.key"), "--platform", platform.url]
    gateway = _Process([*argv, "--db", str(tmp / "gateway.db"), "--listen", f"127.0.0.1:{gport}"],
                       env, gport, tmp / "gateway.out")  # fmt: skip
    subscriber = _Subscriber()
    try:
        platform.wait_ready("/ledger/checkpoint")
        gateway.wait_ready("/capture")
        yield platform, gateway, subscriber, data / "demo-keys"
    finally:
        subscriber.close()
        gateway.kill()
        platform.kill()


def _as(platform: _Process, keys: Path, name: str | None) -> dict[str, str]:
    if name is None:
        return {}
    origin = httpx.get(f"{platform.url}/ledger/key", timeout=10).text.strip().split("+", 1)[0]
    key = PartyKey.load(keys / f"{name}.key")
    return {"Authorization": f"FarmTrace {key.token(origin=origin)}"}


def _certificate_of(platform: _Process, lot: str) -> dict[str, Any]:
    """The demo's 合格证 for its cabbage harvest, exported by the platform, as one for `lot`, now."""
    exported = httpx.get(f"{platform.url}/lots/NX-BC-1120/epcis", timeout=10).json()["epcisBody"]["eventList"]
    [certify] = [e for e in exported if "farmtrace:certificate" in e]
    number = certify["farmtrace:certificate"]["certificate_no"]
    text = json.dumps(certify, ensure_ascii=False).replace("NX-BC-1120", lot).replace(number, f"HGZ-T-{lot}")
    certify = json.loads(text) | {"eventTime": _now(), "eventID": f"urn:example:event:certify-{lot}"}
    for key in ("recordTime", "farmtrace:eventId"):
        certify.pop(key)
    return certify


def _events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def test_subscription_query_and_audiences_across_processes(processes) -> None:
    platform, gateway, subscriber, keys = processes
    market = _as(platform, keys, "market")
    # The market's ERP watches shipments, signed with a token of its own.
    query = {"name": "shipments", "query": {"EQ_bizStep": ["shipping"]}}
    made = httpx.post(f"{platform.url}/epcis/queries", json=query, headers=market, timeout=10)
    assert made.status_code == 201, made.text
    body = {"dest": subscriber.url, "stream": True, "signatureToken": TOKEN}
    made = httpx.post(f"{platform.url}/epcis/queries/shipments/subscriptions", json=body, headers=market,
                      timeout=10)  # fmt: skip
    assert made.status_code == 201, made.text

    # The coop's ERP sends a harvest and its shipment to the market through the coop's gateway.
    doc, harvest = _harvest_as(platform, "NX-BC-9301")
    certify = _certificate_of(platform, "NX-BC-9301")  # 准出: no shipment leaves the farm without one
    lot = [{"epcClass": "urn:farmtrace:lot:NX-BC-9301", "quantity": 200, "uom": "KGM"}]
    ship = {"type": "ObjectEvent", "eventID": "urn:example:event:ship-9301", "eventTime": _now(),
            "eventTimeZoneOffset": "+08:00", "action": "OBSERVE", "quantityList": lot, "bizStep": "shipping",
            "readPoint": {"id": "geo:28.2458,112.5512"},
            "destinationList": [{"type": "owning_party", "destination": party_uri(MARKET)}]}  # fmt: skip
    job = _job(gateway, _capture(gateway, _document(doc, [harvest, certify, ship])))
    assert job["success"] is True, job["errors"]
    shipped = job["farmtrace:events"][2]["eventId"]

    # The subscriber is sent the shipment, signed; what it is sent is what the market's query answers.
    deadline = time.monotonic() + 30
    while not any(shipped.encode() in b for _, b in subscriber.seen):
        assert time.monotonic() < deadline, f"{len(subscriber.seen)} deliveries, none with the shipment"
        time.sleep(0.2)
    headers, sent = next((h, b) for h, b in subscriber.seen if shipped.encode() in b)
    assert headers["GS1-Signature"] == "sha256=" + hmac.new(TOKEN.encode(), sent, hashlib.sha256).hexdigest()
    [event] = [e for e in _events(json.loads(sent)) if e["farmtrace:eventId"] == shipped]
    asked = httpx.get(f"{platform.url}/epcis/queries/shipments/events", params={"perPage": "1000"},
                      headers=market, timeout=10)  # fmt: skip
    assert event in _events(asked.json())

    # Who is shown the shipment: its two parties and the regulator, not the public nor the shop.
    for reader, shown in (("coop", True), ("market", True), ("regulator", True), ("shop", False), (None, False)):
        r = httpx.get(f"{platform.url}/epcis/events", params={"EQ_bizStep": "shipping", "perPage": "1000"},
                      headers=_as(platform, keys, reader), timeout=10)  # fmt: skip
        assert r.status_code == 200, r.text
        assert (event["eventID"] in [e["eventID"] for e in _events(r.json())]) is shown, reader
        one = httpx.get(f"{platform.url}/events/{shipped}/epcis", headers=_as(platform, keys, reader), timeout=10)
        assert one.status_code == (200 if shown else 403), reader
    # The lot's trace: every reader sees the lot; only the coop and the regulator see its holder.
    for reader, holders in (("coop", ["coop"]), ("regulator", ["coop"]), ("shop", []), (None, [])):
        trace = httpx.get(f"{platform.url}/lots/NX-BC-9301/trace", headers=_as(platform, keys, reader),
                          timeout=10).json()  # fmt: skip
        [node] = [n for n in trace["nodes"] if n["lot"] == "NX-BC-9301"]
        assert [h["party"] for h in node["holders"]] == [PartyKey.load(keys / f"{n}.key").party for n in holders]
        assert node["holders_complete"] is (reader in ("coop", "regulator"))
    expired = httpx.get(f"{platform.url}/lots/NX-BC-9301", headers={"Authorization": "FarmTrace ft2.x.y.1.z"},
                        timeout=10)  # fmt: skip
    assert expired.status_code == 403  # credentials that do not authenticate are refused, not ignored


def test_the_resolver_across_processes(processes) -> None:
    platform, _, _, _ = processes
    link = f"{platform.url}/01/06901234567892/10/XF-BAG-0001"
    r = httpx.get(link, params={"linkType": "linkset"}, timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/linkset+json")
    [links] = r.json()["linkset"]
    [epcis] = links["https://ref.gs1.org/voc/epcis"]
    doc = httpx.get(epcis["href"], timeout=10)  # the platform's own address: the one it binds
    assert doc.status_code == 200 and doc.json()["type"] == "EPCISDocument"
    moved = httpx.get(link, params={"linkType": "gs1:epcis"}, timeout=10)
    assert moved.status_code == 307 and moved.headers["location"].startswith(epcis["href"])
    assert httpx.get(f"{platform.url}/.well-known/gs1resolver", timeout=10).json()["resolverRoot"]
    bad = httpx.get(f"{platform.url}/01/06901234567893/10/XF-BAG-0001", params={"linkType": "linkset"},
                    headers={"Accept": "application/json"}, timeout=10)  # fmt: skip
    assert bad.status_code == 400 and bad.json()["field"] == "gtin" and "check digit" in bad.json()["detail"]
