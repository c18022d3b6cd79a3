# size: every trace table's declaration in one place: the schema a reader checks at one glance
"""The domain's SQL tables (SQLModel): a projection of the ledger, plus what stays off it.

Also the audit runs' table (`AuditRun`, the regulator's full audits, trace/audits.py), which its
runner creates itself and so is not in `TABLES`.

Everything here but `TraceAnomaly` and `TracePartyPrivate` can be rebuilt by replaying the ledger's
entries: the ledger is the record, these tables are its index. They are written in the same
database transaction as the ledger entry they come from (see `service`), so the two never differ.

Quantities are stored as decimal *text* and computed in Python (`decimal.Decimal`): SQLite has no
exact decimal type. Times are stored as UTC ISO 8601 text (`to_utc_text`), which sorts correctly.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, Text
from sqlmodel import Field, SQLModel

from ..clock import to_utc_text  # the tables' time format lives with the clock; re-exported here

__all__ = [
    "INDEX_TABLES",
    "NODE_TABLES",
    "TABLES",
    "AuditRun",
    "TraceAnimal",
    "TraceAnomaly",
    "TraceApplication",
    "TraceCertificate",
    "TraceDisposal",
    "TraceEpcisEventId",
    "TraceEpcisQuery",
    "TraceEpcisSubscription",
    "TraceEvent",
    "TraceEventLot",
    "TraceHolding",
    "TraceIndexHead",
    "TraceIndexMapNode",
    "TraceIndexMapValue",
    "TraceLabel",
    "TraceLivestockCertificate",
    "TraceLot",
    "TraceLotParent",
    "TraceNationalCode",
    "TraceParty",
    "TracePartyKey",
    "TracePartyPrivate",
    "TraceTransit",
    "to_utc_text",
]


class TraceParty(SQLModel, table=True):
    __tablename__ = "trace_party"
    id: str = Field(primary_key=True)
    id_type: str
    name_zh: str
    name_en: str | None = None
    roles: str  # space-separated roles
    address: str
    status: str = "active"
    contact_commitment: str
    registered_at: str
    registered_event: str


class TracePartyKey(SQLModel, table=True):
    __tablename__ = "trace_party_key"
    key_id: str = Field(primary_key=True)
    party_id: str = Field(index=True)
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    active_from: str
    revoked_at: str | None = None
    added_by_event: str  # the party.register or party.key_add event that put the key on the record


class TracePartyPrivate(SQLModel, table=True):
    """Off-ledger personal details (phone, contact person, resident ID); regulator-only reads.

    The ledger holds only `contact_commitment` = SHA-256(salt ‖ canonical JSON of these details).
    """

    __tablename__ = "trace_party_private"
    party_id: str = Field(primary_key=True)
    details: str  # canonical JSON
    salt: str  # hex


class TraceLot(SQLModel, table=True):
    __tablename__ = "trace_lot"
    code: str = Field(primary_key=True)
    unit: str
    product: str  # canonical JSON of the Product wire form
    # No index on product_name or created_by: nothing looks lots up by them, and each index costs
    # every ingested lot a B-tree insert.
    product_name: str
    created_by: str
    created_at: str
    created_event: str
    head: str
    head_time: str
    quantity: str
    failed: bool = False
    recalled: bool = False
    rejected: bool = False
    cleared: bool = False


class TraceLotParent(SQLModel, table=True):
    __tablename__ = "trace_lot_parent"
    __table_args__ = (Index("ix_trace_lot_parent_parent", "parent"),)
    child: str = Field(primary_key=True)
    parent: str = Field(primary_key=True)


class TraceHolding(SQLModel, table=True):
    __tablename__ = "trace_holding"
    __table_args__ = (Index("ix_trace_holding_party", "party"),)
    lot: str = Field(primary_key=True)
    party: str = Field(primary_key=True)
    quantity: str


class TraceTransit(SQLModel, table=True):
    __tablename__ = "trace_transit"
    __table_args__ = (Index("ix_trace_transit_lot", "lot"),)
    ship_event: str = Field(primary_key=True)
    lot: str = Field(primary_key=True)
    source: str
    destination: str
    quantity: str
    unit: str
    received: str = "0"


class TraceDisposal(SQLModel, table=True):
    __tablename__ = "trace_disposal"
    lot: str = Field(primary_key=True)
    how: str = Field(primary_key=True)  # sold | destroyed
    quantity: str


class TraceCertificate(SQLModel, table=True):
    """A 合格证 on record for a lot: the certify event's certificate number and its input lot (what a
    market-entry check that names the number is matched against, along the lot's lineage)."""

    __tablename__ = "trace_certificate"
    certificate_no: str = Field(primary_key=True)
    lot: str = Field(primary_key=True)


