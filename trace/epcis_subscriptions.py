"""EPCIS 2.0 webhook subscriptions: a named query's new matching events, POSTed to a subscriber.

subscribe(engine, query_name, body, *, party, at, new_id)  -> Subscription   (REST binding: stream only)
subscription / subscriptions / unsubscribe                 the stored subscriptions of a named query
deliver_due(engine, log, *, base, now, post)                -> deliveries made (one round)
sign_body(token, body)                                      -> the GS1-Signature header's value
Notifier(engine, log, base=, clock=)                        the background thread (api/app.py starts it)

A subscription streams (`"stream": true`): every event recorded after it was made (or, with
`initialRecordTime`, recorded at or after that time) that matches its named query is sent, in
ledger order, as an EPCISQueryDocument with the query's name and the subscription's id, at most
`BATCH` events a POST. Only events a checkpoint already holds are sent, so each has its recordTime.
A subscription whose query names lots (`MATCH_*EPCClass`) also receives every recall of those lots
or of any lot they were made from, whatever the query's other conditions: a recall reaches every
lot made from the recalled one, and the subscriber holds the watched lot.

Signature: with a `signatureToken`, each POST carries `GS1-Signature: sha256=<hex>`, the lowercase
hex HMAC-SHA256 of the exact body bytes keyed with the token's UTF-8 bytes (the binding leaves the
scheme to the implementation and names HMAC-SHA256 as one). The subscriber recomputes and compares.

Destinations: unless the operator allows it (FARMTRACE_WEBHOOK_PRIVATE=1), a `dest` whose host is,
or resolves to, a loopback, private, link-local, multicast, reserved or unspecified address is
refused: at subscription (a literal address, or a name that resolves so; 400 naming `dest`) and at
each delivery (the name is resolved again, so a name re-pointed inward later fails too). Otherwise
any registered party could make the service POST into the operator's own network. A name resolved
at delivery may still change between the check and httpx's own lookup (DNS rebinding); an operator
who must rule that out puts the service behind an egress proxy.

Delivery: any 2xx answer within `TIMEOUT` seconds delivers the batch; anything else is a failure,
retried after 2, 4, 8, … seconds (at most `MAX_DELAY`), without limit; the state (`attempts`,
`last_error`, `next_attempt_at`, `delivered`, `last_notified_at`) is what `GET` on the subscription
shows. Delivery is at least once: a subscriber may see a batch again after a crash between its 2xx
and the record of it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from farmtrace.ledger.log import Log

from .audience import Audience, audience_of
from .clock import to_utc_text
from .errors import Forbidden
from .reads import epcis_named_queries as named_queries
from .reads import epcis_results as results
from .reads.epcis_query import EventQuery, NoSuchResourceException, QueryParameterException
from .store import epcis_subscriptions as sql
from .store.epcis_queries import Candidate
from .store.queries import Engine
from .store.sql_state import Repository
from .webhook_destinations import DestinationRefused, Resolve, check_destination, resolve_host

__all__ = [
    "BATCH",
    "MAX_DELAY",
    "TIMEOUT",
    "DestinationRefused",
    "Notifier",
    "Subscription",
    "check_destination",
    "deliver_due",
    "resolve_host",
    "sign_body",
    "subscribe",
    "subscription",
    "subscriptions",
    "unsubscribe",
]

BATCH = 100  # events a POST holds at most
TIMEOUT = 10.0  # seconds a subscriber has to answer
MAX_DELAY = 600.0  # seconds between retries at most
_log = logging.getLogger("farmtrace.epcis")
_KEYS = {"dest", "signatureToken", "stream", "initialRecordTime", "reportIfEmpty", "schedule"}

Post = Callable[[str, bytes, dict[str, str]], None]  # raises on failure (any exception)


@dataclass(frozen=True)
class Subscription:
    """A subscription as its owner sees it: never its signature token."""

    row: sql.SubscriptionRow

    def to_wire(self) -> dict[str, Any]:
        """The binding's AbstractQuerySubscriptionResponse, with farmtrace's delivery state."""
        r = self.row
        out: dict[str, Any] = {
            "subscriptionID": r.id,
            "dest": r.dest,
            "stream": True,
            "createdAt": r.created_at,
            "signed": r.signature_token is not None,
            "delivered": r.delivered,
            "attempts": r.attempts,
        }
        for key, value in (
            ("initialRecordTime", r.initial_record_time),
            ("lastNotifiedAt", r.last_notified_at),
            ("lastError", r.last_error),
        ):
            if value is not None:
                out[key] = value
        if r.attempts:
            out["nextAttemptAt"] = datetime.fromtimestamp(r.next_attempt_at, UTC).isoformat(
                timespec="seconds"
            )
        return out


def _check_dest(dest: Any, *, allow_private: bool, resolve: Resolve) -> str:
    if not isinstance(dest, str) or len(dest) > 2000:
        raise QueryParameterException("dest", "expected an http or https URL")
    parts = urlsplit(dest)
    if parts.scheme not in ("http", "https") or not parts.hostname or dest != dest.strip():
        raise QueryParameterException("dest", f"expected an http or https URL with a host, found {dest!r}")
    if not allow_private:
        try:
            check_destination(dest, resolve=resolve)
        except DestinationRefused as exc:
            raise QueryParameterException("dest", str(exc)) from exc
    return dest


def subscribe(
    engine: Engine,
    query_name: str,
    body: dict[str, Any],
    *,
    party: str,
    at: datetime,
    new_id: str,
    allow_private: bool = False,
    resolve: Resolve = resolve_host,
) -> Subscription:
    """Subscribe to named query `query_name`. Raises NoSuchResourceException (no such query) or
    QueryParameterException naming the bad member (nothing is stored); `dest` must be public unless
    `allow_private` (module docstring, "Destinations")."""
    named_queries.named_query(engine, query_name)
    extra = sorted(set(body) - _KEYS)
    if extra:
        raise QueryParameterException(extra[0], "not a member of a query subscription")
    if "schedule" in body:
        raise QueryParameterException("schedule", "scheduled subscriptions are not supported; use stream")
    if body.get("stream") is not True:
        raise QueryParameterException(
            "stream", 'expected "stream": true (the binding asks for it explicitly)'
        )
    dest = _check_dest(body.get("dest"), allow_private=allow_private, resolve=resolve)
    token = body.get("signatureToken")
    if token is not None and (not isinstance(token, str) or not 1 <= len(token) <= 500):
        raise QueryParameterException("signatureToken", "expected a string of 1 to 500 characters")
    initial = body.get("initialRecordTime")
    if initial is not None:
        initial = results.parse_query({"GE_recordTime": initial}).GE_recordTime
    if "reportIfEmpty" in body and not isinstance(body["reportIfEmpty"], bool):
        raise QueryParameterException("reportIfEmpty", "expected true or false")
    sql.create_subscription_table(engine)
    with engine.begin() as conn:
        after = None if initial is not None else sql.last_event_index(conn)
        row = sql.SubscriptionRow(
            id=new_id,
            query_name=query_name,
            dest=dest,
            signature_token=token,
            initial_record_time=None if initial is None else initial.isoformat(),
            created_by=party,
            created_at=to_utc_text(at),
            after=after,
        )
        sql.add_subscription(conn, row)
    return Subscription(row)


def subscriptions(engine: Engine, query_name: str) -> list[Subscription]:
    """The subscriptions of named query `query_name`. Raises NoSuchResourceException."""
    named_queries.named_query(engine, query_name)
    if not sql.has_subscription_table(engine):
        return []
    with engine.connect() as conn:
        return [Subscription(r) for r in sql.subscriptions_of(conn, query_name)]


def subscription(engine: Engine, query_name: str, sub_id: str) -> Subscription:
    """One subscription. Raises NoSuchResourceException."""
    row = None
    if sql.has_subscription_table(engine):
        with engine.connect() as conn:
            row = sql.subscription(conn, query_name, sub_id)
    if row is None:
        raise NoSuchResourceException("subscription", f"{query_name}/{sub_id}")
    return Subscription(row)


def unsubscribe(engine: Engine, query_name: str, sub_id: str, *, party: str, regulator: bool) -> None:
    """Delete a subscription: its creator or a regulator may. Raises NoSuchResourceException or Forbidden."""
    found = subscription(engine, query_name, sub_id)
    if found.row.created_by != party and not regulator:
        raise Forbidden("only the party that made the subscription, or a regulator, may delete it")
    with engine.begin() as conn:
        sql.delete_subscription(conn, query_name, sub_id)


def sign_body(token: str, body: bytes) -> str:
    """The GS1-Signature value of `body` under `token`: `sha256=` and the HMAC-SHA256 in hex."""
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def deliver_due(engine: Engine, log: Log, *, base: str, now: datetime, post: Post) -> int:
    """One round: for each subscription not waiting for a retry, POST its next batch of new matching
    events (if any) and record the outcome. Returns how many POSTs succeeded. The subscriptions'
    table must exist (`subscribe` makes it: an app whose /epcis is unused keeps its schema as it was)."""
    with engine.connect() as conn:
        due = sql.due_subscriptions(conn, now.timestamp())
    if not due:
        return 0
    held = log.checkpoint().size  # only events a checkpoint holds: each has its recordTime
    done = 0
    for row in due:
        try:
            found = named_queries.named_query(engine, row.query_name)
        except NoSuchResourceException:
            continue  # deleted meanwhile (its subscriptions go with it)
        query = replace(
            found.query, orderBy=None, orderDirection=None, eventCountLimit=None, maxEventCount=None
        )
        if row.initial_record_time is not None:
            query = replace(query, GE_recordTime=datetime.fromisoformat(row.initial_record_time))
        after = None if row.after is None else Candidate(row.after, "")
        state = results.PageState(query, after=after, name=row.query_name, recalls_of=_lineage(engine, query))
        page = results.find_events(
            engine,
            log,
            state,
            base=base,
            created=now,
            per_page=BATCH,
            audience=_audience(engine, row.created_by),
            before_index=held,
        )
        if not page.events:
            if page.cursor is not None and page.cursor.index != row.after:
                with engine.begin() as conn:
                    sql.record_passed(conn, row.id, after=page.cursor.index)
            continue
        done += _send(engine, row, page, now=now, post=post)
    return done


def _audience(engine: Engine, party_id: str) -> Audience:
    """What the subscription's maker is shown now (trace/audience.py): its roles as they stand at each
    delivery, so a party suspended, or a regulator no longer one, is sent no more than the public."""
    with engine.connect() as conn:
        return audience_of(Repository(conn).party(party_id))


def _lineage(engine: Engine, query: EventQuery) -> frozenset[str]:
    """The lots the query names (MATCH_*EPCClass) and every lot they were made from: a recall of any
    of them reaches the subscriber, whatever the query's other conditions."""
    watched = results.lot_codes(
        uri
        for name in ("MATCH_epcClass", "MATCH_inputEPCClass", "MATCH_outputEPCClass", "MATCH_anyEPCClass")
        for uri in getattr(query, name)
    )
    if not watched:
        return frozenset()
    with engine.connect() as conn:
        repo = Repository(conn)
        return frozenset(watched.union(*(repo.ancestors(code) for code in watched)))


