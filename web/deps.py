"""Dependencies for routes, as `Annotated` aliases (the FastAPI full-stack template's deps.py).

    StateDep      the app's typed state (web/state.py `AppState`)
    ServiceDep    the domain service, `TraceService`
    ClockDep      the app's one clock: routes read the current time only from it
    WitnessingDep the log's submitter to its witnesses (ledger/witnessing.py), for their status
    PartyDep      the signed-in party, or None (pages that offer a sign-in instead of refusing)
    AudienceDep   who is reading: the public, a party or a regulator (trace/audience.py)
    RegulatorDep  the regulator making the request; anyone else: NotRegulator (web/auth.py), which
                  the JSON API answers with 403 problem+json and the console with its 403 page

The api floor re-exports these (api/deps.py) and adds its own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from farmtrace.ledger.witnessing import Witnessing
from farmtrace.trace.audience import Audience
from farmtrace.trace.clock import Clock
from farmtrace.trace.rules import PartyState
from farmtrace.trace.service import TraceService

from .auth import current_party, reader_audience, require_regulator
from .state import AppState, app_state

__all__ = [
    "AudienceDep",
    "ClockDep",
    "PartyDep",
    "RegulatorDep",
    "ServiceDep",
    "StateDep",
    "WitnessingDep",
    "get_clock",
    "get_service",
    "get_witnessing",
]


def get_service(request: Request) -> TraceService:
    """The domain service of the app serving `request`."""
    return app_state(request).service


def get_clock(request: Request) -> Clock:
    """The app's one clock (create_app's `clock`)."""
    return app_state(request).clock


def get_witnessing(request: Request) -> Witnessing:
    """The app's submitter to its witnesses (create_app's, started by its lifespan if any are configured)."""
    return app_state(request).witnessing


StateDep = Annotated[AppState, Depends(app_state)]
ServiceDep = Annotated[TraceService, Depends(get_service)]
ClockDep = Annotated[Clock, Depends(get_clock)]
WitnessingDep = Annotated[Witnessing, Depends(get_witnessing)]
PartyDep = Annotated[PartyState | None, Depends(current_party)]
RegulatorDep = Annotated[PartyState, Depends(require_regulator)]
AudienceDep = Annotated[Audience, Depends(reader_audience)]
