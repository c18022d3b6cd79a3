"""trace/label_scans.py: areas (0.1° cells) parse strictly and round-trip, distances, the rate limit
per label and window, and when a label's record warns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.label_scans import (
    Area,
    LabelScanRecord,
    ScanGate,
    ScanPolicy,
    distance_km,
    judge,
    parse_area,
    sold_areas,
)

CHANGSHA, HARBIN = parse_area("28.2,113.0"), parse_area("45.8,126.5")


@given(st.floats(-90, 90), st.floats(-180, 180))
def test_every_cell_round_trips(lat: float, lon: float) -> None:
    area = Area.rounded(lat, lon)
    assert parse_area(str(area)) == area
    assert abs(area.lat / 10 - lat) <= 0.05 + 1e-9 and abs(area.lon / 10 - lon) <= 0.05 + 1e-9


@given(st.text(max_size=30))
def test_parse_area_raises_only_its_own_error(text: str) -> None:
    try:
        area = parse_area(text)
    except InvalidEvent as exc:
        assert exc.field == "area"
    else:
        assert str(area) == text  # one spelling per cell


@pytest.mark.parametrize("bad", ["28.19,112.97", "28,112", "-0.0,1.0", "91.0,0.0", "0.0,180.5", " 1.0,2.0", "1.0, 2.0"])
def test_what_is_not_an_area(bad: str) -> None:
    with pytest.raises(InvalidEvent):
        parse_area(bad)


def test_distances() -> None:
    assert distance_km(CHANGSHA, CHANGSHA) == 0
    assert 2200 < distance_km(CHANGSHA, HARBIN) < 2400  # about 2,290 km
    assert 11.0 < distance_km(parse_area("0.0,0.0"), parse_area("0.1,0.0")) < 11.2  # 0.1° of latitude


def test_the_gate_counts_per_label_per_window() -> None:
    gate = ScanGate(ScanPolicy(per_window=2, window=60))
    assert [gate.admit("g", "a", now=t) for t in (0, 1, 2)] == [True, True, False]
    assert gate.admit("g", "b", now=2)  # another label has its own window
    assert gate.admit("g", "a", now=60)  # a new window
    small = ScanGate(ScanPolicy(), max_labels=2)
    assert all(small.admit("g", s, now=0) for s in "xyz")  # full: it forgets rather than grows


def _record(count: int, *areas: Area) -> LabelScanRecord:
    at = datetime(2026, 11, 21, tzinfo=UTC)
    return LabelScanRecord("06901234567892", "R1", "S-1", count, at, areas[0] if areas else None, tuple((a, 1) for a in areas))


def test_when_a_record_warns() -> None:
    policy = ScanPolicy(often=10, far_km=100)
    assert judge(_record(10, CHANGSHA), policy, (CHANGSHA,)) is None
    often = judge(_record(11), policy, ())
    assert often is not None and often.often and often.far == ()
    far = judge(_record(2, CHANGSHA, HARBIN), policy, (CHANGSHA,))
    assert far is not None and not far.often and [a for a, _ in far.far] == [HARBIN]
    assert judge(_record(2, HARBIN), policy, ()) is None  # no sale with coordinates: nothing to compare


def test_sold_areas_are_the_lots_own_sales_with_coordinates() -> None:
    def sell(lot: str, geo: str | None) -> dict:
        where = {"name": "店"} | ({"geo": geo} if geo else {})
        return {"kind": "sell", "inputs": [{"lot": lot}], "location": where}

    events = [sell("S-1", "28.19,112.97"), sell("S-1", None), sell("S-2", "45.8,126.5"), {"kind": "ship", "inputs": [{"lot": "S-1"}], "location": {"geo": "1,1"}}]
    assert sold_areas(events, "S-1") == (parse_area("28.2,113.0"),)


def test_a_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="window"):
        ScanPolicy(window=0)
