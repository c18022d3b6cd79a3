"""The read side's SQL about parties: their public records, their keys, their names, and the anomalies.

Each function takes an open SQLAlchemy connection and returns small typed records
(`PartyRow`, `KeyRow`, `AnomalyRow`) or plain maps; `trace/reads/` shapes them into answers.
Lists of keys are queried in chunks (`in_chunks`), so no statement binds more than 500 values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .rows import in_chunks
from .tables import TraceAnomaly, TraceParty, TracePartyKey

__all__ = [
    "AnomalyRow",
    "KeyRow",
    "PartyRow",
    "anomaly_row",
    "anomaly_rows",
    "keys_of",
    "party_name_pairs",
    "party_names",
    "party_row",
    "party_rows",
]

_party = TraceParty.__table__
_key = TracePartyKey.__table__
_anomaly = TraceAnomaly.__table__


@dataclass(frozen=True)
class PartyRow:
    """A trace_party row's public columns (contact details stay with the enrolment desk)."""

    id: str
    id_type: str
    name_zh: str
    name_en: str | None
    roles: tuple[str, ...]
    address: str
    status: str
    registered_at: str  # UTC text, as stored


@dataclass(frozen=True)
class KeyRow:
    """A trace_party_key row: a party's signing key and the event that put it on the record."""

    key_id: str
    party_id: str
    public_key: bytes
    active_from: str
    revoked_at: str | None
    added_by_event: str


@dataclass(frozen=True)
class AnomalyRow:
    """A trace_anomaly row: a refused event, with the rule and field that refused it."""

    id: int
    at_utc: str
    party: str
    kind: str
    rule: str
    field: str | None
    message: str
    lots: tuple[str, ...]
    event_id: str
    event: str  # the refused event's canonical JSON, as submitted


def anomaly_row(r) -> AnomalyRow:
    """An AnomalyRow of a trace_anomaly row (its stored lots are space-separated)."""
    return AnomalyRow(
        id=r.id,
        at_utc=r.at_utc,
        party=r.party,
        kind=r.kind,
        rule=r.rule,
        field=r.field,
        message=r.message,
        lots=tuple(r.lots.split()),
        event_id=r.event_id,
        event=r.event,
    )


def _party_row(r) -> PartyRow:
    return PartyRow(
        id=r.id,
        id_type=r.id_type,
        name_zh=r.name_zh,
        name_en=r.name_en,
        roles=tuple(r.roles.split()),
        address=r.address,
        status=r.status,
        registered_at=r.registered_at,
    )


def party_rows(conn: Connection) -> list[PartyRow]:
    """Every registered party, by id."""
    return [_party_row(r) for r in conn.execute(select(_party).order_by(_party.c.id))]


def party_row(conn: Connection, party_id: str) -> PartyRow | None:
    """The party `party_id`, or None if no party has that id."""
    r = conn.execute(select(_party).where(_party.c.id == party_id)).first()
    return _party_row(r) if r is not None else None


def keys_of(conn: Connection, party_ids: Iterable[str]) -> list[KeyRow]:
    """Every key of these parties, revoked ones included, by active_from (oldest first) within each
    chunk of 500 parties (a single party's keys are simply oldest first)."""
    out = []
    for chunk in in_chunks(sorted(set(party_ids))):
        q = select(_key).where(_key.c.party_id.in_(chunk)).order_by(_key.c.active_from)
        for r in conn.execute(q):
            out.append(
                KeyRow(
                    key_id=r.key_id,
                    party_id=r.party_id,
                    public_key=bytes(r.public_key),
                    active_from=r.active_from,
                    revoked_at=r.revoked_at,
                    added_by_event=r.added_by_event,
                )
            )
    return out


def party_names(conn: Connection, party_ids: Iterable[str] | None = None) -> dict[str, str]:
    """party id -> Chinese name, for these ids (unknown ones left out), or for every party if None."""
    q = select(_party.c.id, _party.c.name_zh)
    if party_ids is None:
        return {r.id: r.name_zh for r in conn.execute(q)}
    out = {}
    for chunk in in_chunks(sorted(set(party_ids))):
        for r in conn.execute(q.where(_party.c.id.in_(chunk))):
            out[r.id] = r.name_zh
    return out


def party_name_pairs(conn: Connection, party_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """party id -> (Chinese name, English name or None), for those of these ids that are known."""
    out = {}
    q = select(_party.c.id, _party.c.name_zh, _party.c.name_en)
    for chunk in in_chunks(sorted(set(party_ids))):
        for r in conn.execute(q.where(_party.c.id.in_(chunk))):
            out[r.id] = (r.name_zh, r.name_en)
    return out


def anomaly_rows(
    conn: Connection,
    *,
    rule: str | None,
    party: str | None,
    since_utc: str | None,
    until_utc: str | None,
    limit: int,
) -> list[AnomalyRow]:
    """The latest `limit` anomalies (newest first) matching every filter given; times are UTC texts,
    `since_utc` inclusive, `until_utc` exclusive."""
    t = _anomaly
    q = select(t).order_by(t.c.id.desc()).limit(limit)
    if rule:
        q = q.where(t.c.rule == rule)
    if party:
        q = q.where(t.c.party == party)
    if since_utc:
        q = q.where(t.c.at_utc >= since_utc)
    if until_utc:
        q = q.where(t.c.at_utc < until_utc)
    return [
        anomaly_row(r)
        for r in conn.execute(q)
    ]