def _send(
    engine: Engine, row: sql.SubscriptionRow, page: results.ResultPage, *, now: datetime, post: Post
) -> int:
    doc = {
        "@context": page.context,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": now.isoformat(timespec="milliseconds"),
        "epcisBody": {
            "queryResults": {
                "subscriptionID": row.id,
                "queryName": row.query_name,
                "resultsBody": {"eventList": page.events},
            }
        },
    }
    body = orjson.dumps(doc)
    headers = {"Content-Type": "application/json", "GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
    if row.signature_token is not None:
        headers["GS1-Signature"] = sign_body(row.signature_token, body)
    try:
        post(row.dest, body, headers)
    except Exception as exc:  # any failure of the subscriber or the network: retry later
        attempts = row.attempts + 1
        delay = min(2.0**attempts, MAX_DELAY)
        with engine.begin() as conn:
            sql.record_failure(
                conn,
                row.id,
                attempts=attempts,
                next_attempt_at=now.timestamp() + delay,
                error=str(exc) or type(exc).__name__,
            )
        return 0
    assert page.cursor is not None  # a page with events has a cursor
    with engine.begin() as conn:
        sql.record_delivery(
            conn, row.id, after=page.cursor.index, count=len(page.events), at=to_utc_text(now)
        )
    return 1


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    check_destination(url)  # resolved again at each delivery: a name may have been re-pointed inward
    _post_anywhere(url, body, headers)


def _post_anywhere(url: str, body: bytes, headers: dict[str, str]) -> None:
    answer = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT, follow_redirects=False)
    if not 200 <= answer.status_code < 300:
        raise RuntimeError(f"{url} answered {answer.status_code}")


class Notifier:
    """The background thread that runs `deliver_due` every `interval` seconds until stopped."""

    def __init__(
        self,
        engine: Engine,
        log: Log,
        *,
        base: str,
        clock: Callable[[], datetime],
        interval: float = 1.0,
        allow_private: bool = False,
        post: Post | None = None,
    ) -> None:
        self.engine, self.log, self.base, self.clock = engine, log, base, clock
        self._ready = False  # the subscriptions' table exists (made by the first subscription)
        self.interval = interval
        self.post = post if post is not None else (_post_anywhere if allow_private else _post)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="farmtrace-epcis-notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._ready = self._ready or sql.has_subscription_table(self.engine)
                if not self._ready:
                    continue
                deliver_due(self.engine, self.log, base=self.base, now=self.clock(), post=self.post)
            except Exception:  # a round that fails is logged; the next one tries again
                _log.exception("EPCIS subscription delivery round failed")
