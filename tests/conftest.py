"""Shared fixtures: paths to the shared standards, and the PostgreSQL URL for the storage suites."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FARMTRACE_SHARED", REPO.parent / "shared"))
STANDARDS = SHARED / "standards"
POSTGRES_URL = os.environ.get("FARMTRACE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def standards() -> Path:
    if not STANDARDS.is_dir():
        pytest.fail(f"the shared standards are missing at {STANDARDS} (set FARMTRACE_SHARED)")
    return STANDARDS
