"""A clock tests can pin (trace/clock.py's `Clock`), and the instants that catch hour-dependent code.

`create_app(settings, clock=PinnedClock(...))` makes the app read only this clock: its pages, routes,
audit runs, token checks and the demo's story times then follow the test, not the machine.

The default instant is the worst hour of the day for date code: 23:30 UTC on 6 December 2026 is
07:30 on 7 December in China, so any code that takes the machine's (UTC) date for the China
Standard Time day is a day out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["AWKWARD_INSTANTS", "PINNED_AT", "PinnedClock"]

PINNED_AT = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # 2026-12-07 07:30 CST

# name -> instant (UTC). Between them, the CST day differs from the UTC day, starts a month, and
# starts a year; `faketime` runs the time-sensitive suites at each (tests/test_any_hour.py).
AWKWARD_INSTANTS = {
    "23:30 UTC": PINNED_AT,  # 07:30 CST, the CST day is the UTC day's tomorrow
    "00:30 CST": datetime(2026, 12, 5, 16, 30, tzinfo=UTC),  # the CST day has just begun
    "month boundary": datetime(2026, 11, 30, 16, 30, tzinfo=UTC),  # 2026-12-01 00:30 CST
    "year boundary": datetime(2026, 12, 31, 23, 30, tzinfo=UTC),  # 2027-01-01 07:30 CST
}


class PinnedClock:
    """A `Clock` that stands still at `at` until the test moves it (`set`, `advance`)."""

    def __init__(self, at: datetime = PINNED_AT) -> None:
        self.set(at)

    def __call__(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        """Stand at `at` (an aware datetime; kept in UTC). Raises ValueError if `at` is naive."""
        if at.tzinfo is None:
            raise ValueError(f"a pinned clock needs an aware time, found {at.isoformat()}")
        self._at = at.astimezone(UTC)

    def advance(self, by: timedelta) -> datetime:
        """Move forward by `by`; return the new time."""
        self._at += by
        return self._at
