"""Dependencies for routes, as Annotated aliases (`ClockDep`, `LogDep`, `ServiceDep`, `RegulatorDep`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from farmtrace.ledger.log import Log
from farmtrace.trace.clock import Clock
from farmtrace.trace.rules import PartyState
from farmtrace.trace.service import TraceService
from farmtrace.web.session import authenticate

__all__ = [
    "ClockDep",
    "LogDep",
    "RegulatorDep",
    "ServiceDep",
    "get_clock",
    "get_log",
    "get_service",
    "require_regulator",
]


def get_clock(request: Request) -> Clock:
    """The app's one clock (create_app's `clock`): routes read the current time only from it."""
    return request.app.state.clock


def get_log(request: Request) -> Log:
    return request.app.state.log


def get_service(request: Request) -> TraceService:
    return request.app.state.service


def require_regulator(request: Request) -> PartyState:
    """The authenticated regulator making the request; 403 (Forbidden) for anyone else."""
    return authenticate(request, role="regulator")


ClockDep = Annotated[Clock, Depends(get_clock)]
LogDep = Annotated[Log, Depends(get_log)]
ServiceDep = Annotated[TraceService, Depends(get_service)]
RegulatorDep = Annotated[PartyState, Depends(require_regulator)]
