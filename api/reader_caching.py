"""Answers that depend on who reads them are never stored by a shared cache for someone else.

`GET /lots/{code}`, its trace and EPCIS document, the EPCIS query, subscriptions and other reads
answer each reader what it is shown (trace/audience.py, docs/visibility.md): a regulator's holders,
a party's own shipments. Credentials come in the `Authorization` header or, for a browser's reads,
the `ft_token` cookie (web/auth.py). RFC 9111 §3.5 keeps a shared cache from storing an answer to a
request with `Authorization`, but nothing stops one that keys on the URL alone from storing a
cookie-authenticated answer and serving it to the public.

`ReaderCaching` (ASGI middleware) marks every answer whose route looked at the request's
credentials (web/auth.py `request_token` records that it did, in `request.state`):
- `Vary: Authorization, Cookie`, added to the answer's own `Vary`: the same URL answers each reader;
- `Cache-Control: private, no-store` when the request carried credentials, unless the answer is
  already `no-store` (the portal's and console's pages): a regulator's or a party's view is kept by
  no cache at all (the public's answer keeps its own `Cache-Control`).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from farmtrace.web.auth import READ_CREDENTIALS  # request.state key: absent, or whether any were sent

__all__ = ["READ_CREDENTIALS", "ReaderCaching"]
_VARY = ("Authorization", "Cookie")


class ReaderCaching:
    """ASGI middleware: the headers above on answers that depend on the reader."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def marked(message: Message) -> None:
            sent = state.get(READ_CREDENTIALS)
            if message["type"] == "http.response.start" and sent is not None:
                headers = MutableHeaders(scope=message)
                have = {v.strip().lower() for v in headers.get("vary", "").split(",") if v.strip()}
                for name in _VARY:
                    if name.lower() not in have:
                        headers.append("Vary", name)
                if sent and "no-store" not in headers.get("cache-control", ""):
                    headers["Cache-Control"] = "private, no-store"  # (a page's own no-store stays)
            await send(message)

        await self.app(scope, receive, marked)
