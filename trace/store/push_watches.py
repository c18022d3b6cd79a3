"""The SQL of consumers' "watch this product" (trace/push_watch.py): the watches and the messages due.

    TracePushWatch    one Web Push subscription watching one lot: its endpoint and keys, nothing else
    TracePushMessage  a recall to tell one watch of, until its push service takes it (then deleted)

    create_watch_tables(engine) / has_watch_tables(engine)
    add_watch(conn, row) -> None          replaces the same endpoint's watch of the same lot
    delete_watch(conn, lot, endpoint) -> bool / delete_watch_by_id(conn, id) -> None
    count_watches(conn, lot) -> int
    watch_rows(conn) -> [WatchRow]
    newest_index(conn) -> int | None
    scan_window(conn) -> (least `after` of the watches, newest ledger index) | None
    recalls_after(conn, after, upto) -> [(ledger index, event id)]
    queue_messages(engine, messages, *, upto) -> bool
    due_messages(conn, now) -> [MessageRow] / claim_message(conn, row, until) -> bool
    record_failure(conn, watch, recall, ...) / delete_message(conn, watch, recall)

Off the ledger, like the alert tables: not facts of the record, no replay rebuilds them and the
replay audit does not compare them; made by the first watch (`create_watch_tables`), so an app whose
page offers no watch keeps its schema as it was. No column holds anything about the person: no
address, cookie, account or time beyond the watch's own creation.

Each watch carries `after`, the newest ledger index it has been compared with: a recall at or before
it is not its business (the page showed that recall when the watch was made). `queue_messages`
inserts the messages and moves every watch's `after` to `upto` in one transaction; two deliverers
racing over the same window collide on the messages' primary key, and the loser's transaction is
rolled back whole. Otherwise the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Float, Index, Text, delete, func, insert, inspect, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from .tables import TraceEvent

__all__ = [
    "MessageRow",
    "TracePushMessage",
    "TracePushWatch",
    "WatchRow",
    "add_watch",
    "claim_message",
    "count_watches",
    "create_watch_tables",
    "delete_message",
    "delete_watch",
    "delete_watch_by_id",
    "due_messages",
    "forget_watches_made_before",
    "has_watch_tables",
    "newest_index",
    "queue_messages",
    "recalls_after",
    "record_failure",
    "scan_window",
    "watch_rows",
]


class TracePushWatch(SQLModel, table=True):
    """Push subscription `endpoint` (with its keys) watching lot `lot` since `created_at`."""

    __tablename__ = "trace_push_watch"
    __table_args__ = (Index("ux_trace_push_watch_lot_endpoint", "lot", "endpoint", unique=True),)
    id: str = Field(primary_key=True)
    lot: str
    endpoint: str = Field(sa_column=Column(Text, nullable=False))
    p256dh: str  # base64url, 65 bytes
    auth: str  # base64url, 16 bytes
    lang: str  # zh | en: the page's language, the notice's words
    created_at: str
    after: int = Field(sa_column=Column(BigInteger, nullable=False))


class TracePushMessage(SQLModel, table=True):
    """Recall `recall` (an event id) reached watch `watch`; not yet taken by its push service."""

    __tablename__ = "trace_push_message"
    watch: str = Field(primary_key=True)
    recall: str = Field(primary_key=True)
    recall_index: int = Field(sa_column=Column(BigInteger, nullable=False))
    attempts: int = 0
    next_attempt_at: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    last_error: str | None = None


_watch = TracePushWatch.__table__  # type: ignore[attr-defined]
_message = TracePushMessage.__table__  # type: ignore[attr-defined]
_event = TraceEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class WatchRow:
    id: str
    lot: str
    endpoint: str
    p256dh: str
    auth: str
    lang: str
    created_at: str
    after: int


@dataclass(frozen=True)
class MessageRow:
    watch: str
    recall: str
    recall_index: int
    attempts: int
    next_attempt_at: float
    last_error: str | None


def create_watch_tables(engine: Engine) -> None:
    """Create both tables if they are missing."""
    SQLModel.metadata.create_all(engine, tables=[_watch, _message])


def has_watch_tables(engine: Engine) -> bool:
    """Whether the tables exist (the first watch makes them)."""
    return inspect(engine).has_table(_message.name)


def add_watch(conn: Connection, row: WatchRow) -> None:
    """Store a watch; an earlier watch of the same lot by the same endpoint is replaced (its keys may
    have changed) along with its pending messages."""
    old = conn.execute(select(_watch.c.id).where(_watch.c.lot == row.lot, _watch.c.endpoint == row.endpoint))
    for (old_id,) in old.all():
        delete_watch_by_id(conn, old_id)
    conn.execute(insert(_watch).values(**row.__dict__))


def delete_watch(conn: Connection, lot: str, endpoint: str) -> bool:
    """Delete the watch of `lot` by `endpoint` and its messages. False if there was none."""
    found = conn.execute(select(_watch.c.id).where(_watch.c.lot == lot, _watch.c.endpoint == endpoint)).all()
    for (watch_id,) in found:
        delete_watch_by_id(conn, watch_id)
    return bool(found)


def delete_watch_by_id(conn: Connection, watch_id: str) -> None:
    """Delete a watch and its messages (its push service said the subscription is gone)."""
    conn.execute(delete(_message).where(_message.c.watch == watch_id))
    conn.execute(delete(_watch).where(_watch.c.id == watch_id))


def forget_watches_made_before(conn: Connection, made_before: str) -> int:
    """Delete every watch made before `made_before` (UTC text), with its messages; how many."""
    old = [i for (i,) in conn.execute(select(_watch.c.id).where(_watch.c.created_at < made_before))]
    for watch_id in old:
        delete_watch_by_id(conn, watch_id)
    return len(old)


def count_watches(conn: Connection, lot: str) -> int:
    """How many watches `lot` has."""
    return conn.execute(select(func.count()).select_from(_watch).where(_watch.c.lot == lot)).scalar_one()


def watch_rows(conn: Connection, ids: Iterable[str] | None = None) -> list[WatchRow]:
    """Every watch (or those with the given ids), oldest first."""
    q = select(_watch).order_by(_watch.c.created_at, _watch.c.id)
    if ids is not None:
        q = q.where(_watch.c.id.in_(list(ids)))
    return [WatchRow(**{k: getattr(r, k) for k in WatchRow.__dataclass_fields__}) for r in conn.execute(q)]


def newest_index(conn: Connection) -> int | None:
    """The newest recorded event's ledger index, or None when there is none."""
    newest = conn.execute(select(func.max(_event.c.ledger_index))).scalar()
    return None if newest is None else int(newest)


