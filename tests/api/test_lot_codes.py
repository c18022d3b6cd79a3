"""Every accepted lot code is the same lot in every URL: its label's URI and each of its routes.

Issue 14: the codes ".", "..", "/", "a//b" and "X/journey" were accepted; their QR links normalised to
other paths, and GET /lots/X%2Fjourney served lot X's journey. Hypothesis draws codes from the
whole lot-code alphabet; each one the parser accepts is recorded through HTTP and must come back,
as itself, from its label URI and from /lots/{code} and /lots/{code}/journey, whether its "/" is
sent as "/" or as %2F. The codes it refuses are refused at recording with the rule broken named.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from farmtrace.trace.model.canonical import wire_json
from farmtrace.trace.model.encoding import encode_entry, signing_message
from farmtrace.trace.model.ids import LOT_PAGE_WORD, is_valid_lot_code
from farmtrace.web.labels.uri import label_uri, parse_label_uri

from ..trace.story import BAG, COOP, NAMES, REGULATOR, key_id, private_key
from .test_stories import PROBLEM, World, out

BASE = "https://trace.example.cn"
GTIN = "6901234567892"

# Parts of codes: dots, dashes, page words and the rest, so that joined with "/" they reach every rule.
_parts = st.one_of(
    st.sampled_from(["", ".", "..", "...", "journey", "label.png", "export.csv", "trace", "Journey", "-"]),
    st.text(alphabet="Aa9-._", min_size=1, max_size=6),
)
codes = st.lists(_parts, min_size=1, max_size=4).map("/".join)


@pytest.fixture
def world(client) -> World:
    w = World(client)
    w.register_all(parties=(COOP,))
    return w


def _harvest_entry(w: World, code: str) -> bytes:
    """A harvest of lot `code`, signed by the cooperative as its bytes are (the client would refuse
    to sign a bad code; the server must refuse it too)."""
    wire = {
        "kind": "harvest",
        "event_time": w.tick(),
        "party": COOP,
        "key_id": key_id(COOP),
        "location": {"name": NAMES[COOP]},
        "inputs": [],
        "outputs": [out(code, "5")],
        "detail": {"origin": {"name": "3号地"}},
    }
    canonical = wire_json({"v": 1, **wire})
    return encode_entry(canonical, private_key(COOP).sign(signing_message(canonical)))


def expect_problem(r: httpx.Response, status: int, *, field: str | None = None) -> dict:
    """An RFC 9457 problem with this status (and field)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and "/problems/" in body["type"] and body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    return body


def _spellings(code: str) -> list[str]:
    """The code as a URL path carries it: "/" written as "/", and as %2F (as label URIs write it)."""
    return sorted({quote(code, safe="/"), quote(code, safe="")})


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(code=codes)
def test_every_accepted_code_round_trips_through_its_uri_and_routes(world: World, code: str) -> None:
    harvest = {"kind": "harvest", "outputs": [out(code, "5", product=BAG)], "detail": {"origin": {"name": "3号地"}}}
    if not is_valid_lot_code(code):  # refused at the door, naming the field
        expect_problem(world.post(_harvest_entry(world, code)), 400, field="outputs[0].lot")
        return
    if world.http.get(f"/lots/{quote(code, safe='')}").status_code == 404:
        world.record(COOP, harvest)
    # 1. The label: the URI a QR code carries reads back as the same lot, with or without a GTIN.
    for gtin in (None, GTIN):
        uri = label_uri(code, base=BASE, gtin=gtin)
        assert parse_label_uri(uri, base=BASE) == (code, None if gtin is None else gtin.zfill(14))
        page = world.http.get(urlsplit(uri).path)  # the consumer page the label opens
        assert page.status_code == 200, (uri, page.status_code)
    # 2. The routes: each spelling of the code reaches this lot and no other.
    for spelled in _spellings(code):
        lot = world.http.get(f"/lots/{spelled}")
        assert lot.status_code == 200, (spelled, lot.text)
        assert lot.json()["code"] == code
        journey = world.http.get(f"/lots/{spelled}/journey")
        assert journey.status_code == 200, (spelled, journey.text)
        assert journey.json()["lot"] == code
        trace = world.http.get(f"/lots/{spelled}/trace")
        assert trace.status_code == 200 and trace.json()["lot"] == code


@pytest.mark.parametrize("code", [".", "..", "/", "a//b", "X/journey", "A/./B", "A/", "X/label.png"])
def test_codes_no_url_can_carry_are_refused_naming_the_field(world: World, code: str) -> None:
    p = expect_problem(world.post(_harvest_entry(world, code)), 400, field="outputs[0].lot")
    assert p["detail"].startswith("invalid outputs[0].lot: "), p["detail"]
    assert "a lot code may not" in p["detail"], p["detail"]


@pytest.mark.parametrize("page", ["journey", "trace", "epcis", "recall", "export.csv"])
def test_an_encoded_slash_does_not_reach_another_lots_page(world: World, page: str) -> None:
    world.harvest("X")
    auth = world.token(REGULATOR)
    assert world.http.get(f"/lots/X/{page}", headers=auth).status_code == 200
    # /lots/X%2Fjourney names the lot "X/journey", which no lot code can be: never X's journey.
    r = world.http.get(f"/lots/X%2F{page}", headers=auth)
    p = expect_problem(r, 400, field="code")
    assert f"lower-case word like '{page}'" in p["detail"]
    # The same through a longer code: A%2FB%2Fjourney is lot "A/B/journey", not A/B's journey.
    r = world.http.get(f"/lots/A%2FB%2F{page}", headers=auth)
    expect_problem(r, 400, field="code")


def test_every_lot_page_ends_in_a_word_no_code_may_end_in(client) -> None:
    """The lot-code rule and the routes agree: each route below /lots/{code} ends in page words."""
    words = []
    todo = list(client.app.routes)
    while todo:
        route = todo.pop()
        todo += getattr(getattr(route, "original_router", None), "routes", [])  # included routers
        path = getattr(route, "path_format", "")
        if path.startswith("/lots/{code}/"):
            suffix = path.partition("{code}/")[2].replace("{fmt}", "csv")
            words += suffix.split("/")
    assert {"journey", "trace", "epcis", "recall", "label.png", "labels.pdf", "export.csv"} <= set(words)
    assert all(LOT_PAGE_WORD.fullmatch(w) for w in words), words


def test_bad_codes_in_paths_are_400_naming_the_code(world: World) -> None:
    for path in ("/lots/a%2F%2Fb", "/lots/%2E%2E", "/lots/X%2Fjourney", "/lots/NX%20CAB"):
        p = expect_problem(world.http.get(path), 400, field="code")
        assert p["detail"].startswith("invalid code: "), p["detail"]
    expect_problem(world.http.get("/lots/NOPE-1"), 404)
