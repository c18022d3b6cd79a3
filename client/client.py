"""A small HTTP client for farmtrace: it signs events with a PartyKey and submits them."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from .keys import PartyKey

__all__ = ["CHINA_STANDARD_TIME", "Client", "ClientError"]

CHINA_STANDARD_TIME = timezone(timedelta(hours=8))


class ClientError(Exception):
    """The server refused a request; `problem` is its RFC 9457 body."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status}: {problem.get('detail') or problem}")
        self.status = status
        self.problem = problem


class Client:
    """Talks to one farmtrace server. `http` may be any httpx.Client (e.g. FastAPI's TestClient)."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        key: PartyKey | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.key = key
        self.http = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=60)

    def _check(self, r: httpx.Response) -> Any:
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {"detail": r.text}
            raise ClientError(r.status_code, body)
        ctype = r.headers.get("content-type", "")
        return r.json() if "json" in ctype else r.text

    def _auth(self) -> dict[str, str]:
        if self.key is None:
            raise ValueError("this needs the client's party key")
        return {"Authorization": f"FarmTrace {self.key.token()}"}

    # --- writing -----------------------------------------------------------------------------------

    def prepare(self, wire: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
        """Fill what the server can tell us: event_time (now, China time) and each input's `follows`."""
        wire = dict(wire)
        wire.setdefault(
            "event_time", (now or datetime.now(CHINA_STANDARD_TIME)).isoformat(timespec="seconds")
        )
        inputs = []
        for ref in wire.get("inputs", []):
            ref = dict(ref)
            if "follows" not in ref:
                ref["follows"] = [self.lot(ref["lot"])["head"]]
            inputs.append(ref)
        wire["inputs"] = inputs
        wire.setdefault("outputs", [])
        return wire

    def entry(self, wire: dict[str, Any]) -> bytes:
        if self.key is None:
            raise ValueError("signing needs the client's party key")
        return self.key.sign(self.prepare(wire))

    def record(self, wire: dict[str, Any]) -> dict[str, Any]:
        """Prepare, sign and submit one event; return its receipt. Raises ClientError on refusal."""
        return self.submit(self.entry(wire))

    def submit(self, entry: bytes) -> dict[str, Any]:
        return self._check(self.http.post("/events", json={"entry": base64.b64encode(entry).decode()}))

    def submit_many(self, entries: list[bytes]) -> dict[str, Any]:
        body = {"entries": [base64.b64encode(e).decode() for e in entries]}
        return self._check(self.http.post("/events/batch", json=body))

    # --- reading -----------------------------------------------------------------------------------

    def lot(self, code: str) -> dict[str, Any]:
        return self._check(self.http.get(f"/lots/{code}"))

    def trace(self, code: str, direction: str = "both") -> dict[str, Any]:
        return self._check(self.http.get(f"/lots/{code}/trace", params={"direction": direction}))

    def journey(self, code: str) -> dict[str, Any]:
        return self._check(self.http.get(f"/lots/{code}/journey"))

    def recall_report(self, code: str) -> dict[str, Any]:
        return self._check(self.http.get(f"/lots/{code}/recall", headers=self._auth()))

    def anomalies(self, **filters: Any) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        return self._check(self.http.get("/anomalies", params=params, headers=self._auth()))

    def party(self, party_id: str) -> dict[str, Any]:
        return self._check(self.http.get(f"/parties/{party_id}"))

    def checkpoint(self) -> str:
        return self._check(self.http.get("/ledger/checkpoint"))
