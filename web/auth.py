"""Who is asking: the party behind a request, from its signed token (trace/auth.py).

Pages read the `ft_token` cookie the browser sets after signing a token with the party's own key
(web/static/signing.js); API calls send `Authorization: FarmTrace <token>`. A cookie authorises
reads only (GET/HEAD): anything that changes state must carry the header, so a cross-site form
can never act for a signed-in party. The server holds no session state and no secret.

    request_token(request)       the token a request carries, or None
    authenticate(request, role=) the party (with the role), or raises Forbidden
    current_party(request)       the signed-in party, or None (pages that offer a sign-in instead)
    require_regulator(request)   the regulator making the request, or raises NotRegulator
    reader_audience(request)     who reads (trace/audience.py): the public without credentials; a
                                 request whose credentials do not authenticate is refused (Forbidden)
                                 rather than shown the public's view as if nothing were wrong

`require_regulator` is the one regulator gate, used as a dependency (web/deps.py `RegulatorDep`) by
the JSON routes and the console alike: the JSON API answers its NotRegulator (a Forbidden) with 403
problem+json (api/errors.py), the console with its 403 page (web/console/page.py).
"""

from __future__ import annotations

from typing import Literal

from fastapi import Request

from farmtrace.trace.audience import PUBLIC, Audience, audience_of
from farmtrace.trace.errors import Forbidden
from farmtrace.trace.rules import PartyState

from .state import app_state

READ_CREDENTIALS = "farmtrace_read_credentials"  # api/reader_caching.py reads it from request.state

__all__ = [
    "NotRegulator",
    "authenticate",
    "current_party",
    "reader_audience",
    "request_token",
    "require_regulator",
]

REGULATOR = "regulator"


class NotRegulator(Forbidden):
    """The request is not a regulator's: `why` says which way, `party` is who it is (if anyone).

    why = "no_token"       no credentials at all
          "bad_token"      credentials that do not authenticate (forged, expired, another service's)
          "not_regulator"  a party authenticated, without the regulator role
    The message is trace/auth.py's own (the JSON API's detail); the console words `why` itself.
    """

    def __init__(
        self,
        message: str,
        *,
        why: Literal["no_token", "bad_token", "not_regulator"],
        party: PartyState | None = None,
    ) -> None:
        super().__init__(message)
        self.why = why
        self.party = party


def request_token(request: Request) -> str | None:
    """The party token of a request: the Authorization header, or for reads the ft_token cookie.

    It records in `request.state` that the answer depends on the credentials, and whether any came,
    so the answer is marked for caches (api/reader_caching.py)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    found: str | None = None
    if scheme.lower() == "farmtrace" and token.strip():
        found = token.strip()
    elif request.method in ("GET", "HEAD"):
        found = request.cookies.get("ft_token") or None
    setattr(request.state, READ_CREDENTIALS, found is not None)
    return found


def _needs(role: str | None) -> str:
    needed = f"a {role}'s" if role else "a party's"
    return f"this needs {needed} credentials: Authorization: FarmTrace <token>"


def authenticate(request: Request, *, role: str | None = None) -> PartyState:
    """The party making the request (holding `role`, if given). Raises Forbidden otherwise."""
    token = request_token(request)
    if token is None:
        raise Forbidden(_needs(role))
    return app_state(request).service.party_for_token(token, role=role)


def current_party(request: Request) -> PartyState | None:
    """The signed-in party, or None (for pages that show a sign-in prompt instead of an error)."""
    try:
        return authenticate(request)
    except Forbidden:
        return None


def reader_audience(request: Request) -> Audience:
    """Who is reading (trace/audience.py): the public if the request carries no credentials, else the
    party they authenticate (a regulator's audience with that role). Raises Forbidden for credentials
    that do not authenticate: a reader whose token expired is told, not silently shown less."""
    if request_token(request) is None:
        return PUBLIC
    return audience_of(authenticate(request))


def require_regulator(request: Request) -> PartyState:
    """The authenticated regulator making the request. Raises NotRegulator (a Forbidden) otherwise,
    with trace/auth.py's message for the JSON API and its `why` for the console's page."""
    token = request_token(request)
    if token is None:
        raise NotRegulator(_needs(REGULATOR), why="no_token")
    service = app_state(request).service
    try:
        party = service.party_for_token(token)
    except Forbidden as exc:
        raise NotRegulator(str(exc), why="bad_token") from exc
    if REGULATOR not in party.roles:
        # The same words check_token(role=...) uses, so the API's answer is unchanged.
        raise NotRegulator(
            f"this needs the {REGULATOR} role; party {party.id} has {', '.join(sorted(party.roles))}",
            why="not_regulator",
            party=party,
        )
    return party
