"""trace/restore.py: a restored service's projection, rebuilt from its ledger alone.

It is the replay's own projection step (trace/replay.py `reproject`), so the checks here are what a
restore adds: the rows land in the restored database, equal to the ones the service wrote, and a
ledger the write path refuses copies nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select

from farmtrace.trace.errors import SignatureRefused
from farmtrace.trace.restore import RestoreRefused, rebuild_projection
from farmtrace.trace.store.compare import PROJECTION, create_projection, first_divergence

from .story import REGULATOR, SHOP, key_id, key_wire
from .test_replay import NOW, _entry, ledger  # noqa: F401  (the fixture)


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_the_rebuilt_projection_equals_the_one_the_service_wrote(ledger, tmp_path):  # noqa: F811
    service, _ = ledger
    target = create_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    seen = []
    rows = rebuild_projection(
        service.log, target, clock=lambda: NOW, progress=lambda d, t: seen.append((d, t))
    )
    assert rows == sum(_count(target, t) for t in PROJECTION) > 0
    assert first_divergence(target, service.log.engine) is None
    assert seen[-1] == (service.log.size, service.log.size)


def test_a_ledger_the_write_path_refuses_restores_nothing(ledger, tmp_path):  # noqa: F811
    """An entry the log's operator appended with its own key for the regulator: refused by name."""
    service, lg = ledger
    forged = lg.make(
        "party.key_add", REGULATOR, key=key_id("operator"),
        detail={"party_id": SHOP, **key_wire("operator")},
    )  # fmt: skip
    index = service.log.append(_entry(forged, signer="operator"))
    target = create_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    with pytest.raises(RestoreRefused) as caught:
        rebuild_projection(service.log, target, clock=lambda: NOW)
    assert caught.value.index == index
    assert isinstance(caught.value.__cause__.cause, SignatureRefused)
    create_projection(target)
    assert all(_count(target, t) == 0 for t in PROJECTION)
