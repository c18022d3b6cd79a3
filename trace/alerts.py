# size: the two signals' scans (prices, cold chain) over one log mark, and their typed answers
"""Alerts: suspicious things that were accepted — a price far out of its range, a cold chain broken.

    Alerts.of(log, engine, watch=) -> Alerts       one per log (kept), so every page shares its scan
    alerts.refresh() -> int                        read the log past the mark; returns alerts added
    alerts.kept_by(keeper)                         leave the scan to another process (alert_process.py)
    alerts.list(signal=, since=, until=, lots=, limit=) -> [Alert]   after a refresh, newest first
    alerts.thresholds(at) / history()              the cold-chain thresholds in force / every version
    alerts.set_threshold(threshold, regulator=, at=) -> ThresholdVersion

Alerts are signals, never refusals: they are found *after* an event is accepted, by a scan that
reads the log from a mark (trace/store/alerts.py `TraceAlertMark`) onwards, outside the ledger's
write lock and the write path's transaction, so a capture is never slowed or blocked by them, and
refused attempts stay where they are (trace_anomaly). Pages refresh before they read, so what a
regulator sees is current; the scan is incremental, so the refresh reads only what is new.

Where the scan runs: by default in the process that reads (a page's refresh, above). Kept by an
`AlertProcess` (trace/alert_process.py, FARMTRACE_ALERT_KEEPER=process), it runs in that process
instead, nudged after each capture, and reads here do not scan: they show what it wrote, at most
one nudge behind. If that process dies, reads here scan again (the one writer is then this
process), so a page never shows alerts older than its read.

Each alert is a pure function of the log, the threshold versions and the settings (`PriceWatch`):
`price` alerts come from trace_event's price columns (a projection the replay audit checks), judged
against the product's baseline at its stage (trace/price_watch.py; the window's prices must also
precede the event in the log, so the verdict does not depend on when the scan ran); `temperature`
and `humidity` alerts come from the signed `sensors` of each entry, judged by the threshold in force
at the event's time for the category of its product (trace/cold_chain.py). Dropping the alert
tables and scanning again gives the same rows.

Each alert's `evidence` says why: for a price, the baseline (count, median, MAD, scale, window's
days), the score and the threshold; for a reading, the rule (its version, who set it, when), the
excursion's first and last readings, how long it lasted and the worst reading.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from farmtrace.ledger.log import Log

from .clock import cst_day, cst_midnight, parse_utc, to_utc_text
from .cold_chain import MEASURES, Threshold, ThresholdVersion, excursions, rule_in_force
from .errors import TraceError
from .head_index import is_index_entry
from .model.encoding import decode_entry
from .price_watch import PriceWatch, PriceWindow, comparable, price_score
from .store import alerts as store
from .store.queries import Engine

if TYPE_CHECKING:
    from .alert_process import AlertProcess

__all__ = ["SIGNALS", "Alert", "Alerts", "ColdChainEvidence", "PriceEvidence"]

SIGNALS = ("price", *MEASURES)
CHUNK = 5000  # ledger entries read per scan step (one transaction each)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PriceEvidence:
    """Why a price is an alert: its `amount` in CNY per `unit` (per kg for mass units) at `stage`,
    the baseline of the window [since_day, until_day] (CST days), its score and the threshold."""

    stage: str
    amount: str
    unit: str
    count: int
    median: str
    mad: str
    scale: str
    score: str
    threshold: str
    since_day: str
    until_day: str


@dataclass(frozen=True)
class ColdChainEvidence:
    """Why readings are an alert: the rule (threshold version `rule_id`, set by `set_by` at `set_at`)
    for `category`, and the excursion: first and last readings out, minutes, the worst reading."""

    category: str
    measure: str
    low: str | None
    high: str | None
    minutes: int
    rule_id: int
    set_by: str
    set_at: str
    first_time: str
    last_time: str
    lasted: int
    readings: int
    worst_value: str
    worst_time: str


@dataclass(frozen=True)
class Alert:
    """An alert raised by the event `event_id` (ledger `index`) recorded by `party` about `lot`."""

    event_id: str
    signal: str
    index: int
    at: datetime
    party: str
    lot: str
    product: str
    value: str
    unit: str
    evidence: PriceEvidence | ColdChainEvidence


def _alert(row: store.AlertRow) -> Alert:
    kind = PriceEvidence if row.signal == "price" else ColdChainEvidence
    return Alert(
        row.event_id,
        row.signal,
        row.index,
        parse_utc(row.at_utc),
        row.party,
        row.lot,
        row.product,
        row.value,
        row.unit,
        kind(**json.loads(row.evidence)),
    )


_known: weakref.WeakKeyDictionary[Log, Alerts] = weakref.WeakKeyDictionary()
_known_lock = threading.Lock()


class Alerts:
    """The alerts of one log whose tables live in `engine` (see the module docstring)."""

    def __init__(self, log: Log, engine: Engine, *, watch: PriceWatch) -> None:
        self.log, self.engine, self.watch = log, engine, watch
        self.store = store.alert_engine(engine)  # where the alert tables are (trace/store/alerts.py)
        self._lock = threading.Lock()
        self.keeper: AlertProcess | None = None  # the process that scans instead of this one (kept_by)
        self._keeper_lost = False
        # The prices of the window, kept between scans (price_watch.PriceWindow): valid for a scan
        # that starts at `_window_next` and judges no day whose window starts before `_window_since`.
        self._window, self._window_next, self._window_since = PriceWindow(watch), -1, date.max

    @classmethod
    def of(cls, log: Log, engine: Engine, *, watch: PriceWatch) -> Alerts:
        """The one `Alerts` of `log` in this process (made on first use)."""
        with _known_lock:
            found = _known.get(log)
            if found is None or found.watch != watch:
                found = _known[log] = cls(log, engine, watch=watch)
            return found

    def kept_by(self, keeper: AlertProcess | None) -> None:
        """Leave the scan to `keeper` (a started `AlertProcess` over the same log and tables): reads
        stop scanning while it is alive. None: reads scan again (the keeper was stopped)."""
        self.keeper, self._keeper_lost = keeper, False

    def _current(self) -> None:
        """Make the rows current for a read: scan here, unless a live keeper scans for us."""
        keeper = self.keeper
        if keeper is not None and keeper.alive():
            return  # the keeper's rows: at most one nudge behind
        if keeper is not None and not self._keeper_lost:
            self._keeper_lost = True
            logger.error("the alert keeper's process is gone: this process scans for alerts on reads")
        self.refresh()

    # --- reads ------------------------------------------------------------------------------------

    def list(
        self,
        *,
        signal: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        lots: Iterable[str] | None = None,
        limit: int = 200,
    ) -> list[Alert]:
        """The alerts (after a refresh, or as the keeper left them), newest in ledger order first,
        filtered by what is given."""
        self._current()
        with self.store.connect() as conn:
            rows = store.alert_rows(
                conn,
                signal=signal,
                since_utc=to_utc_text(since) if since else None,
                until_utc=to_utc_text(until) if until else None,
                lots=lots,
                limit=limit,
            )
        return [_alert(r) for r in rows]

    def history(self) -> list[ThresholdVersion]:
        """Every version of every cold-chain threshold, oldest first."""
        with self.store.connect() as conn:
            return store.threshold_versions(conn)

    def thresholds(self, at: datetime) -> list[ThresholdVersion]:
        """The thresholds in force at `at`, by category and measure."""
        versions = self.history()
        when = to_utc_text(at)
        keys = sorted({(v.threshold.category, v.threshold.measure) for v in versions})
        found = [rule_in_force(versions, category=c, measure=m, at=when) for c, m in keys]
        return [v for v in found if v is not None]

    def set_threshold(self, threshold: Threshold, *, regulator: str, at: datetime) -> ThresholdVersion:
        """Keep `threshold` as a new version set by `regulator` at `at`: it judges events from `at` on."""
        with self.store.begin() as conn:
            rule_id = store.add_threshold(conn, threshold, set_by=regulator, set_at=to_utc_text(at))
        return ThresholdVersion(id=rule_id, threshold=threshold, set_by=regulator, set_at=to_utc_text(at))

    # --- the scan ---------------------------------------------------------------------------------

    def refresh(self) -> int:
        """Scan the log from the mark to its current size; returns how many alerts were added.
        Called by whoever keeps the alerts: with a live keeper (`kept_by`), only that process."""
        with self._lock:
            with self.store.connect() as conn:
                mark = store.alert_mark(conn)
                versions = store.threshold_versions(conn)
            size = self.log.size
            added = 0
            while mark < size:
                hi = min(size, mark + CHUNK)
                rows = self._price_alerts(mark, hi) + self._reading_alerts(mark, hi, versions)
                with self.store.begin() as conn:
                    store.set_alert_mark(conn, hi)  # first: it takes the write lock at once
                    store.insert_alerts(conn, rows)
                added += len(rows)
                mark = hi
            return added

    def _add_price(self, p: store.PricedRow) -> None:
        amount, unit = comparable(p.amount, p.unit)
        self._window.add((p.product, p.stage, unit), cst_day(parse_utc(p.at_utc)), p.index, amount)

    def _price_alerts(self, lo: int, hi: int) -> list[dict]:
        """The price alerts of the priced events at ledger indexes [lo, hi)."""
        w = self.watch
        with self.engine.connect() as conn:
            new = store.priced_rows(conn, lo=lo, hi=hi)
            days = [cst_day(parse_utc(p.at_utc)) for p in new]
            since = min(days) - timedelta(days=w.window_days) if days else None
            if self._window_next != lo or (since is not None and since < self._window_since):
                # Not where the last scan stopped (a new process, a rescan, a late price): read the
                # window's prices again.
                self._window, self._window_since = PriceWindow(w), since or date.max
                if since is not None:
                    for h in store.priced_rows(conn, since_utc=to_utc_text(cst_midnight(since)), hi=lo):
                        self._add_price(h)
            for p in new:
                self._add_price(p)
            self._window_next = hi
            found = []
            for p, day in zip(new, days, strict=True):
                amount, unit = comparable(p.amount, p.unit)
                baseline = self._window.baseline((p.product, p.stage, unit), day, before=p.index)
                if baseline is None:
                    continue
                score = price_score(amount, baseline)
                if score <= w.threshold:
                    continue
                evidence = PriceEvidence(
                    stage=p.stage,
                    amount=str(amount.quantize(Decimal("0.01"))),
                    unit=unit,
                    count=baseline.count,
                    median=str(baseline.median),
                    mad=str(baseline.mad),
                    scale=str(baseline.scale.quantize(Decimal("0.01"))),
                    score=str(score),
                    threshold=str(w.threshold),
                    since_day=(day - timedelta(days=w.window_days)).isoformat(),
                    until_day=(day - timedelta(days=1)).isoformat(),
                )
                found.append((p, amount, unit, evidence))
            if days:  # after judging: forget what no later scan needs (a late price reads again)
                oldest = max(days) - timedelta(days=2 * w.window_days)
                if oldest > self._window_since:
                    self._window.prune(oldest)
                    self._window_since = oldest
            lots = store.event_lots(conn, [p.index for p, *_ in found])
        return [
            _row(
                p.event_id,
                "price",
                p.index,
                p.at_utc,
                p.party,
                lots.get(p.index, ""),
                p.product,
                str(p.amount),
                p.unit,
                ev,
            )
            for p, _amount, _unit, ev in found
        ]

    def _reading_alerts(self, lo: int, hi: int, versions: Sequence[ThresholdVersion]) -> list[dict]:
        """The temperature and humidity alerts of the events with readings at indexes [lo, hi)."""
        read = []
        for index, entry in self.log.read_entries(lo, hi):
            if is_index_entry(entry) or b'"sensors"' not in entry:
                continue
            try:
                signed = decode_entry(entry)
            except TraceError:
                continue  # a damaged entry is the audit's finding, not an alert
            if signed.event.sensors:
                read.append((index, signed))
        if not read:
            return []
        with self.engine.connect() as conn:
            wanted = {i.lot for _, s in read if not s.event.outputs for i in s.event.inputs}
            products = {code: json.loads(text) for code, text in store.lot_products(conn, wanted).items()}
        rows = []
        for index, signed in read:
            e = signed.event
            if e.outputs:
                named = [(o.lot, o.product.name_zh, o.product.category) for o in e.outputs]
            else:
                named = [
                    (
                        i.lot,
                        products.get(i.lot, {}).get("name_zh", ""),
                        products.get(i.lot, {}).get("category"),
                    )
                    for i in e.inputs
                ]
            at = to_utc_text(e.time)
            for measure in MEASURES:
                for lot, product, category in named:
                    rule = (
                        rule_in_force(versions, category=category, measure=measure, at=at)
                        if category
                        else None
                    )
                    spells = excursions(e.sensors, rule.threshold) if rule else []
                    if not spells:
                        continue
                    x = max(spells, key=lambda s: (s.beyond, s.minutes))
                    t = rule.threshold  # type: ignore[union-attr]
                    evidence = ColdChainEvidence(
                        category=t.category,
                        measure=measure,
                        low=_text(t.low),
                        high=_text(t.high),
                        minutes=t.minutes,
                        rule_id=rule.id,
                        set_by=rule.set_by,
                        set_at=rule.set_at,  # type: ignore[union-attr]
                        first_time=x.first.time,
                        last_time=x.last.time,
                        lasted=x.minutes,
                        readings=x.count,
                        worst_value=str(x.worst.value),
                        worst_time=x.worst.time,
                    )
                    rows.append(
                        _row(
                            signed.id,
                            measure,
                            index,
                            at,
                            e.party,
                            lot,
                            product,
                            str(x.worst.value),
                            x.worst.unit,
                            evidence,
                        )
                    )
                    break  # one alert per event and measure: the first lot whose rule it breaks
        return rows


def _text(d: Decimal | None) -> str | None:
    return str(d) if d is not None else None


def _row(event_id, signal, index, at_utc, party, lot, product, value, unit, evidence) -> dict:
    return {
        "event_id": event_id,
        "signal": signal,
        "ledger_index": index,
        "at_utc": at_utc,
        "party": party,
        "lot": lot,
        "product": product,
        "value": value,
        "unit": unit,
        "evidence": json.dumps(asdict(evidence), ensure_ascii=False, sort_keys=True, separators=(",", ":")),
    }
