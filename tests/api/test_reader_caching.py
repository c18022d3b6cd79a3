"""api/reader_caching.py: an answer that depends on who reads it says so to caches (docs/visibility.md).

A regulator's or a party's view, read with the header or with the browser's cookie, is `private,
no-store`; every such answer, the public's too, varies by `Authorization` and `Cookie`; answers that
never look at credentials are left alone."""

from __future__ import annotations

import pytest

from farmtrace.api.demo import PARTIES, run_demo
from farmtrace.client import PartyKey

LOT = "MWD-LJ-02"  # a market's lot, sold on to a stall: its holders are custody


@pytest.fixture
def regulator(client, tmp_path) -> PartyKey:
    run_demo(client.app.state.service, tmp_path / "keys")
    assert "regulator" in PARTIES
    return PartyKey.load(tmp_path / "keys" / "regulator.key")


def _vary(r) -> set[str]:
    return {v.strip() for v in r.headers.get("vary", "").split(",") if v.strip()}


@pytest.mark.parametrize(
    "path", [f"/lots/{LOT}", f"/lots/{LOT}/trace", f"/lots/{LOT}/epcis", "/epcis/events"]
)
def test_answers_that_depend_on_the_reader_are_marked(client, regulator, path):
    public = client.get(path)
    assert public.status_code == 200 and {"Authorization", "Cookie"} <= _vary(public)
    assert "private" not in public.headers.get("cache-control", "")
    signed = client.get(path, headers={"Authorization": f"FarmTrace {regulator.token()}"})
    assert signed.status_code == 200 and {"Authorization", "Cookie"} <= _vary(signed)
    assert signed.headers["cache-control"] == "private, no-store"
    client.cookies.set("ft_token", regulator.token())  # a browser's read: the same
    cookie = client.get(path)
    assert cookie.headers["cache-control"] == "private, no-store" and "Cookie" in _vary(cookie)
    head = client.head(path)
    assert head.headers["cache-control"] == "private, no-store"
    client.cookies.clear()
    if path == f"/lots/{LOT}":
        assert public.json()["holders"] == {} and signed.json()["holders"] != {}


def test_answers_that_never_read_credentials_are_left_alone(client, regulator):
    r = client.get("/ledger/checkpoint", headers={"Authorization": f"FarmTrace {regulator.token()}"})
    assert r.status_code == 200 and "Cookie" not in _vary(r) and "cache-control" not in r.headers
