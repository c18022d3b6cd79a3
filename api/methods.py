"""HEAD wherever GET is (RFC 9110 §9.3.2).

FastAPI's routes answer only the methods they declare, so HEAD on a GET route would be a 405.
`HeadAsGet` serves a HEAD request as the GET it mirrors and drops the content: the status and
every header (Content-Length and Content-Type included) are the GET's. Routes stay declared once
(the OpenAPI document lists GET only), and a HEAD on a route without GET is still a 405 whose
`Allow` names the route's methods (api/errors.py adds HEAD to an `Allow` that names GET).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HeadAsGet"]


class HeadAsGet:
    """ASGI middleware: a HEAD request is handled as GET, and the response's body is not sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the GET's content, withheld; the last message ends the response
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
