"""The witness's HTTP face: c2sp.org/tlog-witness over a `farmtrace.ledger.witness.Witness`.

    POST /add-checkpoint              the body of ledger/witness.py; 200 text/plain cosignature line
    GET  /<sha256(origin) hex>/checkpoint   the latest cosigned checkpoint with our cosignature
    GET  /                            the witness's name and verifier key, one per line (for operators)

A separate ASGI app, run by `farmtrace witness serve`, on a machine that need not reach the log's
database. Its statuses are the protocol's, not the service's problem+json (api/errors.py): the
table `_STATUS` is the one place they are chosen. A 409 answers `text/x.tlog.size`; a 422 for a
fork carries the evidence (ledger/verify.py `format_evidence`) so the log's operator, or anyone
the log shows it to, can re-check it with the log's key alone.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from farmtrace.ledger.errors import InconsistencyError, LedgerError, MalformedError, VerificationError
from farmtrace.ledger.verify import format_evidence
from farmtrace.ledger.witness import (
    MAX_BODY,
    ProofError,
    SignatureError,
    SizeConflictError,
    UnknownLogError,
    Witness,
    format_size,
)

__all__ = ["create_witness_app"]

_log = logging.getLogger(__name__)

# The one table from the witness's errors to HTTP statuses (c2sp.org/tlog-witness), most specific first.
_STATUS: tuple[tuple[type[LedgerError], int], ...] = (
    (UnknownLogError, 404),
    (SignatureError, 403),
    (SizeConflictError, 409),
    (InconsistencyError, 422),
    (ProofError, 422),
    (MalformedError, 400),
    (VerificationError, 422),
)
TEXT = "text/plain; charset=utf-8"


def _error_answer(exc: LedgerError) -> Response:
    status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 500)
    if isinstance(exc, SizeConflictError):
        # Exactly `text/x.tlog.size` (the spec's MUST): given as a header, Starlette adds no charset.
        return Response(
            format_size(exc.known_size), status_code=409, headers={"Content-Type": "text/x.tlog.size"}
        )
    body = f"{exc}\n".encode()
    if isinstance(exc, InconsistencyError):
        body += b"\n" + format_evidence(exc.evidence)
    return Response(body, status_code=status, media_type=TEXT)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise MalformedError(f"the request body is at most {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise MalformedError(f"the request body is at most {MAX_BODY} bytes")
    return bytes(body)


def create_witness_app(witness: Witness) -> Starlette:
    """The ASGI app serving `witness` (its store is closed when the app shuts down)."""
    by_hash = {hashlib.sha256(origin.encode()).hexdigest(): origin for origin in witness.logs}

    async def add_checkpoint(request: Request) -> Response:
        try:
            body = await _read_body(request)
            line = await run_in_threadpool(witness.add_checkpoint, body)  # SQLite may wait for its lock
        except LedgerError as exc:
            if isinstance(exc, InconsistencyError):
                _log.warning("refused a fork: %s", exc)
            return _error_answer(exc)
        return Response(line.encode(), media_type=TEXT)

    def checkpoint(request: Request) -> Response:
        origin = by_hash.get(request.path_params["origin_hash"])
        try:
            if origin is None:
                raise UnknownLogError("this witness knows no log with that origin hash")
            return Response(witness.checkpoint(origin), media_type=TEXT)
        except LedgerError as exc:
            return _error_answer(exc)

    def about(request: Request) -> Response:
        return PlainTextResponse(
            f"{witness.signer.name}\n{witness.signer.verifier.key_string()}\n", media_type=TEXT
        )

    @asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        witness.store.close()

    app = Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/{origin_hash:str}/checkpoint", checkpoint, methods=["GET"]),
            Route("/", about, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    return app
