"""Answers of the EPCIS 2.0 query interface: pages of events, page tokens, one event, named queries.

find_events(engine, log, query, *, base, created, per_page, audience, ...) -> ResultPage
parse_page_token(token, key) / format_page_token(state, key)                  -> PageState / str
event_by_id(engine, log, event_id, *, base, created)                        -> (context, event)

Named queries are in trace/reads/epcis_named_queries.py.

What a page holds is built from the stored signed entries, as `/lots/{code}/epcis` is
(trace/reads/events.py `epcis`); the projection tables only find the candidates
(`epcis_queries.candidate_rows`), and `epcis_query.matches` then tests the EPCIS event itself, so an
answer never depends on a projection being exact. Visibility (trace/audience.py): a shipment or a
receipt is a match only for a regulator or a party it names; every other event, for anyone.

A page token is `base64url(JSON state) "." base64url(HMAC-SHA256(key, JSON state))`: the query, the
cursor (the last event returned: ledger index and event time) and, with `eventCountLimit`, how many
events are still to come. The key is the app's (api/app.py): a token tampered with, or from another
run of the service, is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

import orjson

from farmtrace.ledger.log import Log

from ..audience import Audience, sees_epcis_event
from ..clock import to_utc_text
from ..epcis import event_uri
from ..model.encoding import decode_entry
from ..model.kinds import KINDS, NON_EPCIS_KINDS
from ..store import epcis_queries as sql
from ..store.queries import Engine
from ..store.sql_state import Repository
from .epcis_query import (
    EventQuery,
    NoSuchResourceException,
    QueryParameterException,
    QueryTooLargeException,
    format_query,
    matches,
    parse_query,
)
from .events import epcis, stored_entries

__all__ = [
    "MAX_PER_PAGE",
    "PageState",
    "ResultPage",
    "event_by_id",
    "find_events",
    "format_page_token",
    "lot_codes",
    "parse_page_token",
]

MAX_PER_PAGE = 1000  # a larger perPage is served as this (the REST binding lets a server return fewer)
_CHUNK = 200  # candidates decoded at a time
_SCAN_PER_PAGE = 5000  # candidates one page may test; past it the page ends early, with a token
_SCAN_TO_COUNT = 50_000  # candidates `maxEventCount` may test before the query is too large to count
_SUPPLY_KINDS = tuple(k for k in KINDS if k not in NON_EPCIS_KINDS)
_KINDS_OF_TYPE = {
    "TransformationEvent": ("transform",),
    "ObjectEvent": tuple(k for k in _SUPPLY_KINDS if k != "transform"),
}


@dataclass(frozen=True)
class PageState:
    """Where a paged answer stands: its query, its cursor, the events still allowed (eventCountLimit)
    and the named query it belongs to, if any. `recalls_of`: lot codes whose recall events match
    whatever the query's conditions (a subscription's watched lots and the lots they came from)."""

    query: EventQuery
    after: sql.Candidate | None = None
    left: int | None = None
    name: str | None = None
    recalls_of: frozenset[str] = frozenset()  # lots whose recalls match too (subscriptions; not in tokens)


@dataclass(frozen=True)
class ResultPage:
    """One page: the JSON-LD @context, the EPCIS events, the state of the next page (None: last),
    and the position a next page would start after (the last event returned, or tested; None if
    none was)."""

    context: list[Any]
    events: list[dict[str, Any]]
    next: PageState | None
    cursor: sql.Candidate | None = None


def format_page_token(state: PageState, key: bytes) -> str:
    """The opaque token of `state` (see the module docstring)."""
    after = None if state.after is None else [state.after.index, state.after.at_utc]
    body = orjson.dumps(
        {"q": format_query(state.query), "a": after, "l": state.left, "n": state.name},
        option=orjson.OPT_SORT_KEYS,
    )
    tag = hmac.new(key, body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(tag)}"


def parse_page_token(token: str, key: bytes) -> PageState:
    """The state a token of `format_page_token` holds. Raises QueryParameterException (field
    nextPageToken) if it is malformed, altered, or was issued by another key."""
    try:
        head, _, tail = token.partition(".")
        body, tag = _unb64(head), _unb64(tail)
        if not hmac.compare_digest(tag, hmac.new(key, body, hashlib.sha256).digest()):
            raise ValueError("tag")
        data = orjson.loads(body)
        after = None if data["a"] is None else sql.Candidate(int(data["a"][0]), str(data["a"][1]))
        return PageState(parse_query(data["q"]), after, data["l"], data["n"])
    except (ValueError, KeyError, TypeError, IndexError, binascii.Error, orjson.JSONDecodeError):
        raise QueryParameterException(
            "nextPageToken", "not a token this service issued (altered, expired by a restart, or malformed)"
        ) from None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or len(text) > 65536 or not text.isascii():
        raise ValueError("length")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def lot_codes(uris: Iterable[str]) -> set[str]:
    """The lot codes of those class URIs that are farmtrace's (trace/epcis.py `lot_class`)."""
    out = set()
    for uri in uris:
        if uri.startswith("urn:farmtrace:lot:"):
            out.add(unquote(uri.removeprefix("urn:farmtrace:lot:")))
        elif uri.startswith("https://id.gs1.org/01/") and "/10/" in uri:
            out.add(unquote(uri.split("/10/", 1)[1]))
    return out


