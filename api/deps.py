"""Dependencies for routes, as Annotated aliases: the web floor's (web/deps.py) and the log's.

`RegulatorDep` is the one regulator gate (web/auth.py `require_regulator`): a JSON route that takes
it answers anyone else 403 problem+json (api/errors.py maps its NotRegulator, a Forbidden).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from farmtrace.ledger.log import Log
from farmtrace.web.auth import require_regulator
from farmtrace.web.deps import (
    AudienceDep,
    ClockDep,
    PartyDep,
    RegulatorDep,
    ServiceDep,
    StateDep,
    get_clock,
    get_service,
)
from farmtrace.web.state import app_state

__all__ = [
    "AudienceDep",
    "ClockDep",
    "LogDep",
    "PartyDep",
    "RegulatorDep",
    "ServiceDep",
    "StateDep",
    "get_clock",
    "get_log",
    "get_service",
    "require_regulator",
]


async def get_log(request: Request) -> Log:
    """The app's log (the ledger's single writer). `async`: it only reads app state, so FastAPI runs
    it on the event loop instead of sending it through the thread pool and back (a round trip that
    was a third of a tile request's time in bench/tiles_bench.py)."""
    return app_state(request).log


LogDep = Annotated[Log, Depends(get_log)]
