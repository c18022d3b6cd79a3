"""paused_collection: off inside, back on after the last caller leaves, never turned on if it was off."""

from __future__ import annotations

import gc
import threading

import pytest

from farmtrace.trace import gcpause
from farmtrace.trace.gcpause import paused_collection


@pytest.fixture(autouse=True)
def _restore_gc():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_nested_and_restored():
    gc.enable()
    with paused_collection():
        assert not gc.isenabled()
        with paused_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()


def test_restored_after_an_exception():
    gc.enable()
    with pytest.raises(ValueError), paused_collection():
        raise ValueError("boom")
    assert gc.isenabled()


def test_left_off_if_it_was_off():
    gc.disable()
    with paused_collection():
        pass
    assert not gc.isenabled()


def test_overlapping_threads_keep_it_off_until_the_last_leaves():
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def other():
        with paused_collection():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=other)
    with paused_collection():
        t.start()
        assert inside.wait(10)
    assert not gc.isenabled()  # the other thread is still inside
    release.set()
    t.join(10)
    assert gc.isenabled()


def test_overlapping_callers_still_collect_cycles(monkeypatch):
    # Callers that overlap keep the collector off; one leaving while another remains collects.
    monkeypatch.setattr(gcpause, "FULL_EVERY", 0.0)
    gc.enable()

    class Node:
        pass

    with paused_collection():
        with paused_collection():
            a, b = Node(), Node()
            a.other, b.other = b, a  # a cycle, unreachable once the names go
            del a, b
            before = sum(type(o) is Node for o in gc.get_objects())
        after = sum(type(o) is Node for o in gc.get_objects())
        assert not gc.isenabled()
    assert (before, after) == (2, 0)
