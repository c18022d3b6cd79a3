"""A party's EPCIS 2.0 gateway: the standard capture interface, run on the party's own premises.

    OPTIONS /capture                  what the capture interface takes (GS1-* headers, 204)
    OPTIONS /capture/{captureID}      the job's GS1-* headers (204), or 404
    POST    /capture                  an EPCISDocument: 202, `Location: /capture/{captureID}`
    GET     /capture                  the capture jobs, oldest first (perPage, nextPageToken)
    GET     /capture/{captureID}      one capture job (the OpenAPI's CaptureJob)

The platform never holds a party's private key, so the capture interface of the EPCIS 2.0 REST
binding (tests/vectors/epcis/epcis-rest-openapi.json) lives here, in a process the market or the
chain runs with its own key and its own database (`farmtrace gateway`, api/cli/gateway.py). Each
event is mapped to a farmtrace event (trace/epcis_capture.py, docs/epcis-mapping.md), signed with
the party's key and forwarded to the platform's `POST /events/batch`; the platform's rules judge it.
A refusal, by the mapping or by the platform, is the capture job's error naming the event (its index
in the document and its eventID) with the reason or the platform's problem.

The job runs while the POST waits (one job at a time, so each event follows the lots' heads of the
one before): a 202 names a finished job. GS1-Capture-Error-Behaviour: `rollback` (the default)
sends nothing if any event cannot be mapped or signed; but the ledger is append-only, so events the
platform recorded before one it refused stay recorded, and the job's error says so. `proceed` sends
every event that maps. The same events sent again find the same job: nothing is signed or recorded
twice (a job the platform could not be reached for sends its signed entries again).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from farmtrace.client import Client, ClientError, PartyKey
from farmtrace.trace.clock import utc_now
from farmtrace.trace.epcis_capture import (
    MAX_CAPTURE_EVENTS,
    Captured,
    capture_document,
    document_events,
    needs_ship_event,
)
from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.model.encoding import decode_entry
from farmtrace.trace.store.capture_jobs import CaptureJob, CaptureJobs, events_digest

__all__ = ["Gateway", "GatewaySettings", "create_gateway_app"]

EPCIS_VERSION = "2.0.0"
CBV_VERSION = "2.0.0"
MAX_CAPTURE_BYTES = 4 * 1024 * 1024  # GS1-EPCIS-Capture-File-Size-Limit
BEHAVIOURS = ("rollback", "proceed")
PAGE = 30  # capture jobs per page unless perPage says otherwise (at most MAX_PAGE)
MAX_PAGE = 100
_MEDIA = ("application/json", "application/ld+json")


@dataclass(frozen=True)
class GatewaySettings:
    """What `farmtrace gateway` is started with: the party's key, the platform's URL and the
    platform's vocabulary base URI (FARMTRACE_VOCAB_BASE there; by default its URL)."""

    key: PartyKey
    platform: str
    base: str


class PlatformUnavailable(Exception):
    """The platform could not be reached while the job's events were being signed."""


