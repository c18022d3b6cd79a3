"""The SQL repository against MemoryState on long histories: tests/trace/test_repository.py's
differential test at 120 steps a history (its own module, so that the test runner can give it a
worker of its own while the short histories run on the other)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .test_repository import SETTINGS, _postgres, _sqlite, run_history


@pytest.mark.slow
@pytest.mark.timeout(900)  # 100 histories of 120 steps: ~1 min alone, twice that beside a busy neighbour
@settings(max_examples=100, **SETTINGS)
@given(data=st.data())
def test_sqlite_repository_matches_memory_state_long(tmp_path, data) -> None:
    run_history(_sqlite(tmp_path), data, steps=120)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(900)  # as above: long by design, not to be cut short on a shared machine
@settings(max_examples=25, **SETTINGS)
@given(data=st.data())
def test_postgres_repository_matches_memory_state_long(postgres_url, data) -> None:
    run_history(_postgres(postgres_url), data, steps=120)
