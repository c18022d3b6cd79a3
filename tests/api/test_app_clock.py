"""One clock per app: `create_app(settings, clock=...)` is the only source of the current time.

Each check moves the pinned clock (tests/clock_support.py) to two instants days apart: the machine's
own clock can match at most one of them, so a page or route that still read it would fail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from farmtrace.api.demo import PARTIES, run_demo
from farmtrace.client import PartyKey
from farmtrace.trace.clock import CST, utc_now

from ..clock_support import AWKWARD_INSTANTS, PINNED_AT

YEAR_END = AWKWARD_INSTANTS["year boundary"]  # 2027-01-01 07:30 CST


def _demo(pinned_app, tmp_path):
    app = pinned_app()
    run_demo(app.state.service, tmp_path / "keys")
    keys = {name: PartyKey.load(tmp_path / "keys" / f"{name}.key") for name in PARTIES}
    return app, keys


def test_the_app_service_log_and_audit_runner_share_the_one_clock(pinned_app, clock, tmp_path):
    app, _ = _demo(pinned_app, tmp_path)
    assert app.state.clock is clock and app.state.service.clock is clock
    assert app.state.audit_job.clock is clock
    # The log signs its checkpoints at the app's time, which the console's health page shows.
    assert app.state.log.checkpoint().signed_at == PINNED_AT.timestamp()
    # The demo's stories end at the app's time, not the machine's.
    times = [
        datetime.fromisoformat(e.event["event_time"])
        for e in app.state.service.journey_bundle("XF-BAG-0001").events
    ]
    assert PINNED_AT - timedelta(days=3) <= min(times) and max(times) <= PINNED_AT


def test_an_app_without_a_clock_reads_the_machines(tmp_path):
    from farmtrace.api.app import create_app
    from farmtrace.api.settings import Settings

    app = create_app(Settings.from_env({}, data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'db'}"))
    try:
        assert app.state.clock is utc_now and app.state.service.clock is utc_now
    finally:
        app.state.log.close(close_store=True)


def test_epcis_documents_are_created_at_the_apps_time(pinned_app, clock, tmp_path):
    app, keys = _demo(pinned_app, tmp_path)
    event_id = app.state.service.journey_bundle("XF-BAG-0001").events[0].id
    regulator = {"Authorization": f"FarmTrace {keys['regulator'].token(now=YEAR_END)}"}
    with TestClient(app) as client:
        for at in (PINNED_AT, YEAR_END):
            clock.set(at)
            created = at.isoformat(timespec="milliseconds")
            assert client.get("/lots/XF-BAG-0001/epcis").json()["creationDate"] == created
            assert client.get(f"/events/{event_id}/epcis").json()["creationDate"] == created
        # The regulator's exports too (the token is checked against the same clock).
        params = {"since": "2026-11-01T00:00:00+08:00", "until": "2027-01-02T00:00:00+08:00"}
        r = client.get("/exports/events.jsonld", params=params, headers=regulator)
        assert r.status_code == 200, r.text
        assert r.json()["creationDate"] == YEAR_END.isoformat(timespec="milliseconds")


def test_tokens_expire_by_the_apps_clock(pinned_app, clock, tmp_path):
    app, keys = _demo(pinned_app, tmp_path)
    token = keys["regulator"].token(now=PINNED_AT, lifetime=600)
    with TestClient(app) as client:
        assert client.get("/parties/applications", headers={"Authorization": f"FarmTrace {token}"}).is_success
        clock.advance(timedelta(seconds=600))
        r = client.get("/parties/applications", headers={"Authorization": f"FarmTrace {token}"})
        assert r.status_code == 403 and "expired" in r.json()["detail"]


def test_audit_runs_are_timed_by_the_apps_clock(pinned_app, clock, tmp_path):
    app, _ = _demo(pinned_app, tmp_path)
    clock.set(YEAR_END)
    app.state.audit_job.start(requested_by="test")
    app.state.audit_job.wait(60)
    last = app.state.audit_job.status()["last"]
    assert last["ok"] is True
    assert last["started_at"] == last["finished_at"] == "2026-12-31T23:30:00+00:00"


def test_the_portal_suggests_codes_with_todays_date_in_china(pinned_app, clock, tmp_path):
    app, keys = _demo(pinned_app, tmp_path)
    with TestClient(app) as client:
        # 23:30 UTC on 6 December is the 7th in China; 23:30 UTC on 31 December is 1 January 2027.
        for at, day in ((PINNED_AT, "261207"), (YEAR_END, "270101")):
            clock.set(at)
            client.cookies.set("ft_token", keys["coop"].token(now=at))
            page = client.get("/portal/harvest").text
            assert f'value="H-{day}-' in page, page[:300]
            client.cookies.set("ft_token", keys["lab"].token(now=at))
            assert f'value="KJ-{day}-' in client.get("/portal/inspect").text


def test_the_console_takes_today_from_the_apps_clock(pinned_app, clock, tmp_path):
    app, keys = _demo(pinned_app, tmp_path)
    with TestClient(app) as client:
        for at, today in ((PINNED_AT, "2026-12-07"), (YEAR_END, "2027-01-01")):
            clock.set(at)
            cookie = {"Cookie": f"ft_token={keys['regulator'].token(now=at)}"}
            page = client.get("/console/exports", headers=cookie).text
            assert f'name="until" value="{today}"' in page
            # The health page shows when the log signed its latest checkpoint, in China's time.
            signed = datetime.fromtimestamp(app.state.log.checkpoint().signed_at, UTC).astimezone(CST)
            assert signed.strftime("%Y-%m-%d %H:%M") in client.get("/console", headers=cookie).text
