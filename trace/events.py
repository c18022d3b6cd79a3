"""Transitional: moved to farmtrace.trace.model (issue 15); this module re-exports the old names.

The event model is now a package: `model.reader` (the strict JSON reader), `model.values`,
`model.details`, `model.kinds` (the kind registry) and `model.event`. Two names changed:
`PartyKey` is `model.values.KeyRecord` (a public key on the record; `client.PartyKey` is a party's
private signing key) and `parse_party_key` is `model.values.parse_key_record`. Import from the new
modules; this one goes once the last import is swept.
"""

from .model.details import (
    COMMITMENTS,
    STANDARD_RECALL_INSTRUCTIONS,
    CertifyDetail,
    DestroyDetail,
    Detail,
    EntryCheck,
    HarvestDetail,
    InspectDetail,
    KeyAddDetail,
    KeyRevokeDetail,
    PartyRegisterDetail,
    PartySuspendDetail,
    RecallDetail,
    ReceiveDetail,
    SellDetail,
    ShipDetail,
    TransformDetail,
)
from .model.event import MAX_EVENT_BYTES, Event
from .model.ids import key_id_for
from .model.kinds import DETAIL_TYPES, KINDS, LOT_KINDS, PARTY_KINDS
from .model.reader import MAX_LOTS, MAX_TEXT, parse_time
from .model.values import (
    ROLES,
    Document,
    Location,
    LotOut,
    LotRef,
    PartyRecord,
    Price,
    Product,
    Sensor,
    parse_party_record,
)
from .model.values import KeyRecord as PartyKey
from .model.values import parse_key_record as parse_party_key

__all__ = [
    "COMMITMENTS",
    "DETAIL_TYPES",
    "KINDS",
    "LOT_KINDS",
    "MAX_EVENT_BYTES",
    "MAX_LOTS",
    "MAX_TEXT",
    "PARTY_KINDS",
    "ROLES",
    "STANDARD_RECALL_INSTRUCTIONS",
    "CertifyDetail",
    "DestroyDetail",
    "Detail",
    "Document",
    "EntryCheck",
    "Event",
    "HarvestDetail",
    "InspectDetail",
    "KeyAddDetail",
    "KeyRevokeDetail",
    "Location",
    "LotOut",
    "LotRef",
    "PartyKey",
    "PartyRecord",
    "PartyRegisterDetail",
    "PartySuspendDetail",
    "Price",
    "Product",
    "RecallDetail",
    "ReceiveDetail",
    "SellDetail",
    "Sensor",
    "ShipDetail",
    "TransformDetail",
    "key_id_for",
    "parse_party_key",
    "parse_party_record",
    "parse_time",
]
