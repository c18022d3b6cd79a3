"""The EPCIS 2.0 REST query interface, read-only (the official OpenAPI's query paths, under /epcis).

    GET    /epcis                              the top-level resources
    GET    /epcis/events                       events matching the query parameters (docs/epcis-query.md)
    GET    /epcis/events/{eventID}             one event, as a one-page EPCISQueryDocument (its EPCIS
                                               eventID percent-encoded, or its farmtrace id)
    GET    /epcis/eventTypes                   the event types the query interface takes
    GET    /epcis/eventTypes/{type}            its sub-resources (events)
    GET    /epcis/eventTypes/{type}/events     as /epcis/events with eventType={type}
    GET    /epcis/queries                      every named query
    POST   /epcis/queries                      create one: {"name", "query"} (a party; 201, 409 if taken)
    GET    /epcis/queries/{name}               its definition
    DELETE /epcis/queries/{name}               delete it (its creator or a regulator; 204)
    GET    /epcis/queries/{name}/events        its events
    POST   /epcis/queries/{name}/subscriptions a webhook: {"dest", "signatureToken"?, "stream": true,
                                               "initialRecordTime"?} (a party; 201, Location)
    GET    /epcis/queries/{name}/subscriptions the query's subscriptions, with their delivery state
    GET    /epcis/queries/{name}/subscriptions/{id}   one subscription
    DELETE /epcis/queries/{name}/subscriptions/{id}   delete it (its creator or a regulator; 204)

Answers are EPCISQueryDocuments with `GS1-EPCIS-Version`, `GS1-CBV-Version` and `GS1-Extensions`;
a page with more after it has `Link: <…?perPage=N&nextPageToken=…>; rel="next"`. Errors are
problem+json with the EPCIS exception types (`epcisException:QueryParameterException` 400,
`NoSuchResourceException` 404, `ResourceAlreadyExistsException` 409, `QueryTooLargeException` 413;
api/errors.py). What a reader is shown follows trace/audience.py, as `/lots/{code}/epcis` does: a
shipment or a receipt only to a regulator or a party it names (docs/visibility.md). A subscription
is sent what the party that made it would be shown.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse, Response

from farmtrace.trace import epcis_subscriptions as subs
from farmtrace.trace.audience import CUSTODY_ONLY, sees_epcis_event
from farmtrace.trace.epcis import namespace
from farmtrace.trace.errors import Forbidden
from farmtrace.trace.reads import epcis_named_queries as named
from farmtrace.trace.reads import epcis_results as results
from farmtrace.trace.reads.epcis_query import (
    EVENT_TYPES,
    NoSuchResourceException,
    QueryParameterException,
    format_query,
    parse_count,
    parse_query,
)
from farmtrace.trace.rules import PartyState
from farmtrace.web.auth import authenticate, reader_audience

from ..deps import ClockDep, ServiceDep

__all__ = ["router"]

router = APIRouter(prefix="/epcis", tags=["EPCIS 2.0 query"])

_PER_PAGE = 30  # when the request names no perPage
_KEY_LOCK = threading.Lock()
_PAGING = ("perPage", "nextPageToken")
QueryName = Annotated[str, Path(max_length=100)]
SubscriptionId = Annotated[str, Path(max_length=64)]


def _headers(request: Request) -> dict[str, str]:
    ns = namespace(request.app.state.settings.vocabulary_base)
    return {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0", "GS1-Extensions": f"farmtrace={ns}"}


def _json(request: Request, body: Any, status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={**_headers(request), **headers})


def _token_key(request: Request) -> bytes:
    # Page tokens are tamper-evident under a key every service process of this log shares (derived
    # from the log's signer key, which each worker of `serve --workers N` holds), so a load balancer
    # may send the next page to another worker. A service without the signer (read-only) makes a
    # key of its own. Made under a lock: two first requests at once must not use two keys.
    state = request.app.state
    with _KEY_LOCK:
        if not hasattr(state, "epcis_token_key"):
            signer = state.service.log.signer
            state.epcis_token_key = (
                hashlib.sha256(b"farmtrace/epcis/page-token/v1\n" + signer.key_string().encode()).digest()
                if signer is not None
                else secrets.token_bytes(32)
            )
        return state.epcis_token_key


def _params(request: Request) -> tuple[dict[str, str], dict[str, str]]:
    """(query parameters, paging parameters); a parameter given twice is refused."""
    query: dict[str, str] = {}
    paging: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        into = paging if name in _PAGING else query
        if name in into:
            raise QueryParameterException(name, "given more than once (lists are pipe-delimited: a|b)")
        into[name] = value
    return query, paging


def _per_page(paging: dict[str, str]) -> int:
    return parse_count("perPage", paging["perPage"]) if "perPage" in paging else _PER_PAGE


def _events(
    request: Request, service: ServiceDep, clock: ClockDep, *, name: str | None, fixed: dict[str, Any]
) -> JSONResponse:
    """A page of events: of `fixed` (a named query's or a path's parameters) and the request's."""
    params, paging = _params(request)
    key = _token_key(request)
    if "nextPageToken" in paging:
        state = results.parse_page_token(paging["nextPageToken"], key)
        if (
            state.name != name
            or (params and parse_query({**fixed, **params}) != state.query)
            # a path's own parameters (eventType) must be the token's too
            or (fixed and parse_query({**format_query(state.query), **fixed}) != state.query)
        ):
            raise QueryParameterException("nextPageToken", "the token belongs to another query")
    else:
        if name is not None and params:
            raise QueryParameterException(next(iter(params)), "a named query's parameters are fixed")
        clash = sorted(set(fixed) & set(params))
        if clash:
            raise QueryParameterException(clash[0], "fixed by the path")
        query = parse_query({**fixed, **params})
        state = results.PageState(query, left=query.eventCountLimit, name=name)
    created = clock()
    base = request.app.state.settings.vocabulary_base
    per_page = _per_page(paging)
    page = results.find_events(
        service.engine,
        service.log,
        state,
        base=base,
        created=created,
        per_page=per_page,
        audience=reader_audience(request),
    )
    body = _document(page.context, page.events, name=name, created=created)
    headers = {}
    if page.next is not None:
        token = results.format_page_token(page.next, key)
        url = request.url.replace(
            query=f"perPage={min(per_page, results.MAX_PER_PAGE)}&nextPageToken={token}"
        )
        headers["Link"] = f'<{url}>; rel="next"'
    return _json(request, body, **headers)


