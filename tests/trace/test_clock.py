"""trace/clock.py: China Standard Time, CST days and their UTC spans, at the instants where date code breaks.

The instants are tests/clock_support.py's: 23:30 UTC (the CST day is the UTC day's tomorrow), 00:30
CST (16:30 UTC the day before), the first minutes of a month and of a year in China.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from farmtrace.trace import clock
from farmtrace.trace.clock import (
    CST,
    MAX_YEAR,
    MIN_YEAR,
    bounded_day,
    bounded_time,
    cst_day,
    cst_midnight,
    cst_range,
    parse_utc,
    to_utc_text,
    utc_now,
)
from farmtrace.trace.errors import InvalidEvent

from ..clock_support import AWKWARD_INSTANTS, PINNED_AT, PinnedClock

# instant name -> (the UTC calendar day, the CST calendar day)
DAYS = {
    "23:30 UTC": (date(2026, 12, 6), date(2026, 12, 7)),
    "00:30 CST": (date(2026, 12, 5), date(2026, 12, 6)),
    "month boundary": (date(2026, 11, 30), date(2026, 12, 1)),
    "year boundary": (date(2026, 12, 31), date(2027, 1, 1)),
}


def test_china_standard_time_is_utc_plus_8_all_year():
    assert CST.utcoffset(None) == timedelta(hours=8) and CST.dst(None) is None
    assert CST.tzname(None) == "CST"
    for month in range(1, 13):  # no daylight saving: the offset is the same in every month
        assert datetime(2026, month, 15, tzinfo=CST).utcoffset() == timedelta(hours=8)


def test_the_client_keeps_its_old_name_for_china_standard_time():
    from farmtrace.client.client import CHINA_STANDARD_TIME

    assert CHINA_STANDARD_TIME is CST


@pytest.mark.parametrize("name", AWKWARD_INSTANTS)
def test_cst_day_is_the_day_in_china_not_the_day_in_utc(name):
    moment = AWKWARD_INSTANTS[name]
    utc_day, china_day = DAYS[name]
    assert moment.date() == utc_day
    assert cst_day(moment) == china_day
    # The same instant written with any offset is the same CST day.
    for hours in (-10, 0, 5, 8, 14):
        assert cst_day(moment.astimezone(timezone(timedelta(hours=hours)))) == china_day


@pytest.mark.parametrize("name", AWKWARD_INSTANTS)
def test_a_cst_day_runs_from_16_00_utc_the_day_before(name):
    moment = AWKWARD_INSTANTS[name]
    _, china_day = DAYS[name]
    start = cst_midnight(china_day)
    assert start.utcoffset() == timedelta(hours=8) and (start.hour, start.minute) == (0, 0)
    assert start.astimezone(UTC) == datetime(
        china_day.year, china_day.month, china_day.day, tzinfo=UTC
    ) - timedelta(hours=8)
    since, until = cst_range(china_day, china_day)
    assert since == start and until - since == timedelta(days=1)
    assert since <= moment < until
    # The minute before the day began, and the moment it ends, are other days.
    assert cst_day(since - timedelta(minutes=1)) == china_day - timedelta(days=1)
    assert cst_day(until) == china_day + timedelta(days=1)
    assert cst_day(since) == china_day and cst_day(until - timedelta(microseconds=1)) == china_day


def test_cst_range_includes_both_days_and_may_be_open_at_either_end():
    since, until = cst_range(date(2026, 11, 1), date(2026, 11, 30))
    assert since.isoformat() == "2026-11-01T00:00:00+08:00"
    assert until.isoformat() == "2026-12-01T00:00:00+08:00"  # the last day is included
    assert cst_range(date(2026, 12, 31), date(2026, 12, 31))[1].isoformat() == "2027-01-01T00:00:00+08:00"
    assert cst_range(None, date(2026, 2, 28)) == (None, datetime(2026, 3, 1, tzinfo=CST))
    assert cst_range(date(2028, 2, 29), None) == (datetime(2028, 2, 29, tzinfo=CST), None)
    assert cst_range(None, None) == (None, None)


@pytest.mark.parametrize("name", AWKWARD_INSTANTS)
def test_stored_times_are_utc_text_that_parses_back_to_the_same_instant(name):
    moment = AWKWARD_INSTANTS[name]
    in_china = moment.astimezone(CST)
    text = to_utc_text(in_china)
    assert text.endswith("+00:00") and text == moment.isoformat(timespec="seconds")
    assert parse_utc(text) == moment and parse_utc(text).utcoffset() == timedelta(0)
    assert parse_utc(in_china.isoformat()) == moment  # any offset is read as the same instant


def test_utc_text_sorts_as_time_across_offsets():
    moments = [m + timedelta(seconds=s) for m in AWKWARD_INSTANTS.values() for s in (0, 1, 59)]
    offsets = [timezone(timedelta(hours=h)) for h in (8, -5, 0) * 4]
    texts = [to_utc_text(m.astimezone(tz)) for m, tz in zip(moments, offsets, strict=True)]
    assert sorted(texts) == [to_utc_text(m) for m in sorted(moments)]


def test_naive_times_are_refused():
    naive = datetime(2026, 12, 6, 23, 30)
    for call in (lambda: cst_day(naive), lambda: to_utc_text(naive), lambda: parse_utc(naive.isoformat())):
        with pytest.raises(ValueError, match="naive"):
            call()
    with pytest.raises(ValueError):
        parse_utc("yesterday")


def test_utc_now_is_an_aware_utc_time_near_the_machines():
    now = utc_now()
    assert now.tzinfo is UTC
    assert abs(now.timestamp() - datetime.now(UTC).timestamp()) < 60


def test_a_pinned_clock_stands_still_until_moved():
    pinned = PinnedClock()
    assert pinned() == PINNED_AT == pinned()
    assert pinned.advance(timedelta(minutes=31)) == datetime(2026, 12, 7, 0, 1, tzinfo=UTC) == pinned()
    pinned.set(datetime(2027, 1, 1, 0, 30, tzinfo=CST))
    assert pinned() == datetime(2026, 12, 31, 16, 30, tzinfo=UTC) and pinned().tzinfo is UTC
    with pytest.raises(ValueError):
        pinned.set(datetime(2027, 1, 1))


def test_the_module_lists_its_public_names():
    assert sorted(clock.__all__) == sorted(
        [
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
    )


def test_requests_may_name_the_years_1970_to_9998():
    assert (MIN_YEAR, MAX_YEAR) == (1970, 9998)
    assert bounded_day("since", None) is None and bounded_time("since", None) is None
    for day in (date(1970, 1, 1), date(9998, 12, 31)):
        assert bounded_day("since", day) == day
    for moment in (
        datetime(1970, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(9998, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14))),
    ):
        assert bounded_time("since", moment) is moment
        to_utc_text(moment), cst_day(moment)  # neither overflows at the edges
    assert cst_range(date(1970, 1, 1), date(9998, 12, 31))[1] == datetime(9999, 1, 1, tzinfo=CST)


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1969, 12, 31), date(9999, 1, 1), date(9999, 12, 31)])
def test_days_outside_the_years_are_the_domains_input_error_naming_the_field(day):
    with pytest.raises(InvalidEvent, match="1970 to 9998") as refused:
        bounded_day("until", day)
    assert refused.value.field == "until"
    with pytest.raises(InvalidEvent) as refused:
        cst_midnight(day)
    assert refused.value.field == "day"
    with pytest.raises(InvalidEvent) as refused:
        cst_range(day, None)
    assert refused.value.field == "since"
    with pytest.raises(InvalidEvent) as refused:
        cst_range(date(2026, 11, 1), day)  # 9999-12-31 once overflowed finding the next day
    assert refused.value.field == "until"


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59+00:00", "9999-12-31T23:59:59-14:00"]
)
def test_times_outside_the_years_are_the_domains_input_error_naming_the_field(text):
    with pytest.raises(InvalidEvent, match="1970 to 9998") as refused:
        bounded_time("since", datetime.fromisoformat(text))
    assert refused.value.field == "since"


def test_a_naive_time_from_a_request_is_refused_naming_the_field():
    with pytest.raises(InvalidEvent, match="offset") as refused:
        bounded_time("until", datetime(2026, 12, 6, 23, 30))
    assert refused.value.field == "until"


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_time_that_overflows_in_utc_is_an_input_error_not_an_overflow(text):
    with pytest.raises(InvalidEvent, match="out of range") as refused:
        to_utc_text(datetime.fromisoformat(text))
    assert refused.value.field == "time"