class TraceLabel(SQLModel, table=True):
    """A pre-printed label bound to a lot: serial `serial` (GS1 AI 21) under `gtin` (14 digits) names
    lot `lot` since label_activate event `event_id` (trace/label_rolls.py). A label binds once."""

    __tablename__ = "trace_label"
    gtin: str = Field(primary_key=True)
    serial: str = Field(primary_key=True)
    lot: str = Field(index=True)
    event_id: str


class TraceAnimal(SQLModel, table=True):
    """A live animal by its ear tag: the lot it is in now (`lot`), since event `event_id` (the harvest
    that tagged it, or the split, merge or repack that moved it), and the weighing it is reckoned by
    (rules.view.reckon_live_weight). Written by trace/store/livestock.py."""

    __tablename__ = "trace_animal"
    ear_tag: str = Field(primary_key=True)
    lot: str = Field(index=True)
    event_id: str
    weighed_kg: str | None = None  # the live weight of the group it was last weighed in (kg, decimal text)
    weighed_heads: int | None = None  # and that group's size


class TraceLivestockCertificate(SQLModel, table=True):
    """A livestock certificate on record for a lot (rules.view.LivestockCertificate): a 动物检疫合格证明
    (a quarantine event) or a slaughterhouse's 肉品品质检验合格证 (a slaughter, one row per lot it made).
    Times are UTC text; `valid_until` is null for a meat certificate. Written by trace/store/livestock.py."""

    __tablename__ = "trace_livestock_certificate"
    certificate_no: str = Field(primary_key=True)
    lot: str = Field(primary_key=True, index=True)
    form: str
    issued_at: str
    valid_until: str | None = None
    event_id: str


class TraceNationalCode(SQLModel, table=True):
    """A national platform code a signed record gives (docs/national-platform.md): a party's 主体码
    (`scheme` "subject", from its party.register record) or a lot's 追溯码 ("tracing", from the event
    that created the lot). `holder` is the party id or lot code; `event_id` the event that gave it."""

    __tablename__ = "trace_national_code"
    __table_args__ = (Index("ix_trace_national_code_holder", "holder"),)
    code: str = Field(primary_key=True)
    scheme: str = Field(primary_key=True)
    holder: str = Field(primary_key=True)
    event_id: str


class TraceEvent(SQLModel, table=True):
    """One accepted event: where it is in the ledger, and columns for queries (the bytes are in the ledger)."""

    __tablename__ = "trace_event"
    __table_args__ = (Index("ix_trace_event_at", "at_utc"),)  # none on party: nothing queries by it
    id: str = Field(primary_key=True)
    ledger_index: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    kind: str
    party: str
    event_time: str
    at_utc: str
    location: str
    product_name: str | None = None
    price_amount: str | None = None
    price_unit: str | None = None
    price_stage: str | None = None


class TraceEventLot(SQLModel, table=True):
    """A lot an accepted event names, as an input or an output, at the event's ledger index.

    `ledger_index` is the same number as `TraceEvent.ledger_index`, and code calls it that. The
    database stores it in a column named `seq`, its old name: there is no migration tool, and
    SQLite and PostgreSQL databases with that column exist, so the stored name stays and only the
    key changes (`Column("seq", key="ledger_index")`: `table.c.ledger_index`, rows' `ledger_index`;
    SQL written as text says `seq`, see rows.stored_names). The index keeps its name too.
    """

    __tablename__ = "trace_event_lot"
    __table_args__ = (Index("ix_trace_event_lot_lot", "lot", "ledger_index"),)  # stored as (lot, seq)
    event_id: str = Field(primary_key=True)
    lot: str = Field(primary_key=True)
    role: str  # input | output
    quantity: str
    unit: str
    ledger_index: int = Field(sa_column=Column("seq", BigInteger, key="ledger_index", nullable=False))


class TraceAnomaly(SQLModel, table=True):
    """A refused attempt by an authenticated party: who tried what, when, and which rule refused it."""

    __tablename__ = "trace_anomaly"
    __table_args__ = (Index("ix_trace_anomaly_at", "at_utc"),)
    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    at_utc: str
    party: str = Field(index=True)
    kind: str
    rule: str = Field(index=True)
    field: str | None = None
    message: str
    lots: str  # space-separated lot codes the event named
    event_id: str
    event: str = Field(sa_column=Column(Text, nullable=False))  # the refused event's canonical JSON


class TraceApplication(SQLModel, table=True):
    """A request to be registered (or to add a key after a lost device), waiting for a regulator.

    Off the ledger until approved: the approval is the regulator's signed party.register (or
    party.key_add) event, which is what enters the ledger.
    """

    __tablename__ = "trace_application"
    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    kind: str  # register | key
    party_id: str = Field(index=True)
    record: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON of the PartyRecord / key
    key_id: str
    submitted_at: str
    status: str = "pending"  # pending | approved | rejected
    decided_at: str | None = None
    decided_by: str | None = None
    note: str | None = None
    private: str | None = Field(default=None, sa_column=Column(Text))  # contact details JSON (regulator-only)
    salt: str | None = None


