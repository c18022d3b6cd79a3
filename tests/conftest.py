"""Shared fixtures: paths to the standards' test data (tests/vectors), and the PostgreSQL URL for the storage suites."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# A fault of bulk ingest's fast path fails the test instead of being redone slowly (trace/ingest/runs.py).
os.environ.setdefault("FARMTRACE_INGEST_STRICT", "1")
# Public standards' data (RFC 9162 vectors, the EPCIS 2.0 schema, context and examples), copied into the
# repository with their licences so that the suite runs on a plain clone: see tests/vectors/README.md.
STANDARDS = REPO / "tests" / "vectors"
POSTGRES_URL = os.environ.get(
    "FARMTRACE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def standards() -> Path:
    if not STANDARDS.is_dir():
        pytest.fail(f"the standards' test data are missing at {STANDARDS}")
    return STANDARDS


def _postgres_available() -> str | None:
    """None if the test PostgreSQL answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return None
    except Exception as exc:  # any failure to connect means: not available
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL base URL; fails (never skips) under CI or FARMTRACE_REQUIRE_POSTGRES=1."""
    why = _postgres_available()
    if why is not None:
        if os.environ.get("CI") or os.environ.get("FARMTRACE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here but not reachable at {POSTGRES_URL}: {why}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {why}")
    return POSTGRES_URL


@contextlib.contextmanager
def fresh_schema(server: str) -> Iterator[str]:
    """A URL on `server` whose connections use a new schema of their own, dropped on exit."""
    import uuid

    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    raw = server.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{server}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgres_url(postgres_server, request) -> Iterator[str]:
    """A URL whose connections use a fresh schema of their own, dropped after the test."""
    with fresh_schema(postgres_server) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'farmtrace.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request) -> str:
    """Each SQL test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def clock():
    """A clock pinned at 23:30 UTC, already tomorrow in China (tests/clock_support.py); .set moves it."""
    from .clock_support import PinnedClock

    return PinnedClock()


@pytest.fixture
def pinned_app(tmp_path, clock):
    """Build apps that read the time only from `clock`: `pinned_app(**settings)` -> a fresh app on
    SQLite in tmp_path (settings as Settings.from_env takes them). Its log is closed after the test."""
    from farmtrace.api.app import create_app
    from farmtrace.api.settings import Settings

    apps = []

    def build(**settings):
        settings.setdefault("data_dir", tmp_path)
        settings.setdefault("database_url", f"sqlite:///{tmp_path / 'pinned.db'}")
        app = create_app(Settings.from_env({}, **settings), clock=clock)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.state.log.close(close_store=True)
