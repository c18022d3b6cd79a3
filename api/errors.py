"""The one table from domain and ledger errors to HTTP statuses, as RFC 9457 problem+json.

Nothing below `api/` knows about HTTP: they raise their own errors, and this module decides the
status. Every problem has a `type` URI naming the error, a `title`, the `status`, a `detail` that
says what was expected and what was found, and where it applies the offending `field` or `rule`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from farmtrace.ledger import errors as le
from farmtrace.trace import errors as te

__all__ = ["PROBLEM_TYPE_BASE", "install_error_handlers", "problem", "problem_body"]

PROBLEM_TYPE_BASE = "https://farmtrace.example/problems/"

# (error class, HTTP status, problem type slug, title) — the first matching row wins.
STATUS_TABLE: list[tuple[type[Exception], int, str, str]] = [
    (te.InvalidEvent, 400, "invalid-event", "Invalid event"),
    (te.SignatureRefused, 401, "signature-refused", "Signature refused"),
    (te.Forbidden, 403, "forbidden", "Forbidden"),
    (te.NotFound, 404, "not-found", "Not found"),
    (te.RuleViolation, 422, "rule-violation", "Refused by a rule"),
    (te.TraceError, 400, "refused", "Refused"),
    (le.NotFoundError, 404, "not-found", "Not found"),
    (le.MalformedError, 400, "malformed", "Malformed request"),
    (le.InconsistencyError, 409, "inconsistent", "Inconsistent log"),
    (le.VerificationError, 422, "verification-failed", "Verification failed"),
    (le.AppendError, 503, "append-failed", "The log could not append"),
]


def problem(status: int, slug: str, title: str, detail: str, **extra) -> JSONResponse:
    body = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def problem_body(exc: Exception) -> dict:
    """The problem+json body for a ledger or domain error (also used inside batch answers)."""
    for cls, status, slug, title in STATUS_TABLE:
        if isinstance(exc, cls):
            body = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": str(exc)}
            for name in ("field", "rule"):
                if getattr(exc, name, None) is not None:
                    body[name] = getattr(exc, name)
            return body
    raise exc


def _from_exception(exc: Exception) -> JSONResponse:
    body = problem_body(exc)
    return JSONResponse(body, status_code=body["status"], media_type="application/problem+json")


def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    parts, fields = [], []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ()) if x not in ("query", "body", "path", "header")]
        name = ".".join(loc) or "request"
        fields.append(name)
        parts.append(f"{name}: {e.get('msg', 'invalid')}")
    return problem(
        400, "invalid-parameter", "Invalid parameter", "; ".join(parts), field=fields[0] if fields else None
    )


def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    return problem(exc.status_code, "http-" + str(exc.status_code), str(exc.detail), str(exc.detail))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    for cls, *_ in STATUS_TABLE:
        app.add_exception_handler(cls, lambda _req, exc: _from_exception(exc))
