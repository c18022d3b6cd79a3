"""The current time, for pages: the app's one clock, never the machine's.

`farmtrace.api.app.create_app(settings, clock=...)` puts its clock (see trace/clock.py) on
`app.state.clock`; the pages ask this module for the time, so a test that pins the app's clock pins
every date a page shows or suggests.
"""

from __future__ import annotations

from datetime import date, datetime

from fastapi import Request

from farmtrace.trace.clock import cst_day

__all__ = ["request_now", "request_today"]


def request_now(request: Request) -> datetime:
    """The current time by the clock of the app serving `request`: an aware datetime in UTC."""
    return request.app.state.clock()


def request_today(request: Request) -> date:
    """Today as a China Standard Time calendar day, by the clock of the app serving `request`."""
    return cst_day(request_now(request))
