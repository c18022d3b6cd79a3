"""The one clock: the current time, China Standard Time, and CST calendar days.

Time is passed in (STYLE.md, "One clock"). Code that needs the current time takes a `Clock` — a
callable returning an aware datetime in UTC — and the composition root (`farmtrace.api.app.
create_app(settings, clock=...)`) decides which one: `utc_now` when serving, a pinned clock in tests.
Nothing else in the server reads the machine's clock.

China Standard Time is defined here and nowhere else. It is UTC+8 all year (China has kept no
daylight saving since 1991), so a fixed offset is exact. The console's date filters, price days and
export ranges are CST calendar days: a day runs from 00:00 CST to the next 00:00 CST, which is
16:00 UTC of the day before to 16:00 UTC, so between 16:00 and 24:00 UTC the CST day is already the
UTC day's tomorrow.

    utc_now()                 the machine's current time, aware, in UTC (the serving `Clock`)
    cst_day(moment)           the CST calendar day an aware `moment` falls on
    cst_midnight(day)         the instant a CST day begins (aware, in CST); the inverse of `cst_day`
    cst_range(first, last)    the half-open span [first 00:00 CST, the 00:00 CST after last)
    to_utc_text(moment)       an aware time as sortable UTC text, how the tables store times
    parse_utc(text)           a stored time back as an aware datetime; the inverse of `to_utc_text`

Naive datetimes are refused (ValueError): a time without an offset could be any of 25 hours.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache

__all__ = [
    "CST",
    "Clock",
    "cst_day",
    "cst_midnight",
    "cst_range",
    "parse_utc",
    "to_utc_text",
    "utc_now",
]

CST = timezone(timedelta(hours=8), "CST")  # China Standard Time, UTC+8, no daylight saving

Clock = Callable[[], datetime]
"""A source of the current time: each call returns an aware datetime in UTC."""


def utc_now() -> datetime:
    """The machine's current time, aware, in UTC: the `Clock` a served app uses."""
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"expected an aware datetime (with a UTC offset), found naive {moment.isoformat()}")
    return moment


def cst_day(moment: datetime) -> date:
    """The China Standard Time calendar day that the aware `moment` falls on. Raises ValueError if naive."""
    return _aware(moment).astimezone(CST).date()


def cst_midnight(day: date) -> datetime:
    """The instant `day` begins in China Standard Time: 00:00 CST, an aware datetime in CST."""
    return datetime(day.year, day.month, day.day, tzinfo=CST)


def cst_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The instants from the start of CST day `first` up to (not including) the start of the day after `last`.

    Both days are included; either may be None for a range open at that end (its bound is None).
    The bounds suit `since <= t < until` filters: `cst_range(d, d)` is exactly the CST day `d`.
    """
    since = cst_midnight(first) if first is not None else None
    until = cst_midnight(last + timedelta(days=1)) if last is not None else None
    return since, until


@lru_cache(maxsize=65536)  # bulk ingest writes the same few event times on many rows
def to_utc_text(moment: datetime) -> str:
    """An aware datetime as sortable UTC text, to the second: 2026-11-20T00:30:00+00:00.

    The tables store times this way, so text order is time order. Raises ValueError if naive.
    """
    return _aware(moment).astimezone(UTC).isoformat(timespec="seconds")


def parse_utc(text: str) -> datetime:
    """A stored time (`to_utc_text`, or any ISO 8601 time with an offset) as an aware datetime.

    Raises ValueError for text that is not an ISO 8601 time or has no offset.
    """
    return _aware(datetime.fromisoformat(text))
