"""EPCIS 2.0 named queries (REST binding `/queries`): stored, listed, read and deleted.

create_named_query(engine, name, params, *, party, at)  -> NamedQuery   (409 if the name is taken)
named_query(engine, name)                               -> NamedQuery   (404 if none)
named_queries(engine)                                   -> [NamedQuery] by name
delete_named_query(engine, name, *, party, regulator)   -> None         with its subscriptions

A named query is its name and its parameters (trace/reads/epcis_query.py `EventQuery`), kept off the
ledger in `trace_epcis_query` (trace/store/epcis_queries.py), which the first one creates: reading
makes no tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from ..clock import to_utc_text
from ..errors import Forbidden
from ..store import epcis_queries as sql
from ..store import epcis_subscriptions as sub_sql
from ..store.queries import Engine
from .epcis_query import (
    EventQuery,
    NoSuchResourceException,
    QueryParameterException,
    ResourceAlreadyExistsException,
    format_query,
    parse_query,
)

__all__ = ["NamedQuery", "create_named_query", "delete_named_query", "named_queries", "named_query"]

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


@dataclass(frozen=True)
class NamedQuery:
    name: str
    query: EventQuery
    created_by: str
    created_at: str


def _check_name(name: str) -> None:
    if not 1 <= len(name) <= 100 or not set(name) <= _NAME_CHARS:
        raise QueryParameterException("name", "expected 1-100 characters of A-Z, a-z, 0-9, '-', '_' or '.'")


def create_named_query(
    engine: Engine, name: str, params: dict[str, Any], *, party: str, at: datetime
) -> NamedQuery:
    """Store a named query. Raises QueryParameterException (bad name or parameters, nothing stored)
    or ResourceAlreadyExistsException (the name is taken)."""
    _check_name(name)
    query = parse_query(params)
    sql.create_query_table(engine)
    row = sql.QueryRow(
        name, orjson.dumps(format_query(query), option=orjson.OPT_SORT_KEYS).decode(), party, to_utc_text(at)
    )
    with engine.begin() as conn:
        if not sql.add_query(conn, row):
            raise ResourceAlreadyExistsException(f"a named query {name!r} exists already")
    return NamedQuery(name, query, party, row.created_at)


def named_query(engine: Engine, name: str) -> NamedQuery:
    """The named query `name`. Raises NoSuchResourceException."""
    if not sql.has_query_table(engine):
        raise NoSuchResourceException("named query", name)
    with engine.connect() as conn:
        row = sql.named_query(conn, name)
    if row is None:
        raise NoSuchResourceException("named query", name)
    return NamedQuery(row.name, parse_query(orjson.loads(row.query)), row.created_by, row.created_at)


def named_queries(engine: Engine) -> list[NamedQuery]:
    """Every named query, by name."""
    if not sql.has_query_table(engine):
        return []
    with engine.connect() as conn:
        rows = sql.named_queries(conn)
    return [NamedQuery(r.name, parse_query(orjson.loads(r.query)), r.created_by, r.created_at) for r in rows]


def delete_named_query(engine: Engine, name: str, *, party: str, regulator: bool) -> None:
    """Delete the named query `name` and its subscriptions: its creator or a regulator may. Raises
    NoSuchResourceException or Forbidden."""
    found = named_query(engine, name)
    if found.created_by != party and not regulator:
        raise Forbidden(
            f"only the party that created the named query {name!r}, or a regulator, may delete it"
        )
    subscribed = sub_sql.has_subscription_table(engine)
    with engine.begin() as conn:
        sql.delete_query(conn, name)
        if subscribed:
            sub_sql.delete_subscriptions_of(conn, name)  # they go with their query
