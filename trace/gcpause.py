"""Pausing Python's cyclic garbage collector around bulk work.

Bulk ingest builds tens of thousands of small objects (decoded events, rows, states) that live until
the batch ends and form almost no reference cycles, so reference counting frees them. The generational
collector would still traverse them again and again as they pile up (about 8% of ingest time,
measured in bench/trace_bench.py). Collection is process-wide, so nesting and concurrent callers
are counted: the collector comes back when the last of them leaves, and only if it was on before.

Overlapping callers could keep it paused indefinitely (a server busy with bulk requests), and
other code does make cycles, so a caller that leaves while others remain runs a full collection
itself, at most once every FULL_EVERY seconds.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["FULL_EVERY", "paused_collection"]

FULL_EVERY = 10.0  # seconds between full collections while overlapping callers keep the pause

_lock = threading.Lock()
_depth = 0
_was_enabled = False
_last_full = time.monotonic()


@contextmanager
def paused_collection() -> Iterator[None]:
    """Run the block with the cyclic collector off (reference counting still frees memory)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                if _was_enabled:
                    gc.enable()
            elif _was_enabled:
                _collect_if_due()


def _collect_if_due() -> None:
    global _last_full
    now = time.monotonic()
    if now - _last_full >= FULL_EVERY:
        _last_full = now
        gc.collect()
