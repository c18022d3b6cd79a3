"""Who is asking: the party behind a request, from its signed token (trace/auth.py).

Pages read the `ft_token` cookie the browser sets after signing a token with the party's own key
(web/static/signing.js); API calls send `Authorization: FarmTrace <token>`. A cookie authorises
reads only (GET/HEAD): anything that changes state must carry the header, so a cross-site form
can never act for a signed-in party. The server holds no session state and no secret.
"""

from __future__ import annotations

from fastapi import Request

from farmtrace.trace.auth import check_token
from farmtrace.trace.errors import Forbidden
from farmtrace.trace.repository import Repository
from farmtrace.trace.rules import PartyState
from farmtrace.trace.service import TraceService

__all__ = ["authenticate", "current_party", "request_token"]


def request_token(request: Request) -> str | None:
    """The party token of a request: the Authorization header, or for reads the ft_token cookie."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "farmtrace" and token.strip():
        return token.strip()
    if request.method in ("GET", "HEAD"):
        return request.cookies.get("ft_token") or None
    return None


def authenticate(request: Request, *, role: str | None = None) -> PartyState:
    """The party making the request (holding `role`, if given). Raises Forbidden otherwise."""
    token = request_token(request)
    if token is None:
        needed = f"a {role}'s" if role else "a party's"
        raise Forbidden(f"this needs {needed} credentials: Authorization: FarmTrace <token>")
    service: TraceService = request.app.state.service
    with service.engine.connect() as conn:
        return check_token(token, Repository(conn), origin=service.log.origin, now=service.clock(), role=role)


def current_party(request: Request, *, role: str | None = None) -> PartyState | None:
    """The signed-in party, or None (for pages that show a sign-in prompt instead of an error)."""
    try:
        return authenticate(request, role=role)
    except Forbidden:
        return None
