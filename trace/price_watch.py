"""Price watch: a price far outside its product's recent range at its stage, judged robustly.

    PriceWatch(window_days=30, min_samples=10, threshold=5.0, floor=0.10)   the settings
    price_baseline(amounts, *, watch) -> Baseline | None                    None: too few to judge
    PriceWindow(watch).add(group, day, index, amount) / .baseline(group, day, before=)   kept in memory
    price_score(amount, baseline) -> Decimal                                how far out, in robust units
    comparable(amount, unit) -> (amount, unit)                              per kg for every mass unit

The baseline of a price is the median and the median absolute deviation (MAD) of the same product's
prices at the same stage, in the same footing (CNY per kg for every mass unit; a counted unit only
with itself), over the `window_days` whole China Standard Time days before the price's own day.
Its own day is left out, so a burst of bad prices on one day cannot become its own baseline.

The score is |price − median| / scale, where scale = max(1.4826 × MAD, floor × median): 1.4826 × MAD
estimates the standard deviation of normally distributed prices (and, unlike it, is not moved by a
few wild ones); the floor keeps a market whose prices never change (MAD 0) from calling every fen
of difference infinite. A price scores above `threshold` is an alert. With the defaults (threshold
5, floor 10 %) a price is flagged at the earliest when it is half as much again as, or half, the
median, and a 30-fold jump scores about 290. With fewer than `min_samples` prices in the window
nothing is judged: a new product has no range yet.

Everything here is pure arithmetic over `Decimal`s: the alert scanner (trace/alerts.py) brings the
prices, and these functions never read a clock or a table.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .errors import InvalidEvent
from .model.units import MASS_UNITS

__all__ = [
    "MAD_TO_SIGMA",
    "Baseline",
    "PriceWatch",
    "PriceWindow",
    "comparable",
    "price_baseline",
    "price_score",
]

MAD_TO_SIGMA = Decimal("1.4826")  # 1 / Φ⁻¹(3/4): MAD × this estimates σ of a normal sample
_FEN = Decimal("0.01")


@dataclass(frozen=True)
class PriceWatch:
    """How prices are watched (FARMTRACE_PRICE_WINDOW_DAYS, _MIN_SAMPLES, _THRESHOLD, _FLOOR).

    Raises InvalidEvent naming the setting when one is out of its range.
    """

    window_days: int = 30
    min_samples: int = 10
    threshold: Decimal = Decimal(5)
    floor: Decimal = Decimal("0.10")

    def __post_init__(self) -> None:
        if not 1 <= self.window_days <= 366:
            raise InvalidEvent("window_days", f"expected 1 to 366 days, found {self.window_days}")
        if not 3 <= self.min_samples <= 100_000:
            raise InvalidEvent("min_samples", f"expected 3 to 100000 prices, found {self.min_samples}")
        if not Decimal(1) <= self.threshold <= Decimal(1000):
            raise InvalidEvent("threshold", f"expected 1 to 1000, found {self.threshold}")
        if not Decimal("0.001") <= self.floor <= Decimal(1):
            raise InvalidEvent("floor", f"expected 0.001 to 1 (a fraction of the median), found {self.floor}")


@dataclass(frozen=True)
class Baseline:
    """The recent range a price is judged against: `count` prices, their median and MAD (CNY per
    `unit`, to the fen), and the scale a score divides by."""

    count: int
    median: Decimal
    mad: Decimal
    scale: Decimal


def comparable(amount: Decimal, unit: str) -> tuple[Decimal, str]:
    """The price in CNY per kg if `unit` is a mass unit (3 yuan per 市斤 is 6 per kg), else as it is."""
    factor = MASS_UNITS.get(unit)
    if factor is None:
        return amount, unit
    return amount / factor, "kg"


def _median(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def price_baseline(amounts: Sequence[Decimal], *, watch: PriceWatch) -> Baseline | None:
    """The baseline of these prices (one product, stage and footing, over one window), or None when
    there are fewer than `watch.min_samples` of them."""
    if len(amounts) < watch.min_samples:
        return None
    median = _median(amounts)
    mad = _median([abs(a - median) for a in amounts])
    scale = max(MAD_TO_SIGMA * mad, watch.floor * median)
    if scale <= 0:  # every price 0: any price at all is news, but not in these units
        scale = _FEN
    return Baseline(count=len(amounts), median=median.quantize(_FEN), mad=mad.quantize(_FEN), scale=scale)


def price_score(amount: Decimal, baseline: Baseline) -> Decimal:
    """|amount − median| / scale, to two places: how many robust standard deviations out it is."""
    return (abs(amount - baseline.median) / baseline.scale).quantize(_FEN)


class PriceWindow:
    """Recorded prices by group (product, stage, footing) and CST day, kept so that a scan that
    goes on where the last one stopped does not read the window's prices again.

    `baseline(group, day, before=i)` is the baseline of the group's prices on the `window_days`
    days before `day` whose ledger index is below `i` (prices the log held before the judged one).
    Each group's sorted window is kept per day until a price is added to one of its days: a price
    of today's leaves today's window (the days before) as it was.
    """

    def __init__(self, watch: PriceWatch) -> None:
        self.watch = watch
        self._days: dict[Hashable, dict[date, list[tuple[int, Decimal]]]] = {}
        self._windows: dict[Hashable, dict[date, tuple[list[int], list[Decimal], dict]]] = {}

    def add(self, group: Hashable, day: date, index: int, amount: Decimal) -> None:
        self._days.setdefault(group, {}).setdefault(day, []).append((index, amount))
        windows = self._windows.get(group, {})
        for d in [d for d in windows if 0 < (d - day).days <= self.watch.window_days]:
            del windows[d]  # its window holds `day`

    def prune(self, before: date) -> None:
        """Forget the days before `before` (no baseline asked for later needs them)."""
        for days in self._days.values():
            for d in [d for d in days if d < before]:
                del days[d]
        for windows in self._windows.values():
            for d in [d for d in windows if d - timedelta(days=self.watch.window_days) < before]:
                del windows[d]

    def baseline(self, group: Hashable, day: date, *, before: int) -> Baseline | None:
        windows = self._windows.setdefault(group, {})
        cached = windows.get(day)
        if cached is None:
            days = self._days.get(group, {})
            points = sorted(
                pt
                for d in range(1, self.watch.window_days + 1)
                for pt in days.get(day - timedelta(days=d), [])
            )
            cached = windows[day] = ([i for i, _ in points], [a for _, a in points], {})
        indexes, amounts, known = cached
        k = bisect_left(indexes, before)
        if k not in known:
            known[k] = price_baseline(amounts[:k], watch=self.watch)
        return known[k]
