"""The one table from domain and ledger errors to HTTP statuses, as RFC 9457 problem+json.

Nothing below `api/` knows about HTTP: they raise their own errors, and this module decides the
status. Every problem has a `type` URI naming the error, a `title`, the `status`, a `detail` that
says what was expected and what was found, and where it applies the offending `field` or `rule`.

Problem type URIs are `{base}/problems/{slug}`, where `base` is the vocabulary base URI
(FARMTRACE_VOCAB_BASE, by default the service's public URL); the service answers each with a page
in Chinese and English, or JSON (api/routes/vocabulary.py), generated from `PROBLEM_TYPES`.

The headers an exception carries travel with its problem (RFC 9110): a 405 names the route's
methods in `Allow` (HEAD wherever GET is, api/methods.py), and every 401 carries
`WWW-Authenticate: FarmTrace realm="<log origin>"` (§11.6.1: a 401 MUST carry one).

Anything else a route raises is a fault of the service, never of the request: it answers 500
`internal-error` as problem+json with a generic detail (no message, class or traceback of the
exception reaches the caller) and is logged, with its traceback, to the `farmtrace.api` logger.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from farmtrace.ledger import errors as le
from farmtrace.trace import errors as te
from farmtrace.trace.compliance import ComplianceDivergence
from farmtrace.trace.reads import epcis_query as eq

__all__ = [
    "PROBLEM_TYPES",
    "STATUS_TABLE",
    "ProblemType",
    "install_error_handlers",
    "problem",
    "problem_body",
    "problem_type",
    "problem_type_uri",
]

_DEFAULT_BASE = "http://127.0.0.1:8000"  # Settings' default public URL; replaced by install_error_handlers
_log = logging.getLogger("farmtrace.api")


@dataclass(frozen=True)
class ProblemType:
    """One problem type: its status, title and what it means, in English and Chinese."""

    status: int
    title: str
    title_zh: str
    about: str
    about_zh: str


PROBLEM_TYPES: dict[str, ProblemType] = {
    "invalid-event": ProblemType(
        400,
        "Invalid event",
        "事件无效",
        "The event or request body is malformed: a field is missing, has the wrong type or is out of range. `field` names it.",
        "事件或请求内容格式不正确：某个字段缺失、类型错误或超出范围，`field` 指出是哪一个。",
    ),
    "invalid-parameter": ProblemType(
        400,
        "Invalid parameter",
        "参数无效",
        "A path or query parameter, or a field of the JSON body, is not valid. `field` names the first one.",
        "路径或查询参数、或 JSON 请求体中的字段无效，`field` 指出第一个。",
    ),
    "malformed": ProblemType(
        400,
        "Malformed request",
        "请求格式错误",
        "The request asks the log for something malformed, such as a proof between impossible sizes.",
        "请求向日志索取的内容格式错误，例如两个不可能的树大小之间的证明。",
    ),
    "refused": ProblemType(
        400,
        "Refused",
        "请求被拒绝",
        "The request was refused for the reason `detail` gives.",
        "请求因 `detail` 所述原因被拒绝。",
    ),
    "signature-refused": ProblemType(
        401,
        "Signature refused",
        "签名被拒绝",
        "A signature, or the key it claims, does not verify.",
        "签名或其声称的密钥无法验证。",
    ),
    "forbidden": ProblemType(
        403,
        "Forbidden",
        "无权操作",
        "The caller may not do this: it needs a party's credentials (Authorization: FarmTrace <token>) with the right role.",
        "调用方无权执行此操作：需要具有相应角色的主体凭证（Authorization: FarmTrace <token>）。",
    ),
    "not-found": ProblemType(
        404,
        "Not found",
        "未找到",
        "No such lot, event, party, checkpoint or page.",
        "没有这个批次、事件、主体、检查点或页面。",
    ),
    "method-not-allowed": ProblemType(
        405,
        "Method not allowed",
        "不允许的请求方法",
        "The resource does not answer this method; `Allow` lists those it does.",
        "该资源不支持此请求方法，响应头 `Allow` 列出了支持的方法。",
    ),
    "inconsistent": ProblemType(
        409,
        "Inconsistent log",
        "日志不一致",
        "The log's stored state contradicts a checkpoint it signed, or an index table contradicts the signed entries; the detail carries the evidence.",
        "日志的存储状态与其签署的检查点相矛盾，或索引表与已签名的条目不符，详情中附有证据。",
    ),
    "entry-too-large": ProblemType(
        413,
        "Entry too large",
        "条目过大",
        "A ledger entry is longer than 65,535 bytes, the most a C2SP tlog-tiles entry bundle can hold; nothing was recorded. `field` names it.",
        "账本条目超过 65,535 字节，即 C2SP tlog-tiles 条目包所能容纳的上限；未记录任何内容。`field` 指出是哪一个。",
    ),
    "rule-violation": ProblemType(
        422,
        "Refused by a rule",
        "被追溯规则拒绝",
        "The event is well formed but a traceability rule refuses it; `rule` names the rule.",
        "事件格式正确，但被追溯规则拒绝，`rule` 指出是哪条规则。",
    ),
    "verification-failed": ProblemType(
        422,
        "Verification failed",
        "验证失败",
        "A proof, checkpoint or signature offered for checking does not verify.",
        "提交检查的证明、检查点或签名未通过验证。",
    ),
    "too-many-requests": ProblemType(
        429,
        "Too many requests",
        "请求过于频繁",
        "Too many applications from this address, or pending at the desk; `Retry-After` says when to try again.",
        "来自该地址的申请过多，或待处理的申请已满；响应头 `Retry-After` 给出可重试的时间。",
    ),
    # The EPCIS 2.0 query interface's exceptions (api/routes/epcis_query.py): their problems' `type`
    # is the EPCIS name the official OpenAPI lists (`epcisException:QueryParameterException`, ...).
    "epcis-query-parameter": ProblemType(
        400,
        "EPCIS query parameter refused",
        "EPCIS 查询参数无效",
        "An EPCIS query parameter is unknown, unsupported or malformed; `field` names it.",
        "EPCIS 查询参数未知、不受支持或格式错误，`field` 指出是哪一个。",
    ),
    "epcis-no-such-resource": ProblemType(
        404,
        "No such EPCIS resource",
        "没有该 EPCIS 资源",
        "No such EPCIS event, event type or named query.",
        "没有该 EPCIS 事件、事件类型或命名查询。",
    ),
    "epcis-resource-exists": ProblemType(
        409,
        "EPCIS resource already exists",
        "EPCIS 资源已存在",
        "A named query with this name exists already.",
        "同名的命名查询已存在。",
    ),
    "epcis-query-too-large": ProblemType(
        413,
        "EPCIS query too large",
        "EPCIS 查询结果过大",
        "More events match than the query's maxEventCount allows, or than the service tests for one query.",
        "匹配的事件多于查询的 maxEventCount 上限，或多于服务为单个查询检验的数量。",
    ),
    "internal-error": ProblemType(
        500,
        "Internal error",
        "服务器内部错误",
        "The service failed to answer because of a fault of its own, not of the request; it has been logged. Try again later.",
        "服务器自身出现故障（不是请求的问题），已记录在案，请稍后重试。",
    ),
    "append-failed": ProblemType(
        503,
        "The log could not append",
        "日志无法追加",
        "The log could not record the entry just now; try again.",
        "日志暂时无法记录该条目，请稍后重试。",
    ),
}

# (error class, problem type slug): the first matching row wins.
STATUS_TABLE: list[tuple[type[Exception], str]] = [
    (eq.QueryParameterException, "epcis-query-parameter"),
    (eq.NoSuchResourceException, "epcis-no-such-resource"),
    (eq.ResourceAlreadyExistsException, "epcis-resource-exists"),
    (eq.QueryTooLargeException, "epcis-query-too-large"),
    (te.InvalidEvent, "invalid-event"),
    (te.SignatureRefused, "signature-refused"),
    (te.Forbidden, "forbidden"),
    (te.NotFound, "not-found"),
    (te.RuleViolation, "rule-violation"),
    (ComplianceDivergence, "inconsistent"),  # the tables contradict the signed log
    (te.TraceError, "refused"),
    (le.NotFoundError, "not-found"),
    (le.EntryTooLargeError, "entry-too-large"),
    (le.MalformedError, "malformed"),
    (le.InconsistencyError, "inconsistent"),
    (le.StoreMismatchError, "inconsistent"),
    (le.VerificationError, "verification-failed"),
    (le.AppendError, "append-failed"),
]
# Starlette's own errors (no route, wrong method, ...) by status; others are `http-{status}`.
_HTTP_SLUGS = {404: "not-found", 405: "method-not-allowed"}

# The base URI of problem types for the request being served (set by _BaseMiddleware); outside a
# request, that of the app built last (one per process when served).
_base: ContextVar[str | None] = ContextVar("farmtrace_problem_base", default=None)


def problem_type_uri(slug: str) -> str:
    """Return the type URI of problem `slug` for the app serving the current request."""
    return f"{_base.get() or _DEFAULT_BASE}/problems/{slug}"


def problem_type(slug: str) -> ProblemType | None:
    """Return problem type `slug` (also `http-{status}` for any 4xx/5xx status), or None if unknown."""
    if slug in PROBLEM_TYPES:
        return PROBLEM_TYPES[slug]
    prefix, _, code = slug.partition("-")
    if prefix == "http" and code.isdigit() and code == str(int(code)) and 400 <= int(code) <= 599:
        try:
            status = HTTPStatus(int(code))
        except ValueError:
            return None
        return ProblemType(
            status.value,
            status.phrase,
            f"HTTP {status.value}",
            status.description or status.phrase,
            f"HTTP 状态 {status.value}（{status.phrase}）。",
        )
    return None


def problem(status: int, slug: str, title: str, detail: str, headers=None, **extra) -> JSONResponse:
    """An application/problem+json response; `extra` members that are None are left out."""
    body = {"type": problem_type_uri(slug), "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def problem_body(exc: Exception) -> dict:
    """The problem+json body for a ledger or domain error (also used inside batch answers).

    A domain refusal that says when to try again (a `retry_after` in seconds, such as the enrolment
    desk's Busy) is 429 too-many-requests. Re-raises `exc` if no row of STATUS_TABLE matches it.
    """
    for cls, slug in STATUS_TABLE:
        if isinstance(exc, cls):
            if isinstance(exc, te.TraceError) and getattr(exc, "retry_after", None) is not None:
                slug = "too-many-requests"
            kind = PROBLEM_TYPES[slug]
            body = {"type": problem_type_uri(slug), "title": kind.title, "status": kind.status, "detail": str(exc)}
            for name in ("field", "rule"):
                if getattr(exc, name, None) is not None:
                    body[name] = getattr(exc, name)
            if getattr(exc, "epcis_exception", None) is not None:  # the EPCIS OpenAPI's problem types
                body["type"] = f"epcisException:{exc.epcis_exception}"
            return body
    raise exc


def _challenge(request: Request) -> dict[str, str]:
    # RFC 9110 §11.6.1. The realm is the log's origin: a token is good for this service's log only.
    origin = request.app.state.settings.log_origin.replace("\\", "\\\\").replace('"', '\\"')
    return {"WWW-Authenticate": f'FarmTrace realm="{origin}"'}


def _from_exception(request: Request, exc: Exception) -> JSONResponse:
    body = problem_body(exc)
    headers = _challenge(request) if body["status"] == 401 else {}
    if getattr(exc, "retry_after", None) is not None:  # RFC 9110 §10.2.3, in seconds
        headers["Retry-After"] = str(int(exc.retry_after))
    return JSONResponse(
        body, status_code=body["status"], media_type="application/problem+json", headers=headers or None
    )


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


def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and "Allow" in headers:
        methods = [m.strip() for m in headers["Allow"].split(",")]
        if "GET" in methods and "HEAD" not in methods:  # api/methods.py answers HEAD wherever GET is
            methods.append("HEAD")
        headers["Allow"] = ", ".join(methods)
    if exc.status_code == 401 and "WWW-Authenticate" not in headers:
        headers.update(_challenge(request))
    slug = _HTTP_SLUGS.get(exc.status_code, f"http-{exc.status_code}")
    return problem(exc.status_code, slug, str(exc.detail), str(exc.detail), headers=headers or None)


def _internal(request: Request, exc: Exception) -> JSONResponse:
    # Starlette's ServerErrorMiddleware calls this for any exception no other handler took, then
    # re-raises it to the server. The caller learns only that it was not their fault.
    _log.error("internal error answering %s %s", request.method, request.url.path, exc_info=exc)
    kind = PROBLEM_TYPES["internal-error"]
    token = _base.set(request.app.state.settings.vocabulary_base)  # outside _BaseMiddleware here
    try:
        return problem(
            kind.status,
            "internal-error",
            kind.title,
            "The service failed to answer this request; the fault has been logged. Try again later.",
        )
    finally:
        _base.reset(token)


class _BaseMiddleware:
    """Sets the problem type base URI for the request (batch answers build problems in routes)."""

    def __init__(self, app: ASGIApp, base: str) -> None:
        self.app, self.base = app, base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _base.set(self.base)
        try:
            await self.app(scope, receive, send)
        finally:
            _base.reset(token)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error of STATUS_TABLE, request validation and Starlette's HTTP errors to problems,
    and any other exception to a logged 500 internal-error, with type URIs under
    `app.state.settings.vocabulary_base`."""
    global _DEFAULT_BASE
    base = app.state.settings.vocabulary_base
    _DEFAULT_BASE = base
    app.add_middleware(_BaseMiddleware, base=base)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    for cls, _ in STATUS_TABLE:
        app.add_exception_handler(cls, _from_exception)
    app.add_exception_handler(Exception, _internal)
