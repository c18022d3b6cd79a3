"""A small HTTP client for farmtrace: it signs events with a PartyKey and submits them."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import httpx

from farmtrace.trace.clock import CST, Clock, utc_now
from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.model.encoding import decode_entry

from .keys import PartyKey

__all__ = ["CHINA_STANDARD_TIME", "MAX_BATCH", "MAX_BATCH_BYTES", "Client", "ClientError"]

CHINA_STANDARD_TIME = CST  # the old name of farmtrace.trace.clock.CST, kept for callers
MAX_BATCH = 5000  # the most entries one POST /events/batch takes (the server's limit)
# The most base64 one request carries: well inside the server's default body limit (16 MiB,
# FARMTRACE_MAX_BODY_BYTES) with the JSON around it. Typical events are 0.5-1.5 kB of base64, so a
# full 5,000-entry request is 3-8 MB; larger events make more, smaller requests.
MAX_BATCH_BYTES = 12 * 1024 * 1024


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
        clock: Clock = utc_now,
        origin: str | None = None,
    ) -> None:
        """`origin` is the server's log origin, which the client's tokens are bound to
        (trace/auth.py); by default the client asks the server for it (GET /ledger/key), once."""
        self.key = key
        self.origin = origin
        self.clock = clock  # event times and token expiry are read from it
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
        if self.origin is None:
            # The verifier key is "origin+key id+key" (C2SP signed note); an origin holds no "+".
            self.origin = self._check(self.http.get("/ledger/key")).strip().split("+", 1)[0]
        return {"Authorization": f"FarmTrace {self.key.token(origin=self.origin, now=self.clock())}"}

    # --- writing -----------------------------------------------------------------------------------

    def prepare(self, wire: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
        """Fill what the server can tell us: event_time (`now`, else the clock's, in CST) and `follows`."""
        wire = dict(wire)
        moment = now or self.clock().astimezone(CST)
        wire.setdefault("event_time", moment.isoformat(timespec="seconds"))
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

    def entries(self, wires: Iterable[dict[str, Any]]) -> list[bytes]:
        """Prepare and sign events for one upload, in order. An input without `follows` follows the
        last event before it in `wires` that named its lot (as an input or an output: that event is
        the lot's head once recorded), else the lot's head on the server (`prepare`). If an event is
        refused, the ones that follow it locally are refused too: their chain is broken. Raises
        InvalidEvent for an event that cannot be signed, its field prefixed with its place ("[3].kind")."""
        heads: dict[str, str] = {}
        signed = []
        for k, wire in enumerate(wires):
            inputs = [
                {**r, "follows": [heads[r["lot"]]]}
                if isinstance(r, dict) and "follows" not in r and r.get("lot") in heads
                else r
                for r in wire.get("inputs", [])
            ]
            try:
                entry = self.entry({**wire, "inputs": inputs})
            except InvalidEvent as exc:  # name the event: nothing of the upload has been sent
                raise InvalidEvent(f"[{k}].{exc.field}", exc.message) from exc
            event = decode_entry(entry)
            for lot in [r.lot for r in event.event.inputs] + [o.lot for o in event.event.outputs]:
                heads[lot] = event.id
            signed.append(entry)
        return signed

    def record_many(self, wires: Iterable[dict[str, Any]]) -> dict[str, Any]:
        """Prepare, sign (`entries`) and submit (`submit_many`) events in order; return the answer."""
        return self.submit_many(self.entries(wires))

    def submit_many(self, entries: Sequence[bytes]) -> dict[str, Any]:
        """Submit signed entries in order, in as many `POST /events/batch` as MAX_BATCH needs; return
        one answer in the server's form: {"accepted": n, "results": [{"ok", "receipt" | "problem"}]},
        one result per entry. Raises ClientError if the server refuses a whole request (results of
        earlier requests are recorded then: resubmitting everything is safe, it is idempotent)."""
        accepted, results = 0, []
        for part in _parts([base64.b64encode(e).decode() for e in entries]):
            answer = self._check(self.http.post("/events/batch", json={"entries": part}))
            accepted += answer["accepted"]
            results += answer["results"]
        return {"accepted": accepted, "results": results}

    # --- reading -----------------------------------------------------------------------------------

    def _reader(self) -> dict[str, str]:
        """The client's credentials if it has a key: a lot's holders are shown to its trading partners
        and regulators only (docs/visibility.md); without a key the client reads as the public."""
        return self._auth() if self.key is not None else {}

    def lot(self, code: str) -> dict[str, Any]:
        return self._check(self.http.get(f"/lots/{code}", headers=self._reader()))

    def trace(self, code: str, direction: str = "both") -> dict[str, Any]:
        params = {"direction": direction}
        return self._check(self.http.get(f"/lots/{code}/trace", params=params, headers=self._reader()))

    def journey(self, code: str) -> dict[str, Any]:
        return self._check(self.http.get(f"/lots/{code}/journey"))

    def recall_report(self, code: str) -> dict[str, Any]:
        return self._check(self.http.get(f"/lots/{code}/recall", headers=self._auth()))

    def anomalies(self, **filters: Any) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        return self._check(self.http.get("/anomalies", params=params, headers=self._auth()))

    def party(self, party_id: str) -> dict[str, Any]:
        return self._check(self.http.get(f"/parties/{party_id}"))

    def party_private(self, party_id: str) -> dict[str, Any]:
        """The party with the contact details kept off the ledger (regulators only)."""
        return self._check(self.http.get(f"/parties/{party_id}/private", headers=self._auth()))

    def checkpoint(self) -> str:
        return self._check(self.http.get("/ledger/checkpoint"))


def _parts(texts: list[str]) -> list[list[str]]:
    """`texts` in order, cut into requests of at most MAX_BATCH entries and MAX_BATCH_BYTES."""
    parts: list[list[str]] = [[]]
    size = 0
    for t in texts:
        cost = len(t) + 3  # quotes and comma
        if parts[-1] and (len(parts[-1]) == MAX_BATCH or size + cost > MAX_BATCH_BYTES):
            parts.append([])
            size = 0
        parts[-1].append(t)
        size += cost
    return parts if parts[0] else []