class Gateway:
    """Runs capture jobs: map, sign with the party's key, forward, and record each event's outcome."""

    def __init__(
        self, settings: GatewaySettings, jobs: CaptureJobs, *, client: Client, clock: Callable[[], datetime]
    ) -> None:
        self.settings, self.jobs, self.client, self.clock = settings, jobs, client, clock
        self._lock = threading.Lock()

    def capture(self, doc: dict[str, Any], *, behaviour: str) -> CaptureJob:
        """Run (or find) the job of `doc`. Raises InvalidEvent for a malformed document (nothing is
        stored) and PlatformUnavailable if signing needed the platform and it could not be reached."""
        captured = capture_document(doc, party=self.settings.key.party, base=self.settings.base)
        try:
            digest = events_digest(document_events(doc), behaviour)
        except ValueError as exc:
            raise InvalidEvent("epcisBody.eventList", str(exc)) from exc
        with self._lock:
            job = self.jobs.find_digest(digest)
            if job is not None and job.retry:
                return self._send(job)  # the same signed entries again: the platform keeps one of each
            if job is not None and (job.running or not job.recorded_nothing()):
                return job  # idempotent: being sent, or (some of) its events are on the ledger
            # New, or a job that recorded nothing (e.g. refused under rollback): run it (again).
            fresh = job is None
            job = CaptureJob(f"id{digest[:32]}", digest, behaviour, created_at=self._now())
            job.results = [_outcome(c) for c in captured]
            job.entries = [None] * len(captured)
            refused = any(c.refusal for c in captured)
            if not (refused and behaviour == "rollback"):
                refused = self._sign(job, captured) or refused
            if refused and behaviour == "rollback":
                return self._finish(job)
            # Stored with its signed entries before they are sent: after a crash mid-send, the
            # resubmission sends these same entries (which the platform records once), never newly
            # signed ones; another gateway process on this database that took the job first wins.
            job.retry = True
            stored = self.jobs.claim(job) if fresh else self.jobs.save(job)
            if stored is None:
                return self.jobs.find_digest(digest) or job
            return self._send(stored)

    def _now(self) -> str:
        return self.clock().isoformat(timespec="seconds").replace("+00:00", "Z")

    def _sign(self, job: CaptureJob, captured: list[Captured]) -> bool:
        """Sign each mapped event (inputs follow the lot's last event in this document, else the
        lot's head on the platform); return whether any was refused."""
        heads: dict[str, str] = {}
        refused = False
        for c in captured:
            if c.wire is None:
                continue
            wire = dict(c.wire)
            wire["inputs"] = [
                {**r, "follows": [heads[r["lot"]]]} if r["lot"] in heads else r for r in wire["inputs"]
            ]
            try:
                if needs_ship_event(wire):  # a receipt in standard fields: the shipment is the lot's head
                    lot = wire["inputs"][0]["lot"]
                    wire["detail"] = {
                        **wire["detail"],
                        "ship_event": heads.get(lot) or self.client.lot(lot)["head"],
                    }
                entry = self.client.entry(wire)
            except httpx.TransportError as exc:
                raise PlatformUnavailable(f"{self.settings.platform}: {exc or type(exc).__name__}") from exc
            except ClientError as exc:  # a lot the platform does not know
                job.results[c.index].update(
                    status="refused", error=_platform_problem(c.index, c.epcis_id, exc.problem)
                )
                refused = True
                continue
            except InvalidEvent as exc:
                job.results[c.index].update(status="refused", error=_refusal(c.index, c.epcis_id, exc))
                refused = True
                continue
            signed = decode_entry(entry)
            for lot in [r.lot for r in signed.event.inputs] + [o.lot for o in signed.event.outputs]:
                heads[lot] = signed.id
            job.entries[c.index] = base64.b64encode(entry).decode()
        return refused

    def _send(self, job: CaptureJob) -> CaptureJob:
        """Forward the signed entries not yet recorded, in order; record each one's receipt or problem."""
        pending = [
            i for i, e in enumerate(job.entries) if e is not None and job.results[i]["status"] != "recorded"
        ]
        try:
            answer = self.client.submit_many([base64.b64decode(job.entries[i] or "") for i in pending])
        except (httpx.TransportError, ClientError) as exc:
            job.retry = True
            detail = f"the platform {self.settings.platform} could not take the events: {exc}; send the document again"
            for i in pending:
                job.results[i].update(status="not_sent", error=_problem(i, job.results[i].get("eventID"),
                                      "epcisException:ImplementationException", "Platform unavailable", 503, detail))  # fmt: skip
            return self._finish(job)
        job.retry = False
        for i, result in zip(pending, answer["results"], strict=True):
            outcome = job.results[i]
            outcome.pop("error", None)
            if result["ok"]:
                outcome.update(status="recorded", eventId=result["receipt"]["event_id"])
            else:
                problem = _platform_problem(i, outcome.get("eventID"), result["problem"])
                if job.behaviour == "rollback":
                    problem["detail"] += (
                        " (the ledger is append-only: events recorded before this one stay recorded)"
                    )
                outcome.update(status="refused", error=problem)
        return self._finish(job)

    def _finish(self, job: CaptureJob) -> CaptureJob:
        job.running = False
        job.success = all(r["status"] == "recorded" for r in job.results)
        job.finished_at = self._now()
        return self.jobs.save(job)


