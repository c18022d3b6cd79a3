"""A lot's history as a party's machine reads it from the server: what `farmtrace import` drafts on.

`ServerLots(client)` is trace/sheet_drafts.py's `LotHistory` over HTTP: a lot's head (GET
/lots/{code}) and the events naming it, decoded from the ledger entries of its journey (GET
/lots/{code}/journey), each id recomputed from the entry's own bytes rather than taken on trust.
Answers are kept for the run: drafting asks about each lot outside the file once.
"""

from __future__ import annotations

import base64

from farmtrace.trace.model.encoding import decode_entry, event_id
from farmtrace.trace.model.event import Event

from .client import Client, ClientError

__all__ = ["ServerLots"]


class ServerLots:
    """The ledger's lots as `client`'s server shows them (a `LotHistory`)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._heads: dict[str, str | None] = {}
        self._events: dict[str, list[tuple[str, Event]]] = {}

    def head(self, lot: str) -> str | None:
        """The lot's head event id, or None when the server has no such lot (404)."""
        if lot not in self._heads:
            try:
                self._heads[lot] = self.client.lot(lot)["head"]
            except ClientError as exc:
                if exc.status != 404:
                    raise
                self._heads[lot] = None
        return self._heads[lot]

    def events(self, lot: str) -> list[tuple[str, Event]]:
        """The events naming `lot` (an input or an output), in ledger order, with their ids."""
        if lot not in self._events:
            found = []
            for item in self.client.journey(lot)["events"]:
                if item.get("entry") is None:
                    continue  # a gone row: the server's verifiers report it; nothing to match here
                signed = decode_entry(base64.b64decode(item["entry"]))
                event = signed.event
                if any(r.lot == lot for r in event.inputs) or any(o.lot == lot for o in event.outputs):
                    found.append((event_id(signed.canonical), event))
            self._events[lot] = found
        return self._events[lot]
