"""The consumer's evidence bundle (GET /lots/{code}/journey): every event with its ledger entry
and inclusion proof, the keys that signed them, and the checkpoint the proofs lead to. Its shape
is what web/static/verify.js and trace/verify_journey.py check: it must not change."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from farmtrace.trace.reads.journeys import Journey

from .lots import LotStatusPublic, ProductPublic
from .problems import _Public

__all__ = [
    "IndexItemPublic",
    "JourneyEventPublic",
    "JourneyIndexPublic",
    "JourneyKeyPublic",
    "JourneyPublic",
    "JourneyRecallPublic",
    "MapProofPublic",
    "ProvenEntryPublic",
    "journey_public",
]


class ProvenEntryPublic(_Public):
    """A ledger entry (base64; null if the row is gone) with its leaf hash and inclusion proof."""

    index: int
    entry: str | None
    leaf_hash: str | None
    proof: list[str]


class JourneyEventPublic(ProvenEntryPublic):
    id: str
    kind: str
    party: str
    party_name: str | None
    event: dict[str, Any] | None = Field(description="the decoded event; null if the entry no longer decodes")


class JourneyKeyPublic(_Public):
    party: str
    public_key: str
    registered_in: ProvenEntryPublic | None


class JourneyRecallPublic(_Public):
    id: str
    lot: str
    time: str
    reason: str
    instructions: str


class MapProofPublic(_Public):
    """A map proof of the head index (docs/index.md): sibling hashes from the deepest up, null for
    the empty subtree, and the other key's leaf where the path ends at one."""

    siblings: list[str | None]
    other: dict[str, str] | None


class IndexItemPublic(_Public):
    value: dict[str, Any] | None = Field(
        description="the head index's value for this lot or key (RFC 8785 JSON hashed into the map); null: none"
    )
    proof: MapProofPublic


class JourneyIndexPublic(_Public):
    """The latest committed head index entry, proven in the checkpoint, and the map proofs of every
    lot of the lineage and every key that signed one of the journey's events (issue 17 §2)."""

    entry: ProvenEntryPublic
    lots: dict[str, IndexItemPublic]
    keys: dict[str, IndexItemPublic]


class JourneyPublic(_Public):
    """GET /lots/{code}/journey: what a browser needs to check a lot's history (verify.js reads it)."""

    lot: str
    product: ProductPublic
    quantity: str
    unit: str
    status: LotStatusPublic
    lots: list[str]
    events: list[JourneyEventPublic]
    keys: dict[str, JourneyKeyPublic] = Field(description="key id -> the key and where it was registered")
    checkpoint: str
    size: int
    log_key: str
    recalls: list[JourneyRecallPublic]
    index: JourneyIndexPublic | None = Field(
        description="completeness: the head index's entry and proofs; null while the log has no index entry"
    )


def journey_public(journey: Journey) -> JourneyPublic:
    """GET /lots/{code}/journey: the bundle as `Journey.to_wire()` writes it (the one definition of
    the shape verify.js checks), validated."""
    return JourneyPublic.model_validate(journey.to_wire())
