"""Alerts over JSON: what was accepted but looks wrong, and the cold-chain thresholds (docs/alerts.md).

GET  /alerts?signal=&since=&until=&limit=   (regulator) alerts, newest first, with their evidence
GET  /alerts/thresholds[?all=true]          public: the thresholds in force (or every version)
POST /alerts/thresholds                     (regulator) a new version of one threshold: 201

Alerts never block a capture: they are found after it (trace/alerts.py). A threshold is
configuration off the ledger, kept with the regulator who set it and when; a refused one is a 400
naming the field, and nothing is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from farmtrace.trace.clock import bounded_time
from farmtrace.trace.cold_chain import parse_threshold
from farmtrace.web.console.alerts import alerts_of

from ..deps import RegulatorDep, StateDep
from ..schemas import problems
from ..schemas.alerts import AlertPublic, ThresholdCreate, ThresholdPublic, alert_public, threshold_public

router = APIRouter(tags=["alerts"])


@router.get("/alerts", response_model=list[AlertPublic], responses=problems(400, 403))
def list_alerts(
    state: StateDep,
    regulator: RegulatorDep,
    signal: Literal["price", "temperature", "humidity"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AlertPublic]:
    found = alerts_of(state).list(
        signal=signal, since=bounded_time("since", since), until=bounded_time("until", until), limit=limit
    )
    return [alert_public(a) for a in found]


@router.get("/alerts/thresholds", response_model=list[ThresholdPublic])
def thresholds(state: StateDep, all: bool = False) -> list[ThresholdPublic]:
    alerts = alerts_of(state)
    found = alerts.history() if all else alerts.thresholds(state.clock())
    return [threshold_public(v) for v in found]


@router.post(
    "/alerts/thresholds", status_code=201, response_model=ThresholdPublic, responses=problems(400, 403)
)
def set_threshold(state: StateDep, regulator: RegulatorDep, body: ThresholdCreate) -> ThresholdPublic:
    threshold = parse_threshold(body.model_dump())
    return threshold_public(
        alerts_of(state).set_threshold(threshold, regulator=regulator.id, at=state.clock())
    )