def _outcome(c: Captured) -> dict[str, Any]:
    out: dict[str, Any] = {"index": c.index, "status": "not_sent"}
    if c.epcis_id is not None:
        out["eventID"] = c.epcis_id
    if c.refusal is not None:
        out.update(status="refused", error=_refusal(c.index, c.epcis_id, c.refusal))
    return out


def _problem(
    index: int, epcis_id: str | None, kind: str, title: str, status: int, detail: str
) -> dict[str, Any]:
    named = f"event {index}" + (f" ({epcis_id})" if epcis_id else "")
    out: dict[str, Any] = {"type": kind, "title": title, "status": status, "detail": f"{named}: {detail}"}
    out["eventIndex"] = index
    if epcis_id is not None:
        out["eventID"] = epcis_id
    return out


def _refusal(index: int, epcis_id: str | None, exc: InvalidEvent) -> dict[str, Any]:
    out = _problem(index, epcis_id, "epcisException:ValidationException", "Event not representable", 400,
                   f"{exc.field}: {exc.message}")  # fmt: skip
    out["field"] = exc.field
    return out


def _platform_problem(index: int, epcis_id: str | None, problem: dict[str, Any]) -> dict[str, Any]:
    out = _problem(index, epcis_id, str(problem.get("type") or "about:blank"),
                   str(problem.get("title") or "Refused by the platform"), int(problem.get("status") or 422),
                   str(problem.get("detail") or problem))  # fmt: skip
    for key in ("rule", "field"):
        if key in problem:
            out[key] = problem[key]
    out["platformProblem"] = problem
    return out


# --- HTTP ------------------------------------------------------------------------------------------


def _headers(base: str) -> dict[str, str]:
    return {
        "GS1-EPCIS-Version": EPCIS_VERSION,
        "GS1-CBV-Version": CBV_VERSION,
        "GS1-Extensions": f"farmtrace={base.rstrip('/')}/ns#",
    }


def _limits() -> dict[str, str]:
    return {
        "GS1-EPCIS-Capture-Limit": str(MAX_CAPTURE_EVENTS),
        "GS1-EPCIS-Capture-File-Size-Limit": str(MAX_CAPTURE_BYTES),
    }


