"""Smoke test of an installed farmtrace: one request to every family of routes, over the Changsha demo.

    python scripts/smoke.py             with the Python of the environment to check

CI runs it in a virtual environment made with `pip install .` (no extras, not editable: .ci/run), so a
module that is only installed by the test extra, or a file missing from the wheel, fails here rather
than in a user's first XLSX export. It builds the app over a new SQLite data directory in a temporary
folder, records the demo, and asks each route below through FastAPI's TestClient. Exit status 0 when
every answer is the expected one; 1 otherwise, with one line per failure (and a traceback for a
failure to import or start).

Run it from any directory but the repository's root (there, the folder `trace/` shadows the standard
library, and Python would import the source tree instead of the installed package); its own folder,
scripts/, is what `python scripts/smoke.py` puts first on the path.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

LOT = "XF-BAG-0001"  # the demo's 1 kg bag of cabbage


def routes(journey_event: str, party: str) -> list[tuple[str, str, str]]:
    """(family, path, who) for every family of routes; who: "public", "regulator" or "party" (the shop)."""
    # The demo's events lie in the last few days; an export needs an explicit range.
    now = datetime.now(UTC)
    week = urlencode({"since": (now - timedelta(days=7)).isoformat(), "until": (now + timedelta(days=1)).isoformat()})
    return [
        ("ledger", "/ledger/checkpoint", "public"),
        ("ledger", "/ledger/key", "public"),
        ("ledger", "/ledger/proof/inclusion?index=0&size=2", "public"),
        ("ledger", "/ledger/proof/consistency?from=1&to=2", "public"),
        ("ledger", "/ledger/entries?start=0&limit=3", "public"),
        ("ledger", "/ledger/health", "public"),
        ("log tiles", "/log/checkpoint", "public"),  # C2SP tlog-tiles (docs/tiles.md)
        ("log tiles", "/log/tile/0/000.p/1", "public"),
        ("log tiles", "/log/tile/entries/000.p/1", "public"),
        ("events", f"/events/{journey_event}", "public"),
        ("epcis", f"/events/{journey_event}/epcis", "public"),
        ("lots", f"/lots/{LOT}", "public"),
        ("lots", f"/lots/{LOT}/trace?direction=both", "public"),
        ("journey", f"/lots/{LOT}/journey", "public"),
        ("epcis", f"/lots/{LOT}/epcis", "public"),
        ("labels", f"/lots/{LOT}/label.png", "public"),
        ("labels", f"/lots/{LOT}/label.svg", "public"),
        ("labels", f"/lots/{LOT}/labels.pdf", "public"),
        ("parties", "/parties", "public"),
        ("parties", f"/parties/{party}", "public"),
        ("parties", f"/parties/{party}/private", "regulator"),
        ("parties", "/parties/applications", "regulator"),
        ("prices", "/prices", "public"),
        ("recall", f"/lots/{LOT}/recall", "regulator"),
        ("anomalies", "/anomalies", "regulator"),
        ("exports", f"/exports/events.csv?{week}", "regulator"),
        ("exports", f"/exports/events.xlsx?{week}", "regulator"),
        ("exports", f"/exports/events.jsonld?{week}", "regulator"),
        ("exports", f"/lots/{LOT}/export.csv", "regulator"),
        ("exports", f"/lots/{LOT}/export.xlsx", "regulator"),
        ("pages", "/", "public"),
        ("pages", f"/l/{LOT}", "public"),
        ("console", "/console", "regulator"),
        ("console", "/console/parties", "regulator"),
        ("console", f"/console/lots/{LOT}", "regulator"),
        ("console", "/console/prices", "regulator"),
        ("console", "/console/anomalies", "regulator"),
        ("console", "/console/exports", "regulator"),
        ("portal", "/portal", "public"),
        ("portal", "/portal/enroll", "public"),
        ("portal", "/portal/lots", "party"),
        ("portal", f"/portal/labels/{LOT}", "party"),
        ("docs", "/docs", "public"),
        ("docs", "/openapi.json", "public"),
    ]


def main() -> int:
    started = time.monotonic()
    # 1. Everything below must import from the installed package: a missing dependency fails here.
    from fastapi.testclient import TestClient

    import farmtrace.api
    from farmtrace.api.app import create_app
    from farmtrace.api.demo import PARTIES, run_demo
    from farmtrace.api.settings import Settings
    from farmtrace.client import Client, ClientError, PartyKey

    where = Path(farmtrace.api.__file__).resolve().parent
    print(f"smoke: farmtrace from {where}")
    with tempfile.TemporaryDirectory(prefix="farmtrace-smoke-") as tmp:
        # 2. A new ledger in a temporary data directory, filled with the demo.
        data = Path(tmp) / "data"
        settings = Settings.from_env({"FARMTRACE_DATA_DIR": str(data)})
        app = create_app(settings)
        keys = data / "demo-keys"
        run_demo(app.state.service, keys)
        tokens = {
            "regulator": PartyKey.load(keys / "regulator.key").token(),
            "party": PartyKey.load(keys / "shop.key").token(),
        }
        failures: list[str] = []
        with TestClient(app) as client:
            # 3. One request per route; every answer must be 200.
            journey = client.get(f"/lots/{LOT}/journey")
            if journey.status_code != 200:
                print(f"smoke: FAILED: GET /lots/{LOT}/journey answered {journey.status_code}")
                return 1
            event_id = journey.json()["events"][0]["id"]
            party = PARTIES["coop"][0]
            for family, path, who in routes(event_id, party):
                headers = {} if who == "public" else {"Authorization": f"FarmTrace {tokens[who]}"}
                try:
                    answer = client.get(path, headers=headers)
                except Exception as exc:  # the app's own failure, raised through the TestClient
                    failures.append(f"{family}: GET {path} ({who}) raised {type(exc).__name__}: {exc}")
                    continue
                if answer.status_code != 200:
                    failures.append(f"{family}: GET {path} ({who}) answered {answer.status_code}: {answer.text[:200]}")
            # 4. Recording: the cooperative signs a harvest and posts it (POST /events).
            coop = Client(http=client, key=PartyKey.load(keys / "coop.key"))
            harvest = {
                "kind": "harvest",
                "location": {"name": "金洲镇 3 号基地"},
                "outputs": [{"lot": "SMOKE-0001", "quantity": "300", "unit": "kg", "product": {"name_zh": "包菜"}}],
                "detail": {"origin": {"name": "金洲镇 3 号基地"}},
            }
            try:
                coop.record(harvest)
            except ClientError as exc:
                failures.append(f"events: POST /events refused the cooperative's harvest: {exc}")
    for line in failures:
        print(f"smoke: FAILED: {line}")
    count = len(routes("x", "x")) + 2  # and the journey and the harvest
    print(f"smoke: {count - len(failures)} of {count} requests answered as expected in {time.monotonic() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
