"""Scans of pre-printed labels: how often, first when and roughly where, and when that looks copied.

The consumer page of a pre-printed label (/01/{gtin}/21/{serial}, web/label_scans.py) sends, after
it has loaded, a beacon that counts one scan of the label. Nothing personal is kept: no IP address,
no cookie, no fingerprint, no time but the first scan's. A person may, by pressing a button, share
the area their browser reports, rounded to 0.1° (about 10 km; `Area`); without that, no area.

The counts are off the ledger, a signal and not proof: anyone can scan a label, so a count says
how often *some* phone opened the page. Two guards keep one client from inflating it cheaply:

- `ScanGate` counts at most `ScanPolicy.per_window` scans of one label per `window` seconds, in
  memory, per label and not per person (there is no person to key on); beyond it, scans are not
  counted (a label scanned by a crowd in ten minutes is counted as a few, which is the point);
- areas are cells of 0.1°, at most `MAX_AREAS` per label, so a label cannot grow without bound.

`judge` turns a label's record into a `ScanWarning` when

- it has been scanned more than `ScanPolicy.often` times (a label is scanned a few times by the
  buyer; hundreds of scans mean the code is printed elsewhere), or
- an area it was scanned in lies more than `ScanPolicy.far_km` from every place the lot was sold
  (the sell events' signed `location.geo` on the ledger): a bag sold in Changsha scanned in Harbin.

The store (trace/store/label_scans.py) is the only writer of its tables. docs/labels-anti-copy.md.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from .errors import InvalidEvent

__all__ = [
    "MAX_AREAS",
    "Area",
    "LabelScanRecord",
    "ScanGate",
    "ScanPolicy",
    "ScanWarning",
    "distance_km",
    "judge",
    "parse_area",
    "sold_areas",
]

MAX_AREAS = 50
_AREA = re.compile(r"(-?(?:[0-9]|[1-8][0-9]|90)\.[0-9]),(-?(?:[0-9]|[1-9][0-9]|1[0-7][0-9]|180)\.[0-9])")
_GEO = re.compile(r"\s*(-?[0-9]{1,3}(?:\.[0-9]+)?)\s*,\s*(-?[0-9]{1,3}(?:\.[0-9]+)?)\s*")


@dataclass(frozen=True)
class ScanPolicy:
    """When scans warn, and how many count: the operator's settings (FARMTRACE_LABEL_SCAN_*)."""

    often: int = 50  # more scans than this warn
    far_km: int = 100  # an area farther than this from every sale warns
    per_window: int = 5  # at most this many scans of one label are counted ...
    window: int = 600  # ... per this many seconds

    def __post_init__(self) -> None:
        for name in ("often", "far_km", "per_window", "window"):
            if getattr(self, name) < 1:
                raise ValueError(f"the label scan setting {name} must be at least 1, found {getattr(self, name)}")


@dataclass(frozen=True, order=True)
class Area:
    """A cell of 0.1° by 0.1° (about 10 km), as "28.2,112.6": latitude, longitude, one decimal each."""

    lat: int  # tenths of a degree
    lon: int

    @classmethod
    def rounded(cls, lat: float, lon: float) -> Area:
        """The cell that holds (lat, lon); raises InvalidEvent("area") outside the globe."""
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
            raise InvalidEvent("area", f"expected a latitude and longitude, found {lat},{lon}")
        return cls(round(lat * 10), round(lon * 10))

    def __str__(self) -> str:
        return f"{self.lat / 10:.1f},{self.lon / 10:.1f}"


def parse_area(text: str, *, field: str = "area") -> Area:
    """An area from its text "28.2,112.6" (exactly one decimal each; the inverse of `str(area)`).

    Raises InvalidEvent(field) for anything else: the page rounds before it sends.
    """
    m = _AREA.fullmatch(text) if isinstance(text, str) else None
    if m is None or not (-90 <= float(m[1]) <= 90 and -180 <= float(m[2]) <= 180):
        raise InvalidEvent(field, f"an area is a latitude and longitude rounded to 0.1°, like 28.2,112.6; found {str(text)[:40]!r}")
    area = Area.rounded(float(m[1]), float(m[2]))
    if str(area) != text:  # "-0.0" and the like: one spelling per cell
        raise InvalidEvent(field, f"write the area as {area}, found {text!r}")
    return area


def distance_km(a: Area, b: Area) -> float:
    """The great-circle distance between the cells' centres, in km (haversine, mean Earth radius)."""
    la1, lo1, la2, lo2 = (math.radians(v / 10) for v in (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class LabelScanRecord:
    """What is kept of one label's scans: counted scans, the first one's time and area, the areas."""

    gtin: str
    serial: str
    lot: str
    count: int
    first_at: datetime
    first_area: Area | None
    areas: tuple[tuple[Area, int], ...]  # (cell, scans that shared it), most scanned first


@dataclass(frozen=True)
class ScanWarning:
    """Why a label looks copied: scanned `count` > `often` times, and/or in `far` areas (each with its
    distance in km to the nearest sale); `sold` is empty when no sale has coordinates to compare."""

    count: int
    often: bool
    far: tuple[tuple[Area, int], ...]
    sold: tuple[Area, ...]


def sold_areas(events: Iterable[dict], lot: str) -> tuple[Area, ...]:
    """The areas of the sell events of `lot` (wire forms, as a journey carries them) whose signed
    location has a geo "lat,lon"; sorted, each once."""
    found = set()
    for e in events:
        if e.get("kind") != "sell" or not any(i.get("lot") == lot for i in e.get("inputs", ())):
            continue
        m = _GEO.fullmatch(str(e.get("location", {}).get("geo", "")))
        if m is not None:
            try:
                found.add(Area.rounded(float(m[1]), float(m[2])))
            except InvalidEvent:
                continue
    return tuple(sorted(found))


def judge(record: LabelScanRecord, policy: ScanPolicy, sold: Sequence[Area]) -> ScanWarning | None:
    """The warning `record` deserves under `policy`, given the lot's sale areas; None if none."""
    often = record.count > policy.often
    far = tuple(
        (area, round(min(distance_km(area, s) for s in sold)))
        for area, _ in record.areas
        if sold and min(distance_km(area, s) for s in sold) > policy.far_km
    )
    if not often and not far:
        return None
    return ScanWarning(count=record.count, often=often, far=far, sold=tuple(sold))


class ScanGate:
    """The in-memory rate limit: at most `per_window` counted scans of one label per `window` seconds.

    Per label, never per person. Thread-safe. Forgets every label when it holds more than
    `max_labels` (a flood of invented labels costs memory only up to that, and resets the windows).
    """

    def __init__(self, policy: ScanPolicy, *, max_labels: int = 100_000) -> None:
        self.policy = policy
        self.max_labels = max_labels
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def admit(self, gtin: str, serial: str, *, now: float) -> bool:
        """True if this scan of the label counts (and is counted against its window), else False."""
        key = (gtin, serial)
        with self._lock:
            start, n = self._windows.get(key, (now, 0))
            if now - start >= self.policy.window:
                start, n = now, 0
            if n >= self.policy.per_window:
                return False
            if key not in self._windows and len(self._windows) >= self.max_labels:
                self._windows.clear()
            self._windows[key] = (start, n + 1)
            return True
