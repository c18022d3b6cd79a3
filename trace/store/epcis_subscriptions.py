"""The SQL of EPCIS webhook subscriptions (`trace_epcis_subscription`): kept, listed, delivered.

create_subscription_table(engine)            -> None
has_subscription_table(engine)               -> bool
add_subscription(conn, row)                  -> None
subscription(conn, query_name, id)           -> SubscriptionRow | None
subscriptions_of(conn, query_name)           -> [SubscriptionRow]       oldest first
due_subscriptions(conn, now)                 -> [SubscriptionRow]       not waiting for a retry
delete_subscription(conn, query_name, id)    -> bool
delete_subscriptions_of(conn, query_name)    -> int
record_delivery(conn, id, after=, count=, at=) / record_passed(conn, id, after=) / record_failure(conn, id, ...)
last_event_index(conn)                       -> int | None                the newest recorded event's

The caller commits. A delivery's record moves `after` only forward (`after` < the new value), so two
notifiers that raced deliver an event twice at worst, never skip one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, inspect, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from .tables import TraceEpcisSubscription, TraceEvent

__all__ = [
    "SubscriptionRow",
    "add_subscription",
    "create_subscription_table",
    "delete_subscription",
    "delete_subscriptions_of",
    "due_subscriptions",
    "has_subscription_table",
    "last_event_index",
    "record_delivery",
    "record_failure",
    "record_passed",
    "subscription",
    "subscriptions_of",
]

_sub = TraceEpcisSubscription.__table__
_event = TraceEvent.__table__


@dataclass(frozen=True)
class SubscriptionRow:
    id: str
    query_name: str
    dest: str
    signature_token: str | None
    initial_record_time: str | None
    created_by: str
    created_at: str
    after: int | None
    delivered: int = 0
    last_notified_at: str | None = None
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None


def _row(r) -> SubscriptionRow:
    return SubscriptionRow(**{k: getattr(r, k) for k in SubscriptionRow.__dataclass_fields__})


def create_subscription_table(engine: Engine) -> None:
    """Create the subscriptions' table if it does not exist yet."""
    SQLModel.metadata.create_all(engine, tables=[_sub])


def has_subscription_table(engine: Engine) -> bool:
    """Whether the subscriptions' table exists (it is made by the first subscription)."""
    return inspect(engine).has_table(_sub.name)


def add_subscription(conn: Connection, row: SubscriptionRow) -> None:
    """Store a new subscription (its id is a fresh random one)."""
    conn.execute(insert(_sub).values(**row.__dict__))


def subscription(conn: Connection, query_name: str, sub_id: str) -> SubscriptionRow | None:
    """The subscription `sub_id` of named query `query_name`, or None."""
    r = conn.execute(select(_sub).where(_sub.c.query_name == query_name, _sub.c.id == sub_id)).first()
    return None if r is None else _row(r)


def subscriptions_of(conn: Connection, query_name: str) -> list[SubscriptionRow]:
    """The subscriptions of named query `query_name`, oldest first."""
    q = select(_sub).where(_sub.c.query_name == query_name).order_by(_sub.c.created_at, _sub.c.id)
    return [_row(r) for r in conn.execute(q)]


def due_subscriptions(conn: Connection, now: float) -> list[SubscriptionRow]:
    """Every subscription not waiting for a retry at `now` (POSIX seconds)."""
    q = select(_sub).where(_sub.c.next_attempt_at <= now).order_by(_sub.c.created_at, _sub.c.id)
    return [_row(r) for r in conn.execute(q)]


def delete_subscription(conn: Connection, query_name: str, sub_id: str) -> bool:
    """Delete one subscription. Returns False if there was none."""
    done = conn.execute(delete(_sub).where(_sub.c.query_name == query_name, _sub.c.id == sub_id))
    return done.rowcount > 0


def delete_subscriptions_of(conn: Connection, query_name: str) -> int:
    """Delete every subscription of a named query (it is being deleted); how many there were."""
    return conn.execute(delete(_sub).where(_sub.c.query_name == query_name)).rowcount


def _forward(sub_id: str, after: int):
    return (_sub.c.id == sub_id) & or_(_sub.c.after.is_(None), _sub.c.after < after)


def record_delivery(conn: Connection, sub_id: str, *, after: int, count: int, at: str) -> None:
    """`count` events up to ledger index `after` reached the subscriber at `at`: no retry pending."""
    conn.execute(
        update(_sub)
        .where(_forward(sub_id, after))
        .values(
            after=after,
            delivered=_sub.c.delivered + count,
            last_notified_at=at,
            attempts=0,
            next_attempt_at=0.0,
            last_error=None,
        )
    )


def record_passed(conn: Connection, sub_id: str, *, after: int) -> None:
    """Nothing up to ledger index `after` matches: the next delivery starts after it."""
    conn.execute(update(_sub).where(_forward(sub_id, after)).values(after=after))


def record_failure(
    conn: Connection, sub_id: str, *, attempts: int, next_attempt_at: float, error: str
) -> None:
    """A delivery failed: the `attempts`-th in a row; the next is not before `next_attempt_at`."""
    conn.execute(
        update(_sub)
        .where(_sub.c.id == sub_id)
        .values(attempts=attempts, next_attempt_at=next_attempt_at, last_error=error[:500])
    )


def last_event_index(conn: Connection) -> int | None:
    """The ledger index of the newest recorded event, or None if there is none."""
    return conn.execute(select(func.max(_event.c.ledger_index))).scalar()
