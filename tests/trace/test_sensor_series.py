"""A logger's series (trace/sensor_series.py): the canonical text and its digest against the vector
in docs/alerts.md (computed with sha256sum, not by this code), strict parsing, the sample's
extremes, and a series checked against the document a party signed."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.model.values import Sensor
from farmtrace.trace.sensor_series import (
    SeriesMismatch,
    check_series,
    compact_series,
    format_series,
    parse_series,
)

VECTOR = (
    b"farmtrace/series/v1 temperature Cel\n"
    b"2026-11-20T06:00:00+08:00,4.5\n"
    b"2026-11-20T06:05:00+08:00,-1\n"
    b"2026-11-20T06:10:00+08:00,12.25\n"
)
VECTOR_SHA256 = "ace23ed5b422a83ba49b5e5403195fa8683d1ec2c29d10e0e38fad54f034af9a"  # sha256sum of VECTOR


def _reading(value: str, at: datetime, measure: str = "temperature") -> Sensor:
    unit = "Cel" if measure == "temperature" else "%RH"
    return Sensor(type=measure, value=Decimal(value), unit=unit, time=at.isoformat())


def _day(start: datetime, n: int = 288) -> list[Sensor]:
    """A day at 5-minute steps, 3-5 °C, with 40 minutes at 12-12.7 °C from 10:00."""
    out = []
    for i in range(n):
        at = start + timedelta(minutes=5 * i)
        value = f"12.{i % 8}" if 120 <= i < 128 else f"{3 + (i % 3)}"
        out.append(_reading(value, at))
    return out


def test_the_vector():
    readings = parse_series(VECTOR)
    assert [str(r.value) for r in readings] == ["4.5", "-1", "12.25"]
    assert format_series(list(reversed(readings))) == VECTOR  # ordered by time
    document = compact_series(readings).documents[0]
    assert document.type == "sensor_series"
    assert document.id == f"temperature n=3 mean=5.25 sha256:{VECTOR_SHA256}"
    assert check_series(VECTOR, document) is None


@pytest.mark.parametrize(
    "text, field",
    [
        (VECTOR.replace(b"4.5", b"4.50"), "series.line[2].value"),  # not canonical
        (VECTOR.replace(b"Cel\n", b"%RH\n"), "series.line[1]"),
        (VECTOR[:-1], "series"),  # no final newline
        (VECTOR.replace(b"06:05", b"05:05"), "series"),  # out of time order
        (VECTOR.replace(b"+08:00,-1", b"+08:00 -1"), "series.line[3]"),
        (b"\xff", "series"),
    ],
)
def test_parse_refuses_what_format_would_not_write(text, field):
    with pytest.raises(InvalidEvent) as refused:
        parse_series(text)
    assert refused.value.field.startswith(field), refused.value


def test_a_day_is_sampled_to_the_limit_keeping_its_extremes_and_counting_all_of_it():
    start = datetime.fromisoformat("2026-12-01T00:00:00+08:00")
    day = _day(start) + [_reading("80", start + timedelta(minutes=5 * i), "humidity") for i in range(288)]
    compact = compact_series(day, limit=100)
    assert len(compact.sensors) == 100
    temps = [r for r in compact.sensors if r.type == "temperature"]
    assert len(temps) == 50
    assert max(r.value for r in temps) == Decimal("12.7") and min(r.value for r in temps) == Decimal(3)
    assert temps[0].time == day[0].time and temps[-1].time == day[287].time
    ids = sorted(d.id.split(" sha256:")[0] for d in compact.documents)
    mean = sum(r.value for r in day if r.type == "temperature") / 288
    assert ids == ["humidity n=288 mean=80", f"temperature n=288 mean={mean:.2f}"]


def test_a_series_other_than_the_signed_one_is_named():
    start = datetime.fromisoformat("2026-12-01T00:00:00+08:00")
    day = _day(start)
    document = compact_series(day).documents[0]
    assert check_series(format_series(day), document) is None
    cooler = [dataclasses.replace(r, value=Decimal(4)) if r.value > 8 else r for r in day]
    with pytest.raises(SeriesMismatch, match="SHA-256"):
        check_series(format_series(cooler), document)
    with pytest.raises(InvalidEvent, match=r"document\.id"):
        check_series(format_series(day), dataclasses.replace(document, id="temperature"))
