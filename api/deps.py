"""Dependencies for routes, as Annotated aliases (`LogDep`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from farmtrace.ledger.log import Log

__all__ = ["LogDep", "get_log"]


def get_log(request: Request) -> Log:
    return request.app.state.log


LogDep = Annotated[Log, Depends(get_log)]