def _index_filter(query: EventQuery) -> dict[str, Any] | None:
    """The conditions the tables can narrow by (a superset of the matches), or None if nothing in
    farmtrace can match (instance EPCs, or only foreign EPC classes)."""
    if any(
        getattr(query, n)
        for n in ("MATCH_epc", "MATCH_parentID", "MATCH_inputEPC", "MATCH_outputEPC", "MATCH_anyEPC")
    ):
        return None  # farmtrace's events name classes (lots), never instances
    kinds: set[str] = set()
    for t in query.eventType or ("ObjectEvent", "TransformationEvent"):
        kinds.update(_KINDS_OF_TYPE.get(t, ()))
    if not kinds:
        return None
    lots = None
    for name in ("MATCH_epcClass", "MATCH_inputEPCClass", "MATCH_outputEPCClass", "MATCH_anyEPCClass"):
        uris = getattr(query, name)
        if uris:
            codes = lot_codes(uris)
            if not codes:
                return None
            lots = codes if lots is None else lots  # any one condition narrows: the matcher does the rest
    ge, lt = query.GE_eventTime, query.LT_eventTime
    return {
        "kinds": kinds,
        "since_utc": None if ge is None else to_utc_text(ge),  # to the second, rounded down
        "until_utc": None if lt is None else to_utc_text(lt + timedelta(seconds=1)),
        "lots": None if lots is None else {"any": lots},
    }


def find_events(
    engine: Engine,
    log: Log,
    state: PageState,
    *,
    base: str,
    created: datetime,
    per_page: int,
    audience: Audience,
    before_index: int | None = None,
) -> ResultPage:
    """The next page of `state`'s query: at most `per_page` (capped at MAX_PER_PAGE) events after
    its cursor, in the query's order (by default ledger order, which is recordTime order); with
    `before_index`, only events at ledger indexes below it.

    Only events `audience` is shown count as matches (trace/audience.py: another party's shipments
    and receipts are skipped, as if they did not match).

    Raises QueryTooLargeException if the query sets `maxEventCount` and more events match, or more
    than the service will test to count them (only on the first page: later pages continue it).
    """
    query = state.query
    per_page = min(per_page, MAX_PER_PAGE)
    empty = ResultPage(epcis(engine, [], created=created, base=base)["@context"], [], None)
    where = _index_filter(query)
    if where is None:
        return empty
    where["before_index"] = before_index
    if state.recalls_of and where["lots"] is not None:  # the recalls must be candidates too
        where["kinds"] = where["kinds"] | {"recall"}
        where["lots"] = {"any": where["lots"]["any"] | state.recalls_of}
    if query.maxEventCount is not None and state.after is None:
        found, _, done = _scan(
            engine, log, state, where, None, query.maxEventCount + 1, _SCAN_TO_COUNT, base, created, audience
        )
        if len(found) > query.maxEventCount:
            raise QueryTooLargeException(f"more than maxEventCount={query.maxEventCount} events match")
        if not done:
            raise QueryTooLargeException(f"counting the matches would test more than {_SCAN_TO_COUNT} events")
    want = per_page if state.left is None else min(per_page, state.left)
    if want == 0:
        return empty
    found, cursor, done = _scan(
        engine, log, state, where, state.after, want + 1, _SCAN_PER_PAGE, base, created, audience
    )
    events = [e for e, _, _ in found[:want]]
    left = None if state.left is None else state.left - len(events)
    more = len(found) > want or (not done and cursor is not None)
    if len(found) > want:
        cursor = found[want - 1][1]  # the next page starts after the last event returned
    nxt = replace(state, after=cursor, left=left) if more and left != 0 else None
    context = empty.context if not events else found[0][2]
    return ResultPage(context, events, nxt, cursor)


