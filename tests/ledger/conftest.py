from __future__ import annotations

import pytest

from farmtrace.ledger.note import Signer
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.ledger.store import MemoryStore


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer.from_seed("test.farmtrace.example/log", bytes(range(32)))


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request):
    """Every store the contract suite covers: memory, SQLite and PostgreSQL."""
    if request.param == "memory":
        s = MemoryStore()
    elif request.param == "sqlite":
        s = SqlStore.from_url(request.getfixturevalue("sqlite_url"))
    else:
        s = SqlStore.from_url(request.getfixturevalue("postgres_url"))
    yield s
    s.close()