def _document(
    context: list[Any], events: list[dict[str, Any]], *, name: str | None, created: datetime
) -> dict:
    """The EPCISQueryDocument of these events (of `name`'s query; ad hoc queries are SimpleEventQuery)."""
    return {
        "@context": context,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": created.isoformat(timespec="milliseconds"),
        "epcisBody": {
            "queryResults": {"queryName": name or "SimpleEventQuery", "resultsBody": {"eventList": events}}
        },
    }


@router.get("")
def top_level(request: Request) -> JSONResponse:
    return _json(
        request,
        {
            "@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            "type": "Collection",
            "member": ["eventTypes", "events", "queries"],
        },
    )


@router.get("/events")
def get_events(request: Request, service: ServiceDep, clock: ClockDep) -> JSONResponse:
    return _events(request, service, clock, name=None, fixed={})


@router.get("/events/{event_id:path}")
def get_event(
    event_id: Annotated[str, Path(max_length=300)], request: Request, service: ServiceDep, clock: ClockDep
) -> JSONResponse:
    base = request.app.state.settings.vocabulary_base
    created = clock()
    context, event = results.event_by_id(service.engine, service.log, event_id, base=base, created=created)
    if not sees_epcis_event(reader_audience(request), event):
        raise Forbidden(CUSTODY_ONLY)
    return _json(request, _document(context, [event], name=None, created=created))  # a single page


@router.get("/eventTypes")
def get_event_types(request: Request) -> JSONResponse:
    return _json(request, list(EVENT_TYPES))


@router.get("/eventTypes/{event_type}")
def get_event_type(event_type: Annotated[str, Path(max_length=40)], request: Request) -> JSONResponse:
    _event_type(event_type)
    return _json(
        request,
        {
            "@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            "type": "Collection",
            "member": ["events"],
        },
    )


@router.get("/eventTypes/{event_type}/events")
def get_events_of_type(
    event_type: Annotated[str, Path(max_length=40)], request: Request, service: ServiceDep, clock: ClockDep
) -> JSONResponse:
    _event_type(event_type)
    return _events(request, service, clock, name=None, fixed={"eventType": event_type})


