"""A limit on request bodies, as a pure ASGI middleware in front of everything else.

Without it, Starlette reads a whole body into memory before a route can look at it: one
unauthenticated 200 MB POST held the server for 10 s and 1 GB. `BodyLimit` answers
413 application/problem+json

1. at once, without reading a byte of the body, when Content-Length exceeds the limit; and
2. for a body without Content-Length (chunked), as soon as the bytes received pass the limit: it
   stops reading there, answers, and tells the application the client went away.

The server's own flow control (uvicorn pauses the socket when its buffer is full) keeps the rest of
an over-long body off the heap; once the answer is sent, uvicorn reads and drops the rest (until its
keep-alive timeout), so a client that sends its whole body before reading, as httpx does, still
gets the 413 rather than a reset connection. The limit is FARMTRACE_MAX_BODY_BYTES (api/settings.py).
"""

from __future__ import annotations

from typing import Any

from .errors import problem

__all__ = ["BodyLimit"]


class BodyLimit:
    """ASGI middleware: refuse HTTP request bodies longer than `max_bytes` with 413 (see the module)."""

    def __init__(self, app: Any, *, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, found {max_bytes}")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_bytes:
            await self._refuse(scope, send, found=length)
            return
        received = 0
        answered = False

        async def limited_receive() -> dict:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer now and stop reading: the application sees a client that went away,
                    # and whatever it answers to that is dropped below.
                    answered = True
                    await self._refuse(scope, send, found=None)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: dict) -> None:
            if not answered:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _refuse(self, scope: dict, send: Any, *, found: int | None) -> None:
        """Send 413 problem+json (RFC 9457) naming the body, with the length found if it was announced."""
        seen = f"{found} bytes" if found is not None else "more than that"
        response = problem(
            413,
            "http-413",
            "Request body too large",
            f"a request body may hold at most {self.max_bytes} bytes; this one holds {seen}",
            field="body",
        )

        async def nothing() -> dict:  # a response only sends; it never needs the request's body
            return {"type": "http.disconnect"}

        await response(scope, nothing, send)


def _content_length(scope: dict) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            # The server has validated the header's syntax (h11, httptools); be careful anyway.
            return int(value) if value.isdigit() else None
    return None