def _answer(
    status: int, kind: str, title: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"type": f"epcisException:{kind}", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def _job_body(job: CaptureJob) -> dict[str, Any]:
    body: dict[str, Any] = {"captureID": job.capture_id, "createdAt": job.created_at}
    if job.finished_at is not None:
        body["finishedAt"] = job.finished_at
    body.update(running=job.running, success=job.success, captureErrorBehaviour=job.behaviour)
    body["errors"] = job.errors()
    body["farmtrace:events"] = job.results
    return body


def create_gateway_app(
    settings: GatewaySettings, jobs: CaptureJobs, *, http: httpx.Client | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:  # fmt: skip
    """The gateway's ASGI app; `http` talks to the platform (default: an httpx client on its URL)."""
    client = Client(settings.platform, key=settings.key, http=http, clock=clock)
    gateway = Gateway(settings, jobs, client=client, clock=clock)
    app = FastAPI(title=f"farmtrace EPCIS gateway ({settings.key.party})", docs_url=None, redoc_url=None)
    app.state.gateway = gateway
    common = _headers(settings.base)

    @app.options("/capture")
    def discover() -> Response:
        headers = {
            "Allow": "OPTIONS, POST, GET",
            **common,
            **_limits(),
            "GS1-Capture-Error-Behaviour": "rollback, proceed",
        }
        return Response(status_code=204, headers=headers)

    @app.post("/capture")
    async def capture(request: Request) -> Response:
        return await _capture(request, gateway, common)

    @app.get("/capture")
    def list_jobs(perPage: int = PAGE, nextPageToken: str | None = None) -> Response:
        # The binding lets a server cap perPage ("a global upper limit ... the client cannot override").
        if perPage < 1:
            return _answer(
                400, "ValidationException", "Invalid perPage", f"perPage is at least 1, found {perPage}"
            )
        perPage = min(perPage, MAX_PAGE)
        if nextPageToken is not None and not nextPageToken.isdigit():
            return _answer(
                400, "ValidationException", "Invalid nextPageToken", "use the token a Link header gave"
            )
        page = jobs.page(after=int(nextPageToken) if nextPageToken else None, limit=perPage)
        headers = dict(common)
        if len(page) == perPage:
            headers["Link"] = f'</capture?perPage={perPage}&nextPageToken={page[-1].seq}>; rel="next"'
        return JSONResponse([_job_body(j) for j in page], headers=headers)

    @app.options("/capture/{captureID}")
    def discover_job(captureID: str) -> Response:
        if jobs.find(captureID) is None:
            return _answer(
                404, "NoSuchResourceException", "No such capture job", f"no capture job {captureID[:80]!r}"
            )
        return Response(status_code=204, headers={"Allow": "OPTIONS, GET", **common})

    @app.exception_handler(StarletteHTTPException)
    def http_problem(request: Request, exc: StarletteHTTPException) -> Response:
        # Routing's own answers (an unknown path, a method a path lacks) as problems too.
        kind = {404: "NoSuchResourceException", 405: "MethodNotAllowedException"}.get(
            exc.status_code, "ImplementationException"
        )
        return _answer(exc.status_code, kind, str(exc.detail), f"{request.method} {request.url.path}: {exc.detail}",
                       dict(exc.headers or {}))  # fmt: skip

    @app.get("/capture/{captureID}")
    def get_job(captureID: str) -> Response:
        job = jobs.find(captureID)
        if job is None:
            return _answer(
                404, "NoSuchResourceException", "No such capture job", f"no capture job {captureID[:80]!r}"
            )
        return JSONResponse(_job_body(job), headers=common)

    return app


async def _capture(request: Request, gateway: Gateway, common: dict[str, str]) -> Response:
    """POST /capture: the request's checks in the binding's order (media type, size, header, JSON,
    event count), then the job; 202 names it."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in _MEDIA:
        return _answer(415, "UnsupportedMediaTypeException", "Unsupported media type",
                       f"send the EPCISDocument as {' or '.join(_MEDIA)}, not {ctype or 'no type'}")  # fmt: skip
    body = await request.body()
    if len(body) > MAX_CAPTURE_BYTES:
        return _answer(413, "CaptureLimitExceededException", "Capture payload too large",
                       f"at most {MAX_CAPTURE_BYTES} bytes, found {len(body)}", _limits())  # fmt: skip
    asked = request.headers.get("GS1-EPCIS-Version")
    if asked is not None and not re.fullmatch(r"2\.0(?:\.[0-9]+)*", asked.strip()):
        return _answer(406, "NotAcceptableException", "Unsupported EPCIS version",
                       f"this gateway speaks EPCIS {EPCIS_VERSION}, not {asked[:20]!r}")  # fmt: skip
    behaviour = request.headers.get("GS1-Capture-Error-Behaviour", "rollback")
    if behaviour not in BEHAVIOURS:
        return _answer(400, "ValidationException", "Invalid header",
                       f"GS1-Capture-Error-Behaviour is rollback or proceed, found {behaviour[:40]!r}")  # fmt: skip
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return _answer(400, "ValidationException", "Not JSON", f"the body is not JSON: {exc}")
    try:
        count = len(document_events(doc))
    except InvalidEvent as exc:
        return _answer(400, "ValidationException", "Invalid EPCIS document", f"{exc.field}: {exc.message}")
    if count > MAX_CAPTURE_EVENTS:
        return _answer(413, "CaptureLimitExceededException", "Too many events",
                       f"at most {MAX_CAPTURE_EVENTS} events, found {count}", _limits())  # fmt: skip
    try:
        job = await run_in_threadpool(gateway.capture, doc, behaviour=behaviour)
    except InvalidEvent as exc:
        return _answer(400, "ValidationException", "Invalid EPCIS document", f"{exc.field}: {exc.message}")
    except PlatformUnavailable as exc:
        return _answer(503, "ImplementationException", "Platform unavailable",
                       f"{exc}; nothing was recorded, send the document again")  # fmt: skip
    return Response(status_code=202, headers={**common, "Location": f"/capture/{job.capture_id}"})
