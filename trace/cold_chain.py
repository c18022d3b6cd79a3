"""Cold-chain thresholds and the readings that break them.

    Threshold(category, measure, low, high, minutes)   a range a product category's readings keep
    parse_threshold(obj) -> Threshold                  strict, naming the field (a regulator's form)
    DEFAULT_THRESHOLDS                                 what a new platform starts with
    rule_in_force(versions, *, category, measure, at) -> ThresholdVersion | None
    excursions(readings, threshold) -> [Excursion]     the spells out of range long enough to count

A threshold is per product category, as products carry it (`Product.category`, matched exactly,
e.g. "叶菜" or "水产品"), and per measure: temperature in °C or relative humidity in %RH (the units
`Sensor` readings carry). `low` and `high` are inclusive; either may be absent (no bound). A
reading outside the range starts an *excursion*; it lasts until the next reading of that measure
back in range (or, if none follows, to the last reading out of range). An excursion counts when it
lasts at least `minutes`; with minutes 0 a single reading out of range counts, which is what the
defaults ask of temperatures: a 48 °C reading on a lorry of leafy greens is news at once.

Thresholds are configuration, not signed records: regulators change them in the console and each
change is kept as a new version with who made it and when (trace/store/alerts.py,
`TraceThreshold`). An event's readings are judged by the version in force at the event's time, so
loosening a rule today does not erase yesterday's alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import InvalidEvent
from .model.values import SENSOR_UNITS, Sensor

__all__ = [
    "DEFAULT_SETTER",
    "DEFAULT_THRESHOLDS",
    "MAX_MINUTES",
    "MEASURES",
    "Excursion",
    "Threshold",
    "ThresholdVersion",
    "excursions",
    "parse_threshold",
    "rule_in_force",
]

MEASURES = tuple(SENSOR_UNITS)  # temperature, humidity
DEFAULT_SETTER = "farmtrace"  # the set_by of DEFAULT_THRESHOLDS' versions
MAX_MINUTES = 7 * 24 * 60
_BOUNDS = {"temperature": (Decimal(-80), Decimal(80)), "humidity": (Decimal(0), Decimal(100))}


@dataclass(frozen=True)
class Threshold:
    """Readings of `measure` for products of `category` stay within [low, high] (either may be None);
    an excursion counts once it lasts `minutes`."""

    category: str
    measure: str
    low: Decimal | None
    high: Decimal | None
    minutes: int = 0

    @property
    def unit(self) -> str:
        return SENSOR_UNITS[self.measure]

    def holds(self, value: Decimal) -> bool:
        """True if `value` is within the range."""
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


@dataclass(frozen=True)
class ThresholdVersion:
    """A threshold as a regulator set it: version `id`, by party `set_by` at `set_at` (UTC text)."""

    id: int
    threshold: Threshold
    set_by: str
    set_at: str

    def to_wire(self) -> dict[str, Any]:
        """{"id", "category", "measure", "low", "high", "minutes", "set_by", "set_at"}: bounds as
        decimal text or None (GET /alerts/thresholds, the consumer page's configuration)."""
        t = self.threshold
        return {
            "id": self.id,
            "category": t.category,
            "measure": t.measure,
            "low": str(t.low) if t.low is not None else None,
            "high": str(t.high) if t.high is not None else None,
            "minutes": t.minutes,
            "set_by": self.set_by,
            "set_at": self.set_at,
        }


@dataclass(frozen=True)
class Excursion:
    """A spell out of range: its first and last readings out, how long it lasted (minutes), and the
    reading farthest from the range."""

    first: Sensor
    last: Sensor
    minutes: int
    worst: Sensor
    count: int
    beyond: Decimal  # how far the worst reading is outside the range


def _decimal(o: dict, name: str, measure: str) -> Decimal | None:
    text = o.get(name)
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidEvent(name, f"expected a number, found {str(text)[:20]!r}") from None
    least, most = _BOUNDS[measure]
    if not value.is_finite() or not least <= value <= most or value != value.quantize(Decimal("0.1")):
        raise InvalidEvent(name, f"expected {least} to {most} {SENSOR_UNITS[measure]} to 0.1, found {text}")
    # One spelling per bound: 1 (not 1.0), 2.5
    return Decimal(int(value)) if value == value.to_integral_value() else value.quantize(Decimal("0.1"))


def parse_threshold(o: dict) -> Threshold:
    """A threshold from a form: {"category", "measure", "low"?, "high"?, "minutes"?}.

    Raises InvalidEvent naming the field: an empty or overlong category, an unknown measure, a bound
    out of the measure's physical range (−80 to 80 °C, 0 to 100 %RH) or finer than 0.1, no bound at
    all, low above high, minutes not a whole number from 0 to a week.
    """
    category = o.get("category")
    if not isinstance(category, str) or not category.strip() or len(category.strip()) > 200:
        raise InvalidEvent("category", "expected a product category as products carry it, e.g. 叶菜")
    measure = o.get("measure")
    if measure not in MEASURES:
        raise InvalidEvent("measure", f"expected one of {', '.join(MEASURES)}, found {str(measure)[:20]!r}")
    low, high = _decimal(o, "low", measure), _decimal(o, "high", measure)
    if low is None and high is None:
        raise InvalidEvent("low", "give a lower bound, an upper bound or both")
    if low is not None and high is not None and low > high:
        raise InvalidEvent("low", f"the lower bound {low} is above the upper bound {high}")
    minutes = o.get("minutes", 0)
    if isinstance(minutes, str) and minutes.strip().isdigit() and len(minutes.strip()) < 7:
        minutes = int(minutes.strip())
    elif isinstance(minutes, str) and not minutes.strip():
        minutes = 0
    if type(minutes) is not int or not 0 <= minutes <= MAX_MINUTES:
        raise InvalidEvent(
            "minutes", f"expected whole minutes from 0 to {MAX_MINUTES}, found {str(minutes)[:20]!r}"
        )
    return Threshold(category=category.strip(), measure=measure, low=low, high=high, minutes=minutes)


def _t(category: str, measure: str, low: str | None, high: str | None, minutes: int = 0) -> Threshold:
    return Threshold(
        category, measure, Decimal(low) if low else None, Decimal(high) if high else None, minutes
    )


# Where a platform starts (GB/T 24616 cold-chain practice, GB 20799 meat handling): chilled meat and
# aquatic products at −2 to 4 °C, frozen at −18 °C or colder, leafy greens cool and humid, other
# vegetables and fruit kept out of heat. A regulator replaces any of them in the console.
DEFAULT_THRESHOLDS: tuple[Threshold, ...] = (
    _t("叶菜", "temperature", "0", "8"),
    _t("叶菜", "humidity", "85", "100", 60),
    _t("蔬菜", "temperature", "0", "30"),
    _t("水果", "temperature", "0", "25"),
    _t("肉类", "temperature", "-2", "4"),
    _t("冷冻肉", "temperature", None, "-18"),
    _t("水产品", "temperature", "-2", "4"),
    _t("蛋类", "temperature", "0", "25"),
)


def rule_in_force(
    versions: Iterable[ThresholdVersion], *, category: str, measure: str, at: str
) -> ThresholdVersion | None:
    """The latest version for (category, measure) set at or before `at` (UTC text), or None."""
    found = None
    for v in versions:
        t = v.threshold
        mine = t.category == category and t.measure == measure and v.set_at <= at
        if mine and (found is None or (v.set_at, v.id) > (found.set_at, found.id)):
            found = v
    return found


def _minutes(a: datetime, b: datetime) -> int:
    return int((b - a).total_seconds() // 60)


def _distance(value: Decimal, t: Threshold) -> Decimal:
    if t.low is not None and value < t.low:
        return t.low - value
    if t.high is not None and value > t.high:
        return value - t.high
    return Decimal(0)


def excursions(readings: Sequence[Sensor], threshold: Threshold) -> list[Excursion]:
    """The excursions of `readings` (any order; only the threshold's measure counts) that last at
    least `threshold.minutes`, in time order. See the module docstring for how long one lasts."""
    mine = sorted(
        (r for r in readings if r.type == threshold.measure),
        key=lambda r: datetime.fromisoformat(r.time.replace("Z", "+00:00")),
    )
    found: list[Excursion] = []
    spell: list[Sensor] = []

    def close(end: Sensor | None) -> None:
        first, last = spell[0], spell[-1]
        start = datetime.fromisoformat(first.time.replace("Z", "+00:00"))
        stop = datetime.fromisoformat((end or last).time.replace("Z", "+00:00"))
        minutes = _minutes(start, stop)
        if minutes >= threshold.minutes:
            worst = max(spell, key=lambda r: _distance(r.value, threshold))
            found.append(
                Excursion(
                    first=first,
                    last=last,
                    minutes=minutes,
                    worst=worst,
                    count=len(spell),
                    beyond=_distance(worst.value, threshold),
                )
            )
        spell.clear()

    for r in mine:
        if threshold.holds(r.value):
            if spell:
                close(r)
        else:
            spell.append(r)
    if spell:
        close(None)
    return found
