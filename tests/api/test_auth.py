"""Regulator-only reads: `Authorization: FarmTrace <token>`, a short-lived statement signed by the party's key.

Every refusal is 403 problem+json with a detail that says what was wrong, on both regulator-only
routes (GET /anomalies and GET /lots/{code}/recall).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from farmtrace.client import PartyKey
from farmtrace.trace.auth import CLOCK_SKEW, MAX_LIFETIME, check_token, make_token
from farmtrace.trace.errors import Forbidden
from farmtrace.trace.model.event import Event
from farmtrace.trace.rules.memory import MemoryState

from ..trace.story import (
    COOP,
    MARKET,
    REGULATOR,
    START,
    key_id,
    key_wire,
    party_wire,
    private_key,
    uscc,
    wire,
)
from .test_stories import HARVEST, World, expect_problem

ROUTES = ("/anomalies", f"/lots/{HARVEST}/recall")
REGULATOR_2 = uscc("11430100MB7654321")  # a second regulator (长沙县市场监督管理局)
UNREGISTERED = "91350100M000100Y43"


@pytest.fixture
def world(client) -> World:
    w = World(client)
    w.story_one(until="harvest")
    return w


ORIGIN = "farmtrace.local/log"  # the test server's log (tests/api/conftest.py LOG_SIGNER)


def token(
    party: str,
    *,
    generation: int = 0,
    lifetime: int = 600,
    key_party: str | None = None,
    origin: str = ORIGIN,
) -> str:
    """A token for `party` at log `origin`, signed by `key_party`'s key (default: the party's own)."""
    return make_token(
        party, private_key(key_party or party, generation), origin=origin, expires=int(time.time()) + lifetime
    )


def get(w: World, route: str, header: str | None):
    # As bytes: HTTP header values are Latin-1 on the wire (RFC 9110 §5.5), and httpx would encode str as ASCII.
    return w.http.get(
        route, headers={"Authorization": header.encode("latin-1")} if header is not None else {}
    )


def refused_everywhere(w: World, header: str | None, detail: str) -> None:
    for route in ROUTES:
        p = expect_problem(get(w, route, header), 403)
        assert p["type"].endswith("/problems/forbidden") and p["title"] == "Forbidden"
        assert p["detail"] == detail, (route, p["detail"])


def test_a_regulator_may_read_both(world: World) -> None:
    for route in ROUTES:
        r = get(world, route, f"FarmTrace {token(REGULATOR)}")
        assert r.status_code == 200, r.text
    assert get(world, ROUTES[1], f"FarmTrace {token(REGULATOR)}").json()["lot"] == HARVEST
    # The scheme name is case-insensitive (RFC 9110 §11.1); the client library's header works too.
    assert get(world, ROUTES[0], f"farmtrace {token(REGULATOR)}").status_code == 200
    assert get(world, ROUTES[0], world.token(REGULATOR)["Authorization"]).status_code == 200


def test_another_role_is_refused(world: World) -> None:
    refused_everywhere(
        world, f"FarmTrace {token(COOP)}", f"this needs the regulator role; party {COOP} has producer"
    )
    refused_everywhere(
        world, f"FarmTrace {token(MARKET)}", f"this needs the regulator role; party {MARKET} has wholesaler"
    )


def _v1_token(party: str) -> str:
    expires = int(time.time()) + 600
    message = f"farmtrace/auth/v1\n{party}\n{key_id(party)}\n{expires}\n".encode()
    sig = base64.urlsafe_b64encode(private_key(party).sign(message)).decode().rstrip("=")
    return f"ft1.{party}.{key_id(party)}.{expires}.{sig}"


CREDENTIALS = "this needs a regulator's credentials: Authorization: FarmTrace <token>"
NOT_A_TOKEN = "the credentials are not a farmtrace token (ft2.party.key.expires.signature)"
BAD_SIGNATURE = (
    f"the token's signature does not verify for this service (log {ORIGIN}); "
    "a token is good only at the service it was signed for"
)
NOT_BASE64URL = "the token's signature is not 86 characters of unpadded base64url"


def _flip_signature(t: str) -> str:
    head, _, sig = t.rpartition(".")
    return f"{head}.{'B' if sig[0] == 'A' else 'A'}{sig[1:]}"


def _with_part(t: str, i: int, value: str) -> str:
    parts = t.split(".")
    parts[i] = value
    return ".".join(parts)


BAD: dict[str, tuple[Callable[[], str | None], str]] = {
    "missing header": (lambda: None, CREDENTIALS),
    "empty header": (lambda: "", CREDENTIALS),
    "wrong scheme": (lambda: f"Bearer {token(REGULATOR)}", CREDENTIALS),
    "scheme without a token": (lambda: "FarmTrace ", CREDENTIALS),
    "not a token": (lambda: "FarmTrace hello", NOT_A_TOKEN),
    "wrong version": (lambda: f"FarmTrace {_with_part(token(REGULATOR), 0, 'ft3')}", NOT_A_TOKEN),
    "negative expiry": (lambda: f"FarmTrace {_with_part(token(REGULATOR), 3, '-5')}", NOT_A_TOKEN),
    "expired": (
        lambda: f"FarmTrace {token(REGULATOR, lifetime=-1)}",
        "the token has expired; sign a new one",
    ),
    "too far in the future": (
        lambda: f"FarmTrace {token(REGULATOR, lifetime=MAX_LIFETIME + CLOCK_SKEW + 120)}",
        "a token may be valid for at most 60 minutes",
    ),
    "a day, as version 1 allowed": (
        lambda: f"FarmTrace {token(REGULATOR, lifetime=24 * 3600)}",
        "a token may be valid for at most 60 minutes",
    ),
    "tampered signature": (
        lambda: f"FarmTrace {_flip_signature(token(REGULATOR))}",
        BAD_SIGNATURE,
    ),
    "signature not base64": (
        lambda: f"FarmTrace {_with_part(token(REGULATOR), 4, '!!!!')}",
        NOT_BASE64URL,
    ),
    "extended expiry": (  # a genuine token whose expiry was pushed later: the signature no longer covers it
        lambda: f"FarmTrace {_with_part(token(REGULATOR), 3, str(int(time.time()) + 3000))}",
        BAD_SIGNATURE,
    ),
    "another service's token": (  # genuine, but signed for another log: not to be replayed here
        lambda: f"FarmTrace {token(REGULATOR, origin='farmtrace.other-city.example/log')}",
        BAD_SIGNATURE,
    ),
    "version 1": (  # a genuine version-1 token (no origin, up to a day) is no longer a token
        lambda: f"FarmTrace {_v1_token(REGULATOR)}",
        NOT_A_TOKEN,
    ),
    "another party's name": (  # the regulator's genuine signature, claiming to be the cooperative
        lambda: f"FarmTrace {token(COOP, key_party=REGULATOR)}",
        f"party {COOP} has no registered key {key_id(REGULATOR)}",
    ),
    "unknown party": (
        lambda: f"FarmTrace {token(UNREGISTERED)}",
        f"party {UNREGISTERED} has no registered key {key_id(UNREGISTERED)}",
    ),
    "unknown key of a known party": (
        lambda: f"FarmTrace {token(REGULATOR, generation=3)}",
        f"party {REGULATOR} has no registered key {key_id(REGULATOR, 3)}",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_credentials_are_403_with_a_clear_detail(world: World, case: str) -> None:
    header, detail = BAD[case]
    refused_everywhere(world, header(), detail)


def test_a_revoked_key_is_refused_and_its_successor_accepted(world: World) -> None:
    w = world
    # Key rotation: the new key is added, then the old one revoked (signed with the new key).
    w.record(
        REGULATOR, {"kind": "party.key_add", "detail": {"party_id": REGULATOR, **key_wire(REGULATOR, 1)}}
    )
    old = token(REGULATOR)
    assert get(w, ROUTES[0], f"FarmTrace {old}").status_code == 200  # still valid until revoked
    revoke = {"party_id": REGULATOR, "key_id": key_id(REGULATOR), "reason": "手机丢失 / phone lost"}
    w.record(
        REGULATOR,
        {"kind": "party.key_revoke", "detail": revoke},
        key=PartyKey(REGULATOR, private_key(REGULATOR, 1)),
    )
    refused_everywhere(
        w, f"FarmTrace {old}", f"party {REGULATOR} or its key {key_id(REGULATOR)} is no longer active"
    )
    for route in ROUTES:
        assert get(w, route, f"FarmTrace {token(REGULATOR, generation=1)}").status_code == 200


def test_a_suspended_regulator_is_refused(world: World) -> None:
    w = world
    w.record(
        REGULATOR, {"kind": "party.register", "detail": {"party": party_wire(REGULATOR_2, ["regulator"])}}
    )
    assert get(w, ROUTES[0], f"FarmTrace {token(REGULATOR_2)}").status_code == 200
    w.record(REGULATOR, {"kind": "party.suspend", "detail": {"party_id": REGULATOR_2, "reason": "调离"}})
    refused_everywhere(
        w,
        f"FarmTrace {token(REGULATOR_2)}",
        f"party {REGULATOR_2} or its key {key_id(REGULATOR_2)} is no longer active",
    )


def test_a_token_is_bound_to_its_signing_key_id(world: World) -> None:
    # The key id inside the token names the regulator's key, but the signature is the market's.
    t = _with_part(token(REGULATOR), 4, token(MARKET).rsplit(".", 1)[1])
    refused_everywhere(world, f"FarmTrace {t}", BAD_SIGNATURE)
    sig = base64.urlsafe_b64decode(token(REGULATOR).rsplit(".", 1)[1] + "==")
    assert len(sig) == 64


def test_an_expiry_of_5000_digits_is_403(world: World) -> None:
    refused_everywhere(world, f"FarmTrace {_with_part(token(REGULATOR), 3, '9' * 5000)}", NOT_A_TOKEN)


def _arabic_indic(t: str) -> str:
    """The same token with its (genuine, signed) expiry written in Arabic-Indic digits."""
    expires = t.split(".")[3]
    return _with_part(t, 3, expires.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")))


def _regulator_view() -> MemoryState:
    view = MemoryState()
    register = wire("party.register", REGULATOR, time=START, detail={"party": party_wire(REGULATOR)})
    view.genesis(Event.from_wire(register).detail.party, at=START)  # type: ignore[attr-defined]
    return view


@pytest.mark.parametrize(
    "forge",
    [lambda t: _with_part(t, 3, "²"), _arabic_indic, lambda t: _with_part(t, 3, "9" * 5000)],
    ids=["superscript", "arabic-indic", "5000 digits"],
)
def test_check_token_refuses_an_expiry_that_is_not_ascii_digits(forge: Callable[[str], str]) -> None:
    # str.isdigit() admits "²" (int() then raises: a 500) and Arabic-Indic digits (int() reads them:
    # a second spelling of a signed token); only 1-12 ASCII digits are an expiry.
    # Called directly: TestClient re-encodes header bytes as UTF-8, so a raw b"\xb2" (latin-1 "²"),
    # which uvicorn would hand over as is, cannot be sent through it.
    view = _regulator_view()
    genuine = token(REGULATOR)
    assert check_token(genuine, view, origin=ORIGIN, now=datetime.now(UTC), role="regulator").id == REGULATOR
    with pytest.raises(Forbidden, match="not a farmtrace token"):
        check_token(forge(genuine), view, origin=ORIGIN, now=datetime.now(UTC), role="regulator")


# --- the ft_token cookie (web/auth.py): pages' reads, never writes ---------------------------------


def _with_cookie(w: World, route: str, value: str, header: str | None = None):
    headers = {"Cookie": f"ft_token={value}"}
    if header is not None:
        headers["Authorization"] = header
    return w.http.get(route, headers=headers)


def test_a_regulator_cookie_authorises_reads(world: World) -> None:
    for route in ROUTES:
        r = _with_cookie(world, route, token(REGULATOR))
        assert r.status_code == 200, r.text


def test_a_cookie_is_checked_like_a_header(world: World) -> None:
    for route in ROUTES:
        p = expect_problem(_with_cookie(world, route, token(COOP)), 403)
        assert p["detail"] == f"this needs the regulator role; party {COOP} has producer"
        p = expect_problem(_with_cookie(world, route, "hello"), 403)
        assert p["detail"] == NOT_A_TOKEN
        p = expect_problem(_with_cookie(world, route, _flip_signature(token(REGULATOR))), 403)
        assert p["detail"] == BAD_SIGNATURE


def test_the_header_wins_over_the_cookie(world: World) -> None:
    r = _with_cookie(world, ROUTES[0], token(REGULATOR), header=f"FarmTrace {token(COOP)}")
    assert expect_problem(r, 403)["detail"] == f"this needs the regulator role; party {COOP} has producer"
    r = _with_cookie(world, ROUTES[0], token(COOP), header=f"FarmTrace {token(REGULATOR)}")
    assert r.status_code == 200


def test_a_cookie_never_authorises_a_write(world: World) -> None:
    # POST /ledger/audit is regulator-only and changes state (it starts a job): a cookie, which a
    # cross-site form would send along, is not enough; the header is.
    r = world.http.post("/ledger/audit", headers={"Cookie": f"ft_token={token(REGULATOR)}"})
    assert expect_problem(r, 403)["detail"] == CREDENTIALS
    r = world.http.post("/ledger/audit", headers={"Authorization": f"FarmTrace {token(REGULATOR)}"})
    assert r.status_code == 202, r.text


# --- binding to the service, strict signatures, short lives ------------------------------------------


def test_a_token_for_one_service_is_refused_by_another() -> None:
    # The same regulator key registered at two services (two cities' logs): a token signed for A
    # verifies at A only, so a token captured at A cannot be replayed at B.
    view, now = _regulator_view(), datetime.now(UTC)
    for_a = token(REGULATOR, origin="changsha.example/log")
    assert check_token(for_a, view, origin="changsha.example/log", now=now, role="regulator").id == REGULATOR
    with pytest.raises(Forbidden, match=r"does not verify for this service \(log zhuzhou.example/log\)"):
        check_token(for_a, view, origin="zhuzhou.example/log", now=now, role="regulator")


def test_a_token_for_another_origin_is_refused_over_http(world: World) -> None:
    other = f"FarmTrace {token(REGULATOR, origin='farmtrace.other-city.example/log')}"
    refused_everywhere(world, other, BAD_SIGNATURE)
    # The client learns the origin from the server it talks to, and its tokens are accepted.
    regulator = world.client(REGULATOR)
    assert isinstance(regulator.anomalies(), list)
    assert regulator.origin == ORIGIN


def _respell(sig: str) -> list[str]:
    """Spellings of a signature that a lenient base64 decoder reads as the same 64 bytes."""
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(sig[-1])
    nonzero_tail = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last | 1]
    return [
        sig[:40] + "!!" + sig[40:] + "==",  # junk inside: binascii skips non-alphabet characters
        sig[:40] + "!" + sig[40:],
        sig[:40] + " " + sig[40:],  # white space inside
        sig + "==",  # padding
        sig + "=",
        sig.replace("-", "+").replace("_", "/") if ("-" in sig or "_" in sig) else sig[:-1] + "+",
        sig[:-1] + nonzero_tail,  # the last character's two unused bits set
        sig + "\n",
    ]


def test_a_signature_must_be_spelled_canonically(world: World) -> None:
    genuine = token(REGULATOR)
    view, now = _regulator_view(), datetime.now(UTC)
    assert check_token(genuine, view, origin=ORIGIN, now=now).id == REGULATOR
    head, _, sig = genuine.rpartition(".")
    for spelling in _respell(sig):
        forged = f"{head}.{spelling}"
        with pytest.raises(Forbidden, match="not 86 characters of unpadded base64url"):
            check_token(forged, view, origin=ORIGIN, now=now)
    # Through HTTP too (as latin-1 bytes; white space at the end of a header is trimmed by HTTP).
    refused_everywhere(world, f"FarmTrace {head}.{sig[:40]}!!{sig[40:]}==", NOT_BASE64URL)
    refused_everywhere(world, f"FarmTrace {head}.{sig}==", NOT_BASE64URL)


def test_lifetimes_are_short() -> None:
    view, now = _regulator_view(), datetime.now(UTC)
    key = PartyKey(REGULATOR, private_key(REGULATOR))
    default = key.token()
    expires = int(default.split(".")[3])
    assert 590 <= expires - int(time.time()) <= 600  # ten minutes by default
    assert check_token(key.token(lifetime=MAX_LIFETIME), view, origin=ORIGIN, now=now).id == REGULATOR
    # A signer's clock a minute fast is tolerated; an hour and two minutes is not.
    assert check_token(token(REGULATOR, lifetime=MAX_LIFETIME + CLOCK_SKEW), view, origin=ORIGIN, now=now)
    with pytest.raises(Forbidden, match="at most 60 minutes"):
        check_token(token(REGULATOR, lifetime=MAX_LIFETIME + CLOCK_SKEW + 2), view, origin=ORIGIN, now=now)
