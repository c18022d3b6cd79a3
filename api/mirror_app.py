"""The mirror's HTTP face: the log's tiles as the mirror holds them, and its add-checkpoint.

    GET  /log/checkpoint              the mirror checkpoint: the log's note, the witnesses'
                                      cosignatures and the mirror's own (cosignature/v1)
    GET  /log/tile/…                  hash tiles and entry bundles (api/routes/tiles.py, the same
                                      routes the service has, over the mirror's copy)
    GET  /log/checkpoints?after=N     the checkpoints the mirror holds above size N (default: all),
                                      1,000 at most, with their cosignatures (ledger/checkpoint_list.py): what a restore reads, page by page
    POST /add-checkpoint              c2sp.org/tlog-witness's request (see `add_checkpoint` below)
    GET  /                            the mirror's name, verifier key, origin and sizes (operators)

A separate app, run by `farmtrace mirror`, with its own database; it never opens the log's.
"""

from __future__ import annotations

import hashlib
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.checkpoint_list import CHECKPOINT_PAGE, format_checkpoint_list
from farmtrace.ledger.errors import InconsistencyError, LedgerError, MalformedError, NotFoundError
from farmtrace.ledger.log import Log
from farmtrace.ledger.mirror import Mirror
from farmtrace.ledger.verify import check_checkpoint_consistency, format_evidence
from farmtrace.ledger.witness import format_size, parse_add_checkpoint

from .deps import get_log
from .errors import problem_body
from .mirroring import Follower
from .routes import tiles

__all__ = ["create_mirror_app"]

TEXT = "text/plain; charset=utf-8"
LIST = "text/x.farmtrace.checkpoints"
WAIT = 10.0  # seconds an add-checkpoint waits for the mirror to hold the checkpoint


class _Held:
    """The read-only Log over the mirror's store, opened once the mirror holds a checkpoint."""

    def __init__(self, mirror: Mirror) -> None:
        self._mirror = mirror
        self._log: Log | None = None

    async def __call__(self) -> Log:  # async like get_log, which it stands in for
        if self._log is None:
            if self._mirror.held() is None:
                raise NotFoundError("the mirror holds no checkpoint of the log yet")
            self._log = Log(self._mirror.store, self._mirror.log_key)
        return self._log


def create_mirror_app(mirror: Mirror, follower: Follower) -> FastAPI:
    """The ASGI app serving `mirror`'s copy; the follower is started and stopped with it."""
    held = _Held(mirror)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        follower.start()
        yield
        follower.stop()

    app = FastAPI(
        title="farmtrace mirror", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None
    )
    app.include_router(tiles.router)
    app.dependency_overrides[get_log] = held

    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, exc: LedgerError) -> Response:
        try:
            body = problem_body(exc)
        except LedgerError:
            body = {"title": "Internal error", "status": 500, "detail": str(exc)}
        return JSONResponse(body, status_code=body["status"], media_type="application/problem+json")

    @app.get("/log/checkpoints", response_class=Response)
    async def checkpoints(after: int = -1) -> Response:
        """A page of the held checkpoints larger than `after` (ledger/checkpoint_list.py CHECKPOINT_PAGE)."""
        await held()  # 404 before the first checkpoint
        page = await run_in_threadpool(mirror.store.checkpoints_after, after, CHECKPOINT_PAGE)
        data = format_checkpoint_list(page)
        return Response(data, media_type=LIST, headers={"Cache-Control": "public, max-age=5"})

    @app.post("/add-checkpoint", response_class=Response)
    async def add_checkpoint(request: Request) -> Response:
        body = await request.body()
        return await run_in_threadpool(_add_checkpoint, mirror, follower, body)

    @app.get("/", response_class=PlainTextResponse)
    def about() -> PlainTextResponse:
        cp = mirror.held()
        name = mirror.cosigner.verifier.key_string() if mirror.cosigner else "(no cosigner key)"
        origin_hash = hashlib.sha256(mirror.log_key.name.encode()).hexdigest()
        status = follower.status
        lines = [
            f"mirror {name}",
            f"log {mirror.log_key.key_string()} ({origin_hash})",
            f"size {cp.size if cp else 'none'}",
            f"error {status.error}" if status.error else "error none",
            "stopped: the log forked (evidence kept)" if status.evidence else "following",
        ]
        return PlainTextResponse("\n".join(lines) + "\n")

    return app


def _add_checkpoint(mirror: Mirror, follower: Follower, body: bytes) -> Response:
    """c2sp.org/tlog-witness add-checkpoint, as tlog-mirror has a mirror answer it, with one change.

    Checked as a witness checks it: 400 malformed, 404 another log, 403 not signed by the log,
    409 (`text/x.tlog.size`) when the old size is not the mirror checkpoint's size, 422 when the
    proof does not verify (with the evidence for a fork; the follower finds the fork itself when
    the log serves it, and stops then). Then,
    instead of an empty answer, the mirror fetches the entries itself (it pulls tiles; there is no
    add-entries) and, once it holds the checkpoint durably, answers 200 with its cosignature on
    it: the same statement tlog-mirror's add-entries answer makes. 503 if it could not within 10 s.
    """
    try:
        req = parse_add_checkpoint(body)
        origin = req.note.split(b"\n", 1)[0].decode("utf-8", "replace")
        if origin != mirror.log_key.name:
            return PlainTextResponse(f"this mirror does not mirror the log {origin!r}\n", status_code=404)
        try:
            cp = open_checkpoint(req.note, mirror.log_key).checkpoint
        except MalformedError:
            raise
        except LedgerError as exc:
            return PlainTextResponse(f"the checkpoint is not signed by the log: {exc}\n", status_code=403)
        held = mirror.held()
        size = held.size if held else 0
        if req.old_size != size:
            return Response(format_size(size), status_code=409, headers={"Content-Type": "text/x.tlog.size"})
        if held is not None:
            check_checkpoint_consistency(held.note, req.note, req.proof, log_key=mirror.log_key)
    except InconsistencyError as exc:
        return PlainTextResponse(f"{exc}\n\n{format_evidence(exc.evidence).decode()}", status_code=422)
    except MalformedError as exc:
        return PlainTextResponse(f"{exc}\n", status_code=400)
    except LedgerError as exc:
        return PlainTextResponse(f"{exc}\n", status_code=422)
    follower.wake()
    if not follower.wait_for(cp.size, WAIT):
        return PlainTextResponse("the mirror does not hold that checkpoint yet; retry\n", status_code=503)
    stored = mirror.store.checkpoint(cp.size)
    if stored is None or stored.root != cp.root or mirror.cosigner is None:
        # The mirror moved past it without storing this size: it cosigns only checkpoints it holds.
        return PlainTextResponse("the mirror holds a later checkpoint; resend that one\n", status_code=503)
    return Response(mirror.cosign(cp.size).encode(), media_type=TEXT)
