"""The answers about parties: the public register, a party's private details, the enrolment desk's
applications and the anomalies; each model with the function that builds it from the typed answer
of trace/reads/parties.py."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from farmtrace.trace.reads.parties import Anomaly, PartySummary

from .problems import _Public

__all__ = [
    "AnomalyPublic",
    "ApplicationPublic",
    "PartyKeyPublic",
    "PartyPrivatePublic",
    "PartyPublic",
    "anomaly_public",
    "party_private_public",
    "party_public",
]


class PartyKeyPublic(_Public):
    key_id: str
    active_from: str
    revoked_at: str | None


class PartyPublic(_Public):
    """A party on the public record (GET /parties lists them; GET /parties/{id} adds `keys`)."""

    id: str
    id_type: str
    name_zh: str
    name_en: str | None
    roles: list[str]
    address: str
    status: str
    registered_at: str
    keys: list[PartyKeyPublic] | None = None
    subject_code: str | None = Field(
        default=None, description="the national platform's 主体码 its registration record gives (absent if none)"
    )


class PartyPrivatePublic(PartyPublic):
    """GET /parties/{id}/private (regulators): the public record plus the contact details the desk
    keeps (null if it keeps none)."""

    private: dict[str, str] | None


class ApplicationPublic(_Public):
    """An application at the enrolment desk (POST, GET /parties/applications, .../reject)."""

    id: int
    kind: str = Field(description="register or key")
    party_id: str
    record: dict[str, Any] = Field(description="the party record, or {party_id, key_id, public_key}")
    key_id: str
    submitted_at: str
    status: str = Field(description="pending, approved or rejected")
    decided_at: str | None
    decided_by: str | None
    note: str | None
    private: dict[str, Any] | None = Field(description="the contact details filed with it, if any")


class AnomalyPublic(_Public):
    """GET /anomalies: an event a rule refused, kept with the rule and the event as submitted."""

    id: int
    at: str
    party: str
    kind: str
    rule: str
    field: str | None
    message: str
    lots: list[str]
    event_id: str
    event: dict[str, Any] = Field(description="the refused event as submitted")


def _party_fields(p: PartySummary) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": p.id,
        "id_type": p.id_type,
        "name_zh": p.name_zh,
        "name_en": p.name_en,
        "roles": list(p.roles),
        "address": p.address,
        "status": p.status,
        "registered_at": p.registered_at,
    }
    if p.keys is not None:  # listed only by the one-party read: the register's list has no key
        fields["keys"] = [
            PartyKeyPublic(key_id=k.key_id, active_from=k.active_from, revoked_at=k.revoked_at)
            for k in p.keys
        ]
    if p.subject_code is not None:  # docs/national-platform.md
        fields["subject_code"] = p.subject_code
    return fields


def party_public(p: PartySummary) -> PartyPublic:
    """GET /parties (each) and GET /parties/{id}."""
    return PartyPublic(**_party_fields(p))


def party_private_public(p: PartySummary, private: dict[str, str] | None) -> PartyPrivatePublic:
    """GET /parties/{id}/private: the public record and the desk's contact details."""
    return PartyPrivatePublic(**_party_fields(p), private=private)


def anomaly_public(a: Anomaly) -> AnomalyPublic:
    """GET /anomalies (each)."""
    return AnomalyPublic(
        id=a.id,
        at=a.at,
        party=a.party,
        kind=a.kind,
        rule=a.rule,
        field=a.field,
        message=a.message,
        lots=list(a.lots),
        event_id=a.event_id,
        event=a.event,
    )
