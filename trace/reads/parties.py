"""The public register of parties, and the anomalies (refused events) regulators review.

parties(engine)                 -> [PartySummary]   every party, by id (no keys)
party(engine, party_id)         -> PartySummary     one party with its keys; raises NotFound
party_names(engine)             -> {id: name_zh}    every party's Chinese name
anomalies(engine, *, rule=, party=, since=, until=, limit=) -> [Anomaly]   newest first

Contact details are not here: the enrolment desk keeps them (trace/applications.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clock import to_utc_text
from ..errors import NotFound
from ..store import national_codes
from ..store import party_queries as q
from ..store.queries import Engine

__all__ = ["Anomaly", "KeyListing", "PartySummary", "anomalies", "parties", "party", "party_names"]


@dataclass(frozen=True)
class KeyListing:
    """A party's signing key as the register lists it: its id, since when, revoked when (or None)."""

    key_id: str
    active_from: str
    revoked_at: str | None


@dataclass(frozen=True)
class PartySummary:
    """A party's public record. `keys` is None where the read does not list keys (`parties`);
    `subject_code` is the 主体码 its registration record gives, if any (docs/national-platform.md)."""

    id: str
    id_type: str
    name_zh: str
    name_en: str | None
    roles: tuple[str, ...]
    address: str
    status: str  # active | suspended
    registered_at: str  # UTC text, as stored
    keys: tuple[KeyListing, ...] | None = None
    subject_code: str | None = None


@dataclass(frozen=True)
class Anomaly:
    """An event the rules refused: who sent it, which rule and field refused it, and the event as sent."""

    id: int
    at: str  # UTC text of the refusal
    party: str
    kind: str
    rule: str
    field: str | None
    message: str
    lots: tuple[str, ...]
    event_id: str
    event: dict[str, Any]


def _summary(
    r: q.PartyRow, keys: tuple[KeyListing, ...] | None = None, subject_code: str | None = None
) -> PartySummary:
    return PartySummary(
        id=r.id,
        id_type=r.id_type,
        name_zh=r.name_zh,
        name_en=r.name_en,
        roles=r.roles,
        address=r.address,
        status=r.status,
        registered_at=r.registered_at,
        keys=keys,
        subject_code=subject_code,
    )


def parties(engine: Engine) -> list[PartySummary]:
    """Every registered party, by id, without keys."""
    with engine.connect() as conn:
        rows = q.party_rows(conn)
        codes = national_codes.codes_of(conn, "subject", [r.id for r in rows])
    return [_summary(r, subject_code=codes.get(r.id)) for r in rows]


def party(engine: Engine, party_id: str) -> PartySummary:
    """The party `party_id` with every key it has had, oldest first. Raises NotFound."""
    with engine.connect() as conn:
        row = q.party_row(conn, party_id)
        if row is None:
            raise NotFound("party", party_id)
        keys = tuple(
            KeyListing(key_id=k.key_id, active_from=k.active_from, revoked_at=k.revoked_at)
            for k in q.keys_of(conn, [party_id])
        )
        code = national_codes.codes_of(conn, "subject", [party_id]).get(party_id)
    return _summary(row, keys, code)


def party_names(engine: Engine) -> dict[str, str]:
    """party id -> Chinese name, for every registered party."""
    with engine.connect() as conn:
        return q.party_names(conn)


def anomalies(
    engine: Engine,
    *,
    rule: str | None = None,
    party: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[Anomaly]:
    """The latest `limit` refused events, newest first, filtered by rule, sender and time
    (`since` inclusive, `until` exclusive; timezone-aware)."""
    with engine.connect() as conn:
        rows = q.anomaly_rows(
            conn,
            rule=rule,
            party=party,
            since_utc=to_utc_text(since) if since else None,
            until_utc=to_utc_text(until) if until else None,
            limit=limit,
        )
    return [
        Anomaly(
            id=r.id,
            at=r.at_utc,
            party=r.party,
            kind=r.kind,
            rule=r.rule,
            field=r.field,
            message=r.message,
            lots=r.lots,
            event_id=r.event_id,
            event=json.loads(r.event),
        )
        for r in rows
    ]
