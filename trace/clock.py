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
    bounded_time(field, t)    a time from a request, refused unless aware and in MIN_YEAR..MAX_YEAR
    bounded_day(field, day)   a day from a request, refused unless in MIN_YEAR..MAX_YEAR

Naive datetimes are refused (ValueError): a time without an offset could be any of 25 hours.

The years a request may name are 1970 to 9998 (MIN_YEAR, MAX_YEAR), whatever the offset: nothing
traceable happened before the Unix epoch, and a year short of 9999 leaves room for the largest
offset (±14:00) and for the day after a CST day, so no time or day that passes `bounded_time` or
`bounded_day` can overflow Python's datetime (years 1 to 9999) in UTC, in CST or a day later. The
API's time parameters and the console's day fields go through these two, and the helpers below
raise `InvalidEvent` (never OverflowError) for a time or day outside what datetime can hold.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache

from .errors import InvalidEvent

__all__ = [
    "CST",
    "MAX_YEAR",
    "MIN_YEAR",
    "Clock",
    "bounded_day",
    "bounded_time",
    "cst_day",
    "cst_midnight",
    "cst_range",
    "parse_utc",
    "to_utc_text",
    "utc_now",
]

CST = timezone(timedelta(hours=8), "CST")  # China Standard Time, UTC+8, no daylight saving

MIN_YEAR = 1970  # the first year a request may name: the Unix epoch; nothing traceable is older
MAX_YEAR = 9998  # the last: one short of datetime's 9999, room for a ±14:00 offset and the next day
_YEARS = f"the years {MIN_YEAR} to {MAX_YEAR} only"

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


def bounded_day(field: str, day: date | None) -> date | None:
    """`day` (None passes) if its year is in MIN_YEAR..MAX_YEAR; else InvalidEvent naming `field`."""
    if day is not None and not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InvalidEvent(field, f"{day.isoformat()} is out of range: {_YEARS}")
    return day


def bounded_time(field: str, moment: datetime | None) -> datetime | None:
    """`moment` (None passes) if aware and its year is in MIN_YEAR..MAX_YEAR; else InvalidEvent naming `field`.

    The year is the one written, at the time's own offset: the bounds keep it, and its UTC and CST
    readings, inside datetime's range.
    """
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise InvalidEvent(field, "needs a time-zone offset, e.g. 2026-11-20T00:00:00+08:00")
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise InvalidEvent(field, f"{moment.isoformat()} is out of range: {_YEARS}")
    return moment


def cst_midnight(day: date, field: str = "day") -> datetime:
    """The instant `day` begins in China Standard Time: 00:00 CST, an aware datetime in CST.

    Raises InvalidEvent naming `field` if `day` is outside MIN_YEAR..MAX_YEAR.
    """
    bounded_day(field, day)
    return _midnight(day)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CST)


def cst_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The instants from the start of CST day `first` up to (not including) the start of the day after `last`.

    Both days are included; either may be None for a range open at that end (its bound is None).
    The bounds suit `since <= t < until` filters: `cst_range(d, d)` is exactly the CST day `d`.
    Raises InvalidEvent naming "since" (`first`) or "until" (`last`) for a day outside MIN_YEAR..MAX_YEAR.
    """
    since = cst_midnight(first, "since") if first is not None else None
    until = _midnight(bounded_day("until", last) + timedelta(days=1)) if last is not None else None
    return since, until


@lru_cache(maxsize=65536)  # bulk ingest writes the same few event times on many rows
def to_utc_text(moment: datetime) -> str:
    """An aware datetime as sortable UTC text, to the second: 2026-11-20T00:30:00+00:00.

    The tables store times this way, so text order is time order. Raises ValueError if naive, and
    InvalidEvent (field "time") if the time is outside what datetime holds once in UTC.
    """
    try:
        return _aware(moment).astimezone(UTC).isoformat(timespec="seconds")
    except OverflowError:
        raise InvalidEvent("time", f"{moment.isoformat()} is out of range once in UTC") from None


def parse_utc(text: str) -> datetime:
    """A stored time (`to_utc_text`, or any ISO 8601 time with an offset) as an aware datetime.

    Raises ValueError for text that is not an ISO 8601 time or has no offset.
    """
    return _aware(datetime.fromisoformat(text))