def _event_type(event_type: str) -> None:
    if event_type not in EVENT_TYPES:
        raise results.NoSuchResourceException("event type", event_type)


def _definition(found: named.NamedQuery) -> dict[str, Any]:
    return {"name": found.name, "query": format_query(found.query)}


@router.get("/queries")
def list_queries(request: Request, service: ServiceDep) -> JSONResponse:
    return _json(request, [_definition(q) for q in named.named_queries(service.engine)])


@router.post("/queries", status_code=201)
def create_query(
    request: Request, service: ServiceDep, clock: ClockDep, body: Annotated[dict[str, Any], Body()]
) -> Response:
    party = authenticate(request)
    name, query = body.get("name"), body.get("query")
    extra = sorted(set(body) - {"name", "query"})
    if extra:
        raise QueryParameterException(extra[0], "not a member of a query definition (name, query)")
    if not isinstance(name, str):
        raise QueryParameterException("name", "expected a string")
    if not isinstance(query, dict):
        raise QueryParameterException("query", "expected a JSON object of query parameters")
    found = named.create_named_query(service.engine, name, query, party=party.id, at=clock())
    location = f"/epcis/queries/{quote(found.name, safe='')}"
    return Response(status_code=201, headers={**_headers(request), "Location": location})


@router.get("/queries/{name}")
def get_query(name: QueryName, request: Request, service: ServiceDep) -> JSONResponse:
    return _json(request, _definition(named.named_query(service.engine, name)))


@router.delete("/queries/{name}", status_code=204)
def delete_query(name: QueryName, request: Request, service: ServiceDep) -> Response:
    party = authenticate(request)
    named.delete_named_query(service.engine, name, party=party.id, regulator="regulator" in party.roles)
    return Response(status_code=204, headers=_headers(request))


@router.get("/queries/{name}/events")
def get_query_events(name: QueryName, request: Request, service: ServiceDep, clock: ClockDep) -> JSONResponse:
    found = named.named_query(service.engine, name)
    return _events(request, service, clock, name=found.name, fixed=format_query(found.query))


@router.post("/queries/{name}/subscriptions", status_code=201)
def create_subscription(
    name: QueryName,
    request: Request,
    service: ServiceDep,
    clock: ClockDep,
    body: Annotated[dict[str, Any], Body()],
) -> JSONResponse:
    party = authenticate(request)
    made = subs.subscribe(
        service.engine,
        name,
        body,
        party=party.id,
        at=clock(),
        new_id=secrets.token_hex(16),
        allow_private=request.app.state.settings.webhook_private,
    )
    location = f"/epcis/queries/{quote(name, safe='')}/subscriptions/{made.row.id}"
    return _json(request, made.to_wire(), 201, Location=location)


def _own(party: PartyState, made_by: str) -> bool:
    """Whether `party` may read a subscription `made_by` made: its own, or any for a regulator. A
    subscription names its maker's endpoint and its delivery errors: nobody else's business."""
    return made_by == party.id or "regulator" in party.roles


@router.get("/queries/{name}/subscriptions")
def list_subscriptions(name: QueryName, request: Request, service: ServiceDep) -> JSONResponse:
    """The subscriptions to `name` the signed-in party made (a regulator: all of them)."""
    party = authenticate(request)
    found = subs.subscriptions(service.engine, name)
    return _json(request, [s.to_wire() for s in found if _own(party, s.row.created_by)])


@router.get("/queries/{name}/subscriptions/{subscription_id}")
def get_subscription(
    name: QueryName, subscription_id: SubscriptionId, request: Request, service: ServiceDep
) -> JSONResponse:
    """A subscription, to the party that made it or a regulator; to anyone else, as if there were none."""
    party = authenticate(request)
    found = subs.subscription(service.engine, name, subscription_id)
    if not _own(party, found.row.created_by):
        raise NoSuchResourceException("subscription", subscription_id)
    return _json(request, found.to_wire())


@router.delete("/queries/{name}/subscriptions/{subscription_id}", status_code=204)
def delete_subscription(
    name: QueryName, subscription_id: SubscriptionId, request: Request, service: ServiceDep
) -> Response:
    party = authenticate(request)
    subs.unsubscribe(
        service.engine, name, subscription_id, party=party.id, regulator="regulator" in party.roles
    )
    return Response(status_code=204, headers=_headers(request))