def _scan(engine, log, state, where, after, want, budget, base, created, audience):
    """Up to `want` matches of `state` after `after`, testing at most `budget` candidates. Returns
    ([(event, candidate, context)], the last candidate tested, whether the candidates ran out)."""
    query = state.query
    by_time = query.orderBy == "eventTime"
    descending = query.orderBy is not None and query.orderDirection != "ASC"  # §8.2.7.1: DESC by default
    found: list[tuple[dict[str, Any], sql.Candidate, list[Any]]] = []
    tested = 0
    while tested < budget:
        with engine.connect() as conn:
            rows = sql.candidate_rows(
                conn,
                **where,
                by_time=by_time,
                descending=descending,
                after=after,
                limit=min(_CHUNK, budget - tested),
            )
        if not rows:
            return found, after, True
        context, events = _build(engine, log, rows, base=base, created=created)
        for row, event in zip(rows, events, strict=True):
            after, tested = row, tested + 1
            if not sees_epcis_event(audience, event):
                continue
            if matches(query, event) or (state.recalls_of and _recall_of(event, state.recalls_of)):
                found.append((event, row, context))
                if len(found) == want:
                    return found, after, False
    return found, after, False


def _recall_of(event: dict[str, Any], lots: frozenset[str]) -> bool:
    """Whether `event` is a recall (trace/epcis.py: holding, recalled) of one of `lots`."""
    if event.get("bizStep") != "holding" or event.get("disposition") != "recalled":
        return False
    return bool(lot_codes(q["epcClass"] for q in event.get("quantityList", [])) & lots)


def _build(engine: Engine, log: Log, rows: list[sql.Candidate], *, base: str, created: datetime):
    """(@context, the EPCIS events) of these candidates, in their order, from their signed entries."""
    entries = dict(stored_entries(log, sorted(r.index for r in rows), max_gap=256))
    triples = []
    for r in rows:
        signed = decode_entry(entries[r.index])
        triples.append((signed.event, signed.id, r.index))
    doc = epcis(engine, triples, created=created, base=base)
    return doc["@context"], doc["epcisBody"]["eventList"]


def _hashed_index(engine: Engine, log: Log, event_id: str, *, base: str, created: datetime) -> int | None:
    """The ledger index of the event whose CBV 2.0 hash ID is `event_id`, or None. The stored hash
    IDs (trace/store/epcis_queries.py) are brought up to date first, in ledger order, if it is not
    among them: the first lookup after many new events pays for hashing them, once."""
    sql.create_query_table(engine)
    while True:
        with engine.connect() as conn:
            found = sql.index_of_event_id(conn, base, event_id)
            if found is not None:
                return found
            last = sql.hashed_up_to(conn, base)
            rows = sql.candidate_rows(
                conn,
                kinds=_SUPPLY_KINDS,
                since_utc=None,
                until_utc=None,
                lots=None,
                by_time=False,
                descending=False,
                after=None if last is None else sql.Candidate(last, ""),
                limit=_CHUNK,
            )
        if not rows:
            return None
        _, events = _build(engine, log, rows, base=base, created=created)
        pairs = [(e["eventID"], r.index) for r, e in zip(rows, events, strict=True)]
        with engine.begin() as conn:
            sql.add_event_ids(conn, base, pairs)
        hit = next((i for h, i in pairs if h == event_id), None)
        if hit is not None:
            return hit


def event_by_id(engine: Engine, log: Log, event_id: str, *, base: str, created: datetime):
    """(@context, the EPCIS event) of the event named `event_id`: its EPCIS eventID (the CBV 2.0
    event hash ID), its farmtrace id (64 hex digits) or that id's RFC 6920 URI (trace/epcis.py
    `event_uri`, the eventID before the hash ID). Raises NoSuchResourceException."""
    with engine.connect() as conn:
        repo = Repository(conn)
        candidates = [event_id] if len(event_id) == 64 else []
        if event_id.startswith("ni:///sha-256;") and "?" not in event_id:
            try:
                raw = base64.urlsafe_b64decode(event_id.split(";", 1)[1] + "==")
                candidates.append(raw.hex())
            except (binascii.Error, ValueError):
                pass
        index = next((i for c in candidates if (i := repo.known_event(c.lower())) is not None), None)
    if index is None and event_id.startswith("ni:///sha-256;") and event_id.endswith("?ver=CBV2.0"):
        index = _hashed_index(engine, log, event_id, base=base, created=created)
    if index is None:
        raise NoSuchResourceException("event", event_id)
    signed = decode_entry(dict(stored_entries(log, [index]))[index])
    if signed.event.kind in NON_EPCIS_KINDS:
        raise NoSuchResourceException("EPCIS event", event_id)
    doc = epcis(engine, [(signed.event, signed.id, index)], created=created, base=base)
    (event,) = doc["epcisBody"]["eventList"]
    if event_id not in (signed.id, event_uri(signed.id), event.get("eventID")):
        raise NoSuchResourceException("event", event_id)
    return doc["@context"], event
