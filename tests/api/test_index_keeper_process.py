"""FARMTRACE_INDEX_KEEPER (api/settings.py, api/app.py): the head index kept by the serving process
(thread, the default) or by a process of its own (trace/index_process.py).

With `process`, the app's lifespan starts the keeper's process and stops it; the ingest batches of
the demo nudge it, and the index entries it commits equal the reference recomputation.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.demo import run_demo
from farmtrace.api.settings import ConfigError, Settings
from farmtrace.trace.head_index import decode_index_entry, is_index_entry
from farmtrace.trace.index_state import MemoryIndex

from ..web.consumer_support import LOG_SIGNER, close_app


def test_the_setting():
    assert Settings.from_env({}).index_keeper == "thread"
    assert Settings.from_env({"FARMTRACE_INDEX_KEEPER": "process"}).index_keeper == "process"
    with pytest.raises(ConfigError, match="FARMTRACE_INDEX_KEEPER"):
        Settings.from_env({"FARMTRACE_INDEX_KEEPER": "fork"})


def test_the_app_runs_a_keeper_process(tmp_path):
    settings = Settings.from_env(
        {"FARMTRACE_INDEX_KEEPER": "process", "FARMTRACE_INDEX_LAG": "0"},
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
    )
    app = create_app(settings)
    log = app.state.log
    try:
        with TestClient(app):  # the lifespan starts the keeper's process, and stops it
            run_demo(app.state.service, tmp_path / "keys")
            deadline = time.monotonic() + 60
            while True:
                entries = [e for _, e in log.read_entries(0, log.size)]
                last = [i for i, e in enumerate(entries) if is_index_entry(e)]
                if last and last[-1] == len(entries) - 1:
                    break  # the index caught up with the demo's last event
                assert time.monotonic() < deadline, "the keeper's process did not catch up"
                time.sleep(0.1)
    finally:
        close_app(app)
    reference, folded = MemoryIndex(), 0
    for i in last:
        reference.fold(folded, entries[folded:i])
        assert decode_index_entry(entries[i]) == reference.entry(i), f"index entry {i}"
        folded = i
