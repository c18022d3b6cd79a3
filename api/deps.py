"""Dependencies for routes, as Annotated aliases (`LogDep`, `ServiceDep`, `RegulatorDep`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from farmtrace.ledger.log import Log
from farmtrace.trace.auth import check_token
from farmtrace.trace.errors import Forbidden
from farmtrace.trace.repository import Repository
from farmtrace.trace.rules import PartyState
from farmtrace.trace.service import TraceService

__all__ = [
    "LogDep",
    "RegulatorDep",
    "ServiceDep",
    "authenticate",
    "get_log",
    "get_service",
    "request_token",
    "require_regulator",
]


def get_log(request: Request) -> Log:
    return request.app.state.log


def get_service(request: Request) -> TraceService:
    return request.app.state.service


def request_token(request: Request) -> str | None:
    """The party token of a request: the Authorization header, or for reads (GET) the ft_token cookie.

    State-changing requests must carry the header: a cookie alone never authorises them, so a
    cross-site form cannot act for a signed-in party.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "farmtrace" and token.strip():
        return token.strip()
    if request.method in ("GET", "HEAD"):
        return request.cookies.get("ft_token") or None
    return None


def authenticate(request: Request, *, role: str | None = None) -> PartyState:
    """The party making the request (with `role`, if given); Forbidden otherwise."""
    token = request_token(request)
    if token is None:
        needed = f"a {role}'s" if role else "a party's"
        raise Forbidden(f"this needs {needed} credentials: Authorization: FarmTrace <token>")
    service: TraceService = request.app.state.service
    with service.engine.connect() as conn:
        return check_token(token, Repository(conn), now=service.clock(), role=role)


def require_regulator(request: Request) -> PartyState:
    """The authenticated regulator making the request; 403 (Forbidden) for anyone else."""
    return authenticate(request, role="regulator")


LogDep = Annotated[Log, Depends(get_log)]
ServiceDep = Annotated[TraceService, Depends(get_service)]
RegulatorDep = Annotated[PartyState, Depends(require_regulator)]
