"""Consumers' "watch this product" (Web Push; trace/push_watch.py, docs/recall-notices.md).

    GET    /push/key    the platform's VAPID public key: base64url of the uncompressed P-256 point
    POST   /watch       {lot, subscription, lang}: watch a lot with a browser's PushSubscription (201)
    DELETE /watch       {lot, subscription: {endpoint}}: stop watching it (204, whether or not it was)

All three answer 404 when Web Push is not configured (FARMTRACE_PUSH_CONTACT unset). A bad lot,
endpoint or key is 400 naming the field, and nothing is stored; a client network making more than
`PER_HOUR` watches an hour is answered 429 with Retry-After. Nothing personal is stored: the
watch holds the lot, the endpoint and keys the browser's push service issued, and the page language.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from farmtrace.trace.push_watch import PushWatches
from farmtrace.web.state import app_state
from farmtrace.web.watch import watches_of

from ..errors import problem
from ..schemas import problems

__all__ = ["router"]

router = APIRouter(tags=["watch"])


class PushKeyPublic(BaseModel):
    key: str = Field(
        description="the VAPID public key (RFC 8292): base64url, 65-byte uncompressed P-256 point"
    )


class WatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lot: str = Field(max_length=64, description="the lot to watch")
    subscription: dict[str, Any] = Field(
        description="the browser's PushSubscription as JSON: {endpoint, keys: {p256dh, auth}}"
    )
    lang: Literal["zh", "en"] = Field(default="zh", description="the language of the notice")


class WatchDelete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lot: str = Field(max_length=64)
    subscription: dict[str, Any] = Field(description="the PushSubscription's JSON, or {endpoint}")


class WatchPublic(BaseModel):
    lot: str
    watching: bool


def _not_configured() -> JSONResponse:
    return problem(404, "not-found", "Not found", "Web Push is not configured here (FARMTRACE_PUSH_CONTACT)")


def _watches(request: Request) -> PushWatches | None:
    return watches_of(app_state(request))


@router.get("/push/key", response_model=PushKeyPublic, responses=problems(404))
def get_push_key(request: Request) -> Any:
    """The VAPID public key a browser subscribes with (`applicationServerKey`)."""
    watches = _watches(request)
    if watches is None:
        return _not_configured()
    return PushKeyPublic(key=watches.public_key)


@router.post("/watch", status_code=201, response_model=WatchPublic, responses=problems(404, 429))
def post_watch(body: WatchCreate, request: Request) -> Any:
    """Watch a lot: its recalls (of it or of any lot it was made from) are pushed to the subscription."""
    watches = _watches(request)
    if watches is None:
        return _not_configured()
    client = request.client.host if request.client else "unknown"
    watches.watch(body.lot, body.subscription, lang=body.lang, client=client)
    return WatchPublic(lot=body.lot, watching=True)


@router.delete("/watch", status_code=204, responses=problems(404))
def delete_watch(body: WatchDelete, request: Request) -> Response:
    """Stop watching a lot with this subscription (nothing is left of the watch)."""
    watches = _watches(request)
    if watches is None:
        return _not_configured()
    watches.unwatch(body.lot, body.subscription)
    return Response(status_code=204, headers={"Cache-Control": "no-store"})
