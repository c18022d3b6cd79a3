"""Whether a database keeps the head index: its tables exist (trace/store/index_store.py).

The index keeper (trace/index_keeper.py) creates the tables when a server starts; a database that
was never served by one (a test's service, a tool's scratch copy) has none, and a reader of the
index (trace/reads/journey_index.py) then answers "no index" instead of failing on a missing table.
Once seen, the tables stay (nothing drops them), so the answer is remembered per engine.
"""

from __future__ import annotations

import weakref

from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from .tables import TraceIndexHead

__all__ = ["has_index_tables"]

_KEPT: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines whose database has the index tables


def has_index_tables(engine: Engine) -> bool:
    """True if the head index's tables exist in `engine`'s database."""
    if engine not in _KEPT:
        if not inspect(engine).has_table(TraceIndexHead.__tablename__):
            return False
        _KEPT.add(engine)
    return True
