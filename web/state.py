"""The app's state, typed: what the composition root builds once and every page reads.

`farmtrace.api.app.create_app` builds one `AppState` and makes it the app's `state`, so
`request.app.state` *is* an `AppState` (the attribute names are the ones routes, tests and scripts
have always used: `service`, `log`, `clock`, `settings`, `applications`, `audit_job`, `witnessing`).
Web code reads it through `app_state(request)` — or the `Annotated` aliases of web/deps.py — never
by string.

The settings object is the api floor's `Settings`; this floor may not import it (STYLE.md, the
floors), so it is typed here by the `SiteSettings` protocol: the part of it the pages read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fastapi import Request

from farmtrace.ledger.log import Log
from farmtrace.ledger.note import CosignatureVerifier
from farmtrace.ledger.policy import Policy
from farmtrace.ledger.witnessing import Witnessing
from farmtrace.trace.applications import Applications
from farmtrace.trace.audits import AuditJob
from farmtrace.trace.clock import Clock
from farmtrace.trace.label_scans import ScanPolicy
from farmtrace.trace.price_watch import PriceWatch
from farmtrace.trace.service import TraceService

__all__ = ["AppState", "SiteSettings", "app_state"]


class SiteSettings(Protocol):
    """The settings the pages read (api/settings.py `Settings` satisfies it)."""

    @property
    def public_url(self) -> str:
        """The base URL printed in QR labels and certificates."""
        ...

    @property
    def vocabulary_base(self) -> str:
        """The base URI of the EPCIS extension vocabulary (exports name their terms under it)."""
        ...

    def witnesses(self) -> list[CosignatureVerifier]:
        """The trusted witnesses' verifiers, for reading the cosignatures of a checkpoint."""
        ...

    def witness_policy(self) -> Policy:
        """The witness policy (quorum, max age) a consumer's page holds the checkpoint to."""
        ...

    def index_age_limit(self) -> int:
        """The most seconds a journey's index entry may be older than its checkpoint's witnesses."""
        ...

    def price_watch(self) -> PriceWatch:
        """How prices are watched for alerts (trace/price_watch.py)."""
        ...

    def label_scan_policy(self) -> ScanPolicy:
        """When pre-printed labels' scans warn, and how many count (trace/label_scans.py)."""
        ...


@dataclass(eq=False)
class AppState:
    """Everything one app serves from: built once by `create_app`, shared by every request.

    `clock` is the app's one source of the current time (trace/clock.py); `service`, the audit runner
    and the pages all read it, so a test that pins it pins every date the app shows.
    """

    settings: SiteSettings
    clock: Clock
    log: Log
    service: TraceService
    applications: Applications
    audit_job: AuditJob
    # The log's submitter to FARMTRACE_WITNESSES (ledger/witnessing.py); with none configured it
    # has no endpoints and is never started. The health page and GET /ledger/health read its status.
    witnessing: Witnessing


def app_state(request: Request) -> AppState:
    """The `AppState` of the app serving `request`."""
    return request.app.state