TABLES = [
    m.__table__  # type: ignore[attr-defined]
    for m in (
        TraceParty,
        TracePartyKey,
        TracePartyPrivate,
        TraceLot,
        TraceLotParent,
        TraceHolding,
        TraceTransit,
        TraceDisposal,
        TraceCertificate,
        TraceLabel,
        TraceAnimal,
        TraceLivestockCertificate,
        TraceNationalCode,
        TraceEvent,
        TraceEventLot,
        TraceAnomaly,
        TraceApplication,
    )
]


class TraceIndexMapNode(SQLModel, table=True):
    """A node of the head index's map (ledger/verifiable_map.py) as it is in the index of entries
    [0, version): 32 bytes (a subtree's hash), 64 (a leaf: key ‖ value hash) or none (b"": empty).
    Written by trace/store/map_rows.py, outside the log's write lock; on SQLite in a file of its own;
    not in `TABLES` (the replay recomputes the index in memory)."""

    __tablename__ = "trace_index_map_node"
    position: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    version: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    node: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class TraceIndexMapValue(SQLModel, table=True):
    """The value bytes (RFC 8785 JSON, trace/head_index.py) of a key of the head index's map as it is
    in the index of entries [0, version); written and stored as `TraceIndexMapNode`."""

    __tablename__ = "trace_index_map_value"
    map_key: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    version: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class TraceIndexHead(SQLModel, table=True):
    """The latest index entry the stored map answers for (one row, id 1), and when it was committed."""

    __tablename__ = "trace_index_head"
    id: int = Field(default=1, sa_column=Column(Integer, primary_key=True))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    lots: int = Field(sa_column=Column(BigInteger, nullable=False))
    keys: int = Field(sa_column=Column(BigInteger, nullable=False))
    committed_at: float


INDEX_TABLES = [TraceIndexHead.__table__]  # type: ignore[attr-defined]
NODE_TABLES = [m.__table__ for m in (TraceIndexMapNode, TraceIndexMapValue)]  # type: ignore[attr-defined]


class TraceEpcisQuery(SQLModel, table=True):
    """An EPCIS 2.0 named query (REST binding `POST /queries`): its name, its parameters as canonical
    JSON, who created it and when. Off the ledger and not in `TABLES`: written and created only by
    trace/store/epcis_queries.py."""

    __tablename__ = "trace_epcis_query"
    name: str = Field(primary_key=True)
    query: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str
    created_at: str


class TraceEpcisEventId(SQLModel, table=True):
    """The CBV 2.0 event hash ID (CBV 2.0 §8.9) of each exported event, under one vocabulary
    base (the hash covers the `farmtrace:` extension fields, whose namespace is the base's), so
    `GET /epcis/events/{eventID}` finds the event. A cache of the ledger, filled in ledger order when
    a lookup needs it; not in `TABLES`: written and created only by trace/store/epcis_queries.py."""

    __tablename__ = "trace_epcis_event_id"
    __table_args__ = (Index("ix_trace_epcis_event_id_index", "base", "ledger_index"),)
    base: str = Field(primary_key=True)
    event_hash: str = Field(primary_key=True)  # the whole ni:///sha-256;…?ver=CBV2.0 URI
    ledger_index: int = Field(sa_column=Column(BigInteger, nullable=False))


class TraceEpcisSubscription(SQLModel, table=True):
    """A webhook subscription to an EPCIS named query (REST binding `POST /queries/{name}/subscriptions`,
    stream only): where to send, the client's signature token, and its delivery state (`after`: the
    last ledger index delivered or passed). Off the ledger and not in `TABLES`: written and created
    only by trace/store/epcis_subscriptions.py."""

    __tablename__ = "trace_epcis_subscription"
    id: str = Field(primary_key=True)
    query_name: str = Field(index=True)
    dest: str = Field(sa_column=Column(Text, nullable=False))
    signature_token: str | None = Field(default=None, sa_column=Column(Text))
    initial_record_time: str | None = None
    created_by: str
    created_at: str
    after: int | None = Field(default=None, sa_column=Column(BigInteger))
    delivered: int = 0
    last_notified_at: str | None = None
    attempts: int = 0  # failed deliveries in a row
    next_attempt_at: float = 0.0  # POSIX seconds; not before this
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class AuditRun(SQLModel, table=True):
    """A full audit of the log (trace/audits.py): progress while it runs, then its verdict."""

    __tablename__ = "farmtrace_audit_run"
    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    started_at: str
    updated_at: float
    finished_at: str | None = None
    requested_by: str
    done: int = 0
    total: int = 0
    ok: bool | None = None
    summary: str | None = Field(default=None, sa_column=Column(Text))
    failures: str | None = Field(default=None, sa_column=Column(Text))  # JSON list