def scan_window(conn: Connection) -> tuple[int, int] | None:
    """(the least `after` of the watches, the newest recorded event's ledger index), or None when there
    is no watch or no event after that least `after`: then nothing can be new to any watch."""
    least = conn.execute(select(func.min(_watch.c.after))).scalar()
    if least is None:
        return None
    newest = newest_index(conn)
    if newest is None or newest <= least:
        return None
    return int(least), newest


def recalls_after(conn: Connection, after: int, upto: int) -> list[tuple[int, str]]:
    """The recall events recorded after ledger index `after`, up to `upto`: (index, event id), in ledger
    order (a range over the ledger index's unique index: cheap however long the ledger)."""
    q = (
        select(_event.c.ledger_index, _event.c.id)
        .where(_event.c.ledger_index > after, _event.c.ledger_index <= upto, _event.c.kind == "recall")
        .order_by(_event.c.ledger_index)
    )
    return [(int(r[0]), r[1]) for r in conn.execute(q)]


def queue_messages(engine: Engine, messages: Iterable[tuple[str, str, int]], *, upto: int) -> bool:
    """In one transaction of its own: insert one message per (watch id, recall event id, recall index)
    and move every watch's `after` up to `upto`. False (nothing written) if another deliverer queued
    one of them first."""
    rows = [
        {
            "watch": w,
            "recall": r,
            "recall_index": i,
            "attempts": 0,
            "next_attempt_at": 0.0,
            "last_error": None,
        }
        for w, r, i in messages
    ]
    try:
        with engine.begin() as conn:
            if rows:
                conn.execute(insert(_message), rows)
            conn.execute(update(_watch).where(_watch.c.after < upto).values(after=upto))
    except IntegrityError:
        return False
    return True


def _message_row(r) -> MessageRow:
    return MessageRow(**{k: getattr(r, k) for k in MessageRow.__dataclass_fields__})


def due_messages(conn: Connection, now: float, *, limit: int = 100) -> list[MessageRow]:
    """Messages not waiting for a retry at `now` (POSIX seconds), oldest recall first."""
    q = (
        select(_message)
        .where(_message.c.next_attempt_at <= now)
        .order_by(_message.c.recall_index, _message.c.watch)
        .limit(limit)
    )
    return [_message_row(r) for r in conn.execute(q)]


def _key(watch: str, recall: str):
    return (_message.c.watch == watch) & (_message.c.recall == recall)


def claim_message(conn: Connection, row: MessageRow, *, until: float) -> bool:
    """Take `row` for sending: push its next attempt to `until`, if no other deliverer took it since it
    was read. True if this caller holds it."""
    done = conn.execute(
        update(_message)
        .where(_key(row.watch, row.recall), _message.c.next_attempt_at == row.next_attempt_at)
        .values(next_attempt_at=until)
    )
    return done.rowcount == 1


def record_failure(
    conn: Connection, watch: str, recall: str, *, attempts: int, next_attempt_at: float, error: str
) -> None:
    """A send failed, the `attempts`-th in a row; the next is not before `next_attempt_at`."""
    conn.execute(
        update(_message)
        .where(_key(watch, recall))
        .values(attempts=attempts, next_attempt_at=next_attempt_at, last_error=error[:500])
    )


def delete_message(conn: Connection, watch: str, recall: str) -> None:
    """The push service took the message (or it was given up): it is done."""
    conn.execute(delete(_message).where(_key(watch, recall)))
