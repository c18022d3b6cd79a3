# size: watching and delivering share the watch rows and the push service's answers; split, each half needs the other's
"""Consumers' "watch this product": a Web Push message when a recall reaches the lot they watch.

    PushWatches(engine, log, key=, contact=, public_url=, clock=, words=)
      .watch(lot, body, *, client)   -> None   store a watch (POST /watch); raises InvalidEvent or Busy
      .unwatch(lot, body)            -> bool   forget it (DELETE /watch)
      .queue_due()                   -> int    recalls newly reaching watched lots, queued as messages
      .deliver_due()                 -> int    one round of sends; how many push services took theirs
      .start() / .stop()                       the background thread (api/app.py starts it)

What is stored about a consumer: nothing personal. A watch is (id, lot, push endpoint, p256dh, auth,
page language, time made, ledger position): the endpoint is an unguessable URL the browser's push
service issued for this site, the keys are the browser's for encrypting to it. No address, cookie,
account or name; the client address is counted in memory for an hour against `PER_HOUR` (as the
registration desk counts, trace/applications.py) and never written down.

Which recalls: a watch of lot W hears of every recall recorded after the watch was made whose lot
is W or a lot W was made from (a recall reaches its lot and every lot made from it, trace/reads/
recalls.py). Off the capture path: a thread compares the new recall events with the watches every
`interval` seconds (a range over the ledger index, nothing when no event is new) and queues one
message per watch reached; a capture never waits for it and never fails because of it.

Delivery (RFC 8030 §5, RFC 8291, RFC 8292): each message is a POST to the watch's endpoint with the
aes128gcm-encrypted JSON {"title", "body", "lot", "product", "reason", "url", "recall"}, `TTL` (a
day), `Urgency: high`, and VAPID's Authorization. 201 (any 2xx) delivers it; 404 or 410 says the
subscription is gone: the watch is deleted with its messages; 413 or 400 will never succeed: the
message is dropped; anything else (429, 5xx, the network) is retried after 2, 4, 8, … seconds (at
most `MAX_DELAY`), until `MAX_ATTEMPTS` (then dropped: a recall a day old is on the page anyway).
Endpoints are held to the webhooks' rule (trace/webhook_destinations.py): https only and never into
the operator's network, unless FARMTRACE_WEBHOOK_PRIVATE=1 (tests, a private push service).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson

from farmtrace.ledger.log import Log

from .applications import Busy, client_network
from .clock import Clock, to_utc_text
from .errors import InvalidEvent
from .model.encoding import decode_entry
from .model.ids import check_lot_code
from .reads.events import stored_entries
from .store import lot_queries
from .store import push_watches as sql
from .store.queries import Engine
from .store.sql_state import Repository
from .web_push import MAX_PLAINTEXT, VapidKey, b64url, check_auth, check_p256dh, encrypt_message
from .webhook_destinations import DestinationRefused, Resolve, check_destination, resolve_host

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_DELAY",
    "MAX_WATCHES_PER_LOT",
    "PER_HOUR",
    "PUSH_SERVICES",
    "RETENTION_DAYS",
    "TTL",
    "Notice",
    "PushWatches",
    "Words",
]

TTL = 86_400  # seconds a push service keeps an undelivered message (RFC 8030 §5.2)
TIMEOUT = 10.0  # seconds a push service has to answer
MAX_DELAY = 600.0  # seconds between retries at most
MAX_ATTEMPTS = 20  # sends of one message at most (about two hours of retries)
PER_HOUR = 60  # watches one client network may make an hour
ALL_PER_HOUR = 5_000  # watches everyone together may make an hour (per process): networks are cheap
RETENTION_DAYS = 90  # a watch is forgotten this long after it was made (produce is long eaten)
# The push services' hosts an endpoint may name (an exact host, or ".suffix"): Chrome/Edge-on-Android
# and most Chromium browsers (FCM), Firefox (Mozilla's autopush), Edge on Windows (WNS), Safari
# (Apple). Only these are sent to: an endpoint anywhere else would make the platform post to any
# host of a stranger's choosing (FARMTRACE_PUSH_SERVICES adds others, e.g. a vendor's in China).
PUSH_SERVICES = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    ".notify.windows.com",
    ".push.apple.com",
)
MAX_WATCHES_PER_LOT = 100_000
MAX_ENDPOINT = 2000  # characters; push services' endpoints are 150-400
_REASON = 1000  # characters of the recall's reason a message carries at most
_KEYS = {"endpoint", "expirationTime", "keys"}
_MAX_CLIENTS = 100_000
_log = logging.getLogger("farmtrace.push")


@dataclass(frozen=True)
class Notice:
    """What a watcher is told: its lot, the product, the recall's reason, the lot's page."""

    lot: str
    product_zh: str
    product_en: str | None
    reason: str
    recalled_lot: str
    url: str


Words = Callable[[str, Notice], tuple[str, str]]  # (page language, notice) -> (title, body)
Post = Callable[[str, bytes, dict[str, str]], int]  # -> the push service's status (raises on no answer)


def _network(client: str) -> str:
    """The network a watch is counted by: `applications.client_network`'s /24 for IPv4, but a /48
    for IPv6 (one subscriber's usual delegation: counting its /64s would give it 65,536 budgets)."""
    network = client_network(client)
    if ":" in network and "/" in network:
        return str(ipaddress.ip_network(network, strict=False).supernet(new_prefix=48))
    return network


class PushWatches:
    """The app's watches and their deliverer (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        log: Log,
        *,
        key: VapidKey,
        contact: str,
        public_url: str,
        clock: Clock,
        words: Words,
        allow_private: bool = False,
        services: tuple[str, ...] = PUSH_SERVICES,
        resolve: Resolve = resolve_host,
        post: Post | None = None,
        interval: float = 1.0,
    ) -> None:
        self.engine, self.log, self.key, self.contact = engine, log, key, contact
        self.public_url, self.clock, self.words = public_url.rstrip("/"), clock, words
        self.allow_private, self.resolve, self.services = allow_private, resolve, services
        self.post = post if post is not None else self._post
        self.interval = interval
        self._made: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = False

    @property
    def public_key(self) -> str:
        """The VAPID public key, base64url of the uncompressed point (the page's applicationServerKey)."""
        return b64url(self.key.public_key)

    # --- watching --------------------------------------------------------------------------------

    def watch(self, lot: str, body: Any, *, lang: str, client: str) -> None:
        """Watch `lot` with the PushSubscription JSON `body` ({endpoint, keys: {p256dh, auth}}).
        Raises InvalidEvent naming the field (nothing stored), Busy past PER_HOUR for the client's
        network or MAX_WATCHES_PER_LOT for the lot."""
        lot = self._known_lot(lot)
        endpoint, p256dh, auth = self._subscription(body)
        if lang not in ("zh", "en"):
            raise InvalidEvent("lang", f"expected zh or en, found {lang!r}")
        now = self.clock()
        self._admit(client, now.timestamp())
        sql.create_watch_tables(self.engine)
        with self.engine.begin() as conn:
            if sql.count_watches(conn, lot) >= MAX_WATCHES_PER_LOT:
                raise Busy(f"lot {lot} has {MAX_WATCHES_PER_LOT} watches already", retry_after=3600)
            newest = sql.newest_index(conn)
            row = sql.WatchRow(
                id=secrets.token_hex(16),
                lot=lot,
                endpoint=endpoint,
                p256dh=b64url(p256dh),
                auth=b64url(auth),
                lang=lang,
                created_at=to_utc_text(now),
                after=-1 if newest is None else newest,
            )
            sql.add_watch(conn, row)
        self._ready = True

    def unwatch(self, lot: str, body: Any) -> bool:
        """Forget the watch of `lot` by the subscription in `body` ({endpoint, ...}). False if none.
        Raises InvalidEvent for a malformed lot or endpoint."""
        if not isinstance(lot, str):
            raise InvalidEvent("lot", "expected a lot code")
        try:
            check_lot_code(lot)
        except InvalidEvent as exc:
            raise InvalidEvent("lot", exc.message) from exc
        if not isinstance(body, dict) or not isinstance(body.get("endpoint"), str):
            raise InvalidEvent("subscription.endpoint", "expected the subscription's endpoint URL")
        if not sql.has_watch_tables(self.engine):
            return False
        with self.engine.begin() as conn:
            return sql.delete_watch(conn, lot, body["endpoint"])

    def _known_lot(self, lot: Any) -> str:
        if not isinstance(lot, str):
            raise InvalidEvent("lot", "expected a lot code")
        try:
            check_lot_code(lot)
        except InvalidEvent as exc:
            raise InvalidEvent("lot", exc.message) from exc
        with self.engine.connect() as conn:
            if Repository(conn).lot(lot) is None:
                raise InvalidEvent("lot", f"no lot {lot!r} is recorded")
        return lot

    def _subscription(self, body: Any) -> tuple[str, bytes, bytes]:
        """(endpoint, p256dh, auth) of a PushSubscription's JSON (PushSubscription.toJSON())."""
        if not isinstance(body, dict):
            raise InvalidEvent("subscription", "expected the PushSubscription's JSON object")
        extra = sorted(set(body) - _KEYS)
        if extra:
            raise InvalidEvent(f"subscription.{extra[0]}", "not a member of a push subscription")
        endpoint = body.get("endpoint")
        if not isinstance(endpoint, str) or not 0 < len(endpoint) <= MAX_ENDPOINT:
            raise InvalidEvent(
                "subscription.endpoint", f"expected a URL of at most {MAX_ENDPOINT} characters"
            )
        try:
            parts = urlsplit(endpoint)
            port = parts.port
        except ValueError:  # "https://[::1/x", a port past 65535: no URL
            parts, port = None, None
        schemes = ("https", "http") if self.allow_private else ("https",)
        if (
            parts is None
            or not endpoint.isascii()
            or not endpoint.isprintable()
            or " " in endpoint
            or parts.scheme not in schemes
            or not parts.hostname
            or parts.username is not None
            or parts.fragment
        ):
            wanted = "an http(s)" if self.allow_private else "an https"
            raise InvalidEvent(
                "subscription.endpoint", f"expected {wanted} URL with a host, found {endpoint!r}"
            )
        if not self.allow_private:
            host = parts.hostname.lower()
            if port not in (None, 443) or not any(
                host == s or (s.startswith(".") and host.endswith(s)) for s in self.services
            ):
                raise InvalidEvent(
                    "subscription.endpoint",
                    f"not a push service this platform sends to ({', '.join(self.services)}, port 443): {host}",
                )
            try:
                check_destination(endpoint, resolve=self.resolve)
            except DestinationRefused as exc:
                raise InvalidEvent("subscription.endpoint", str(exc)) from exc
        keys = body.get("keys")
        if not isinstance(keys, dict) or set(keys) != {"p256dh", "auth"}:
            raise InvalidEvent("subscription.keys", "expected {p256dh, auth}")
        return endpoint, check_p256dh(keys["p256dh"]), check_auth(keys["auth"])

    def _admit(self, client: str, now: float) -> None:
        """Count a watch by `client`'s network; raise Busy past PER_HOUR in the last hour."""
        network = _network(client)
        with self._lock:
            while self._all and self._all[0] <= now - 3600:
                self._all.popleft()
            if len(self._all) >= ALL_PER_HOUR:
                raise Busy("too many watches were made in the last hour", retry_after=600)
            times = self._made.setdefault(network, deque())
            while times and times[0] <= now - 3600:
                times.popleft()
            if len(times) >= PER_HOUR:
                wait = int(times[0] + 3600 - now) + 1
                raise Busy(
                    f"this address's network made {len(times)} watches in the last hour", retry_after=wait
                )
            times.append(now)
            self._all.append(now)
            while len(self._made) > _MAX_CLIENTS:
                self._made.pop(next(iter(self._made)))

    # --- delivering ------------------------------------------------------------------------------

    def queue_due(self) -> int:
        """Queue a message for every watch a recall recorded since its last look reaches. Returns how
        many were queued (0 if another deliverer queued the same window first)."""
        if not (self._ready or sql.has_watch_tables(self.engine)):
            return 0
        self._ready = True
        with self.engine.connect() as conn:
            window = sql.scan_window(conn)
            if window is None:
                return 0
            least, upto = window
            recalls = sql.recalls_after(conn, least, upto)
            watches = sql.watch_rows(conn) if recalls else []
            repo = Repository(conn)
            messages = []
            for index, event_id in recalls:
                recalled = repo.recalled_lot(event_id)
                if recalled is None:
                    continue
                reach = {recalled} | repo.descendants(recalled)
                messages += [(w.id, event_id, index) for w in watches if w.lot in reach and w.after < index]
        if not sql.queue_messages(self.engine, messages, upto=upto):
            return 0  # another process queued this window first
        return len(messages)

    def deliver_due(self) -> int:
        """One round: send each message not waiting for a retry. Returns how many were taken."""
        if not self._ready:
            return 0
        now = self.clock().timestamp()
        with self.engine.connect() as conn:
            due = sql.due_messages(conn, now)
        taken = 0
        for message in due:
            with self.engine.begin() as conn:
                if not sql.claim_message(conn, message, until=now + TIMEOUT * 3):
                    continue  # another deliverer took it
                found = sql.watch_rows(conn, [message.watch])
            if found:
                taken += self._send(found[0], message, now=now)
        return taken

    def _send(self, watch: sql.WatchRow, message: sql.MessageRow, *, now: float) -> int:
        try:
            payload = self._payload(watch, message)
        except Exception as exc:  # the recall's entry or the lot cannot be read: give up on it
            _log.warning("push message for recall %s cannot be built: %s", message.recall, exc)
            with self.engine.begin() as conn:
                sql.delete_message(conn, message.watch, message.recall)
            return 0
        body = encrypt_message(payload, p256dh=check_p256dh(watch.p256dh), auth=check_auth(watch.auth))
        headers = {
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(TTL),
            "Urgency": "high",  # RFC 8030 §5.3: a recall is worth waking a phone for
            "Authorization": self.key.authorization(watch.endpoint, sub=self.contact, at=self.clock()),
        }
        try:
            status = self.post(watch.endpoint, body, headers)
            error = None if 200 <= status < 300 else f"the push service answered {status}"
        except Exception as exc:  # no answer: the network, a refused destination
            status, error = 0, str(exc) or type(exc).__name__
        with self.engine.begin() as conn:
            if error is None:
                sql.delete_message(conn, message.watch, message.recall)
                return 1
            if status in (404, 410):  # RFC 8030 §7.3: the subscription is gone
                sql.delete_watch_by_id(conn, watch.id)
            elif status in (400, 413) or message.attempts + 1 >= MAX_ATTEMPTS:
                _log.warning("push message to watch %s dropped: %s", watch.id, error)
                sql.delete_message(conn, message.watch, message.recall)
            else:
                attempts = message.attempts + 1
                sql.record_failure(
                    conn,
                    message.watch,
                    message.recall,
                    attempts=attempts,
                    next_attempt_at=now + min(2.0**attempts, MAX_DELAY),
                    error=error,
                )
        return 0

    def _payload(self, watch: sql.WatchRow, message: sql.MessageRow) -> bytes:
        """The message's JSON: the recall's reason from its signed entry, the names from the lot."""
        stored = dict(stored_entries(self.log, [message.recall_index]))
        event = decode_entry(stored[message.recall_index]).event
        reason = str(getattr(event.detail, "reason", "") or "")[:_REASON]
        with self.engine.connect() as conn:
            row = lot_queries.lot_rows(conn, [watch.lot])[watch.lot]
        notice = Notice(
            lot=watch.lot,
            product_zh=row.product.get("name_zh") or row.product_name,
            product_en=row.product.get("name_en"),
            reason=reason,
            recalled_lot=event.inputs[0].lot,
            url=f"{self.public_url}/l/{quote(watch.lot, safe='')}?lang={watch.lang}",
        )
        title, text = self.words(watch.lang, notice)
        product = notice.product_en if watch.lang == "en" and notice.product_en else notice.product_zh
        out = {
            "title": title,
            "body": text,
            "lot": notice.lot,
            "product": product,
            "reason": notice.reason,
            "url": notice.url,
            "recall": message.recall,
        }
        data = orjson.dumps(out)
        if len(data) > MAX_PLAINTEXT:  # a long name and reason: shorten the reason, never the facts
            out["reason"] = out["body"] = reason[:200]
            data = orjson.dumps(out)
        return data

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        if not self.allow_private:
            check_destination(url, resolve=self.resolve)  # again: a name may have been re-pointed inward
        answer = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT, follow_redirects=False)
        return answer.status_code

    # --- the thread ------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Forget watches past their retention, queue, then deliver: one round of the thread. Returns
        the messages taken."""
        self.forget_old()
        self.queue_due()
        return self.deliver_due()

    def forget_old(self) -> int:
        """Delete the watches made more than RETENTION_DAYS ago (and their messages); how many."""
        if not sql.has_watch_tables(self.engine):
            return 0
        cutoff = to_utc_text(self.clock() - timedelta(days=RETENTION_DAYS))
        with self.engine.begin() as conn:
            return sql.forget_watches_made_before(conn, cutoff)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="farmtrace-push", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # a round that fails is logged; the next one tries again
                _log.exception("push delivery round failed")
