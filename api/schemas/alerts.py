"""Wire models of the alerts' JSON (api/routes/alerts.py): alerts with their evidence, thresholds."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, Field

from farmtrace.trace.alerts import Alert
from farmtrace.trace.cold_chain import ThresholdVersion

from .problems import _Public

__all__ = ["AlertPublic", "ThresholdCreate", "ThresholdPublic", "alert_public", "threshold_public"]


class AlertPublic(_Public):
    """An alert: `signal` price | temperature | humidity, raised by event `event_id` (ledger `index`)
    about `lot`; `evidence` is the baseline and score (price) or the rule and excursion (readings)."""

    event_id: str
    signal: str
    index: int
    at: str
    party: str
    lot: str
    product: str
    value: str
    unit: str
    evidence: dict[str, Any]


class ThresholdPublic(_Public):
    """A cold-chain threshold version: the range of `measure` for `category`, who set it and when."""

    id: int
    category: str
    measure: str
    low: str | None = None
    high: str | None = None
    minutes: int
    set_by: str
    set_at: str


class ThresholdCreate(BaseModel):
    """POST /alerts/thresholds: a new version of a category's threshold (checked by
    trace/cold_chain.py `parse_threshold`, which names the field it refuses)."""

    category: str = Field(max_length=200)
    measure: str = Field(max_length=20)
    low: str | None = Field(default=None, max_length=20)
    high: str | None = Field(default=None, max_length=20)
    minutes: int = 0


def alert_public(a: Alert) -> AlertPublic:
    return AlertPublic(
        event_id=a.event_id, signal=a.signal, index=a.index, at=a.at.isoformat(), party=a.party, lot=a.lot,
        product=a.product, value=a.value, unit=a.unit, evidence=asdict(a.evidence),
    )  # fmt: skip


def threshold_public(v: ThresholdVersion) -> ThresholdPublic:
    return ThresholdPublic(**v.to_wire())
