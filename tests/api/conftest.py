from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings
from farmtrace.ledger.note import Signer

from ..trace.story import REGULATOR, public_key

LOG_SIGNER = Signer.from_seed("farmtrace.local/log", bytes(range(32)))


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings.from_env(
        {},
        data_dir=tmp_path,
        database_url=database_url,
        log_key=LOG_SIGNER.key_string(),
        # The operator names the first regulator's key, so the stories' regulator may register
        # itself over HTTP (the genesis entry); nobody else may.
        bootstrap_key=base64.b64encode(public_key(REGULATOR)).decode(),
        # The app's index keeper appends an index entry FARMTRACE_INDEX_LAG s after it starts (on
        # the wall clock): a slow run would see one appear among the entries a test counts. Tests
        # commit the index when they need it (IndexKeeper(...).commit_due(); test_index_http.py
        # runs the app's keeper with a lag of 0).
        index_lag=3600,
    )


@pytest.fixture
def client(settings):
    app = create_app(settings)
    with TestClient(app) as c:
        yield c
