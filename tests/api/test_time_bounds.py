"""Times and days from a query are refused outside the years the service handles (trace/clock.py's
MIN_YEAR..MAX_YEAR) with a 400 naming the field, never a 500; and any unexpected error is a 500
application/problem+json that leaks nothing and is logged.

The crafted values are the ones that once overflowed Python's datetime (year 1 at +14:00 is before
datetime.min in UTC; 9999-12-31 at -14:00 is after datetime.max; a CST day of 9999-12-31 has no
next day), on every route that takes a time or a day: the public /prices, the regulator's
/anomalies and /exports/events.*, and the console's anomaly, price and export-range pages.
"""

from __future__ import annotations

import logging

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from farmtrace.client import PartyKey

from ..clock_support import PINNED_AT, PinnedClock
from ..web.consumer_support import demo_app

EARLY = "0001-01-01T00:00:00+14:00"  # before datetime.min once in UTC
LATE = "9999-12-31T23:59:59-14:00"  # after datetime.max once in UTC
OK = "2026-11-20T00:00:00+08:00"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bounds")
    app, _ = demo_app(tmp, clock=PinnedClock(PINNED_AT))
    key = PartyKey.load(tmp / "keys" / "regulator.key")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, {"Cookie": f"ft_token={key.token(now=PINNED_AT)}"}  # the log closes with the app


def _problem(r, field: str) -> dict:
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 400 and body["field"] == field, body
    return body


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": EARLY}, "since"),
        ({"until": LATE}, "until"),
        ({"since": OK, "until": LATE}, "until"),
        ({"since": "1969-12-31T23:59:59+00:00"}, "since"),
        ({"until": "9999-01-01T00:00:00+08:00"}, "until"),
    ],
)
def test_prices_refuse_times_outside_the_years_handled(site, params, field):
    client, _ = site
    body = _problem(client.get("/prices", params=params), field)
    assert "1970" in body["detail"] and "9998" in body["detail"]


def test_prices_accept_the_edges_of_the_years_handled(site):
    client, _ = site
    params = {"since": "1970-01-01T00:00:00+00:00", "until": "9998-12-31T23:59:59-14:00"}
    assert client.get("/prices", params=params).status_code == 200


@pytest.mark.parametrize(("params", "field"), [({"since": EARLY}, "since"), ({"until": LATE}, "until")])
def test_anomalies_refuse_times_outside_the_years_handled(site, params, field):
    client, regulator = site
    _problem(client.get("/anomalies", params=params, headers=regulator), field)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": EARLY, "until": OK}, "since"),
        ({"since": "9999-12-31T00:00:00+08:00", "until": LATE}, "since"),
    ],
)
def test_event_exports_refuse_times_outside_the_years_handled(site, params, field):
    client, regulator = site
    _problem(client.get("/exports/events.csv", params=params, headers=regulator), field)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/console/anomalies", {"since": "0001-01-01"}, "since"),
        ("/console/anomalies", {"until": "9999-12-31"}, "until"),
        ("/console/prices", {"since": "0001-01-01", "until": "9999-12-31"}, "since"),
        ("/console/prices", {"until": "9999-12-31"}, "until"),
        ("/console/exports/range", {"since": "9999-12-31", "until": "9999-12-31", "fmt": "csv"}, "since"),
        ("/console/exports/range", {"since": "2026-11-01", "until": "9999-12-31", "fmt": "csv"}, "until"),
    ],
)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_console_pages_refuse_days_outside_the_years_handled(site, path, params, field, lang):
    client, regulator = site
    r = client.get(path, params={**params, "lang": lang}, headers=regulator, follow_redirects=False)
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    label = {"zh": {"since": "开始日期", "until": "结束日期"}, "en": {"since": "From", "until": "To"}}[lang][
        field
    ]
    out_of_range = {"zh": "超出范围", "en": "out of range"}[lang]
    assert label in r.text and out_of_range in r.text and "1970" in r.text and "9998" in r.text


def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing_and_is_logged(site, caplog):
    client, _ = site
    router = APIRouter()

    @router.get("/__test_boom")
    def boom():
        raise RuntimeError("secret internals at /srv/farmtrace/db.sqlite")

    client.app.include_router(router)
    with caplog.at_level(logging.ERROR):
        r = client.get("/__test_boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 500 and body["type"].endswith("/problems/internal-error")
    assert body["title"] and body["detail"]
    assert "secret" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    logged = [rec for rec in caplog.records if rec.exc_info and rec.exc_info[0] is RuntimeError]
    assert logged and "/__test_boom" in logged[0].getMessage()
    # The problem type is documented like every other, in both languages.
    page = client.get("/problems/internal-error", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Internal error" in page.text and "服务器内部错误" in page.text
