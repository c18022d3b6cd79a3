from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings
from farmtrace.ledger.note import Signer

LOG_SIGNER = Signer.from_seed("farmtrace.local/log", bytes(range(32)))


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings.from_env(
        {},
        data_dir=tmp_path,
        database_url=database_url,
        log_key=LOG_SIGNER.key_string(),
    )


@pytest.fixture
def client(settings):
    app = create_app(settings)
    with TestClient(app) as c:
        yield c
