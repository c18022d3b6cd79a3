"""HAZMAT: the write path's performance tricks, all of them, and only here.

The event model (trace/model) and the rules (trace/rules) are plain frozen dataclasses and plain
parsers. This module makes bulk ingest faster by patching them at run time; it changes no result,
only how fast results come. `install()` turns every trick on (idempotent; the write path calls it
when a `Recorder` is made), `uninstall()` restores the plain code (tests/trace/test_speed.py records
the same histories both ways and compares every answer). To delete a trick, delete its section and
its line in `install`; nothing else refers to it.

Each trick carries its measured gain: the caller's CPU time per event of the SQLite `record_many`
1-process row of `bench/trace_bench.py --only ingest` (6,000 events, batches of 2,000), the trick
switched off against all on, interleaved in one process, 12 rounds on 2026-12-06 (issue 15; the
runs and the method are in bench/README.md, "Issue 15 A/B"). The machine's noise there was about
±12 %, so a trick had to cost more than that when off, consistently, to stay:

  paused collection  the cyclic GC is paused around a batch (`bulk_work`): off, +35 % CPU per event
  decimal texts      quantity and price texts parsed once (`Obj.decimal`): off, +15 %

Dropped in issue 15, their gain not shown by that A/B: the exec-built `__init__` of frozen dataclasses
(was trace/frozen.py; off: +3 %), the parse memos of equal products, places, prices and details
(was trace/model/memo.py; off: +6 %) and the time-zone offset memo (off: within noise; at most ~1 µs
per event by construction).

The speed work that is not a patch stays where it belongs and is documented there: the orjson
fast path of `model.encoding.decode_event` / `model.canonical.wire_json` (a parse checked against
the canonical bytes; off, +19 %), the verification worker processes (ingest/verifying.py) and the
bulk SQL applier (store/bulk.py).
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import lru_cache
from typing import Any

from ..errors import InvalidEvent
from ..model import reader
from ..model.units import parse_decimal

__all__ = ["FULL_EVERY", "bulk_work", "install", "installed", "uninstall"]

_lock = threading.RLock()
_undo: list[Callable[[], None]] = []  # how to put back what `install` patched, newest last
_on = False


def installed() -> bool:
    """True while the tricks are on."""
    return _on


def install() -> None:
    """Turn every trick on (idempotent, thread-safe)."""
    global _on
    with _lock:
        if _on:
            return
        _patch(reader.Obj, "decimal", _decimal)
        _on = True


def uninstall() -> None:
    """Restore the plain model (for tests and A/B runs); the memos are emptied."""
    global _on
    with _lock:
        while _undo:
            _undo.pop()()
        _decimal_text.cache_clear()
        _on = False


def _patch(owner: Any, name: str, new: Any) -> None:
    if name in vars(owner):
        old = vars(owner)[name]
        _undo.append(lambda: setattr(owner, name, old))
    else:  # inherited: undoing uncovers the parent's again
        _undo.append(lambda: delattr(owner, name))
    setattr(owner, name, new)


# --- paused collection ---------------------------------------------------------------------------------
# A batch builds tens of thousands of small objects that live until it ends and form almost no
# cycles, so reference counting frees them; the generational collector would traverse them again
# and again as they pile up. Collection is process-wide, so nesting and concurrent callers are
# counted: the collector comes back when the last leaves, and only if it was on. Overlapping callers
# could keep it paused indefinitely (a server busy with bulk requests), and other code does make
# cycles, so a caller that leaves while others remain runs a full collection at most every FULL_EVERY s.

FULL_EVERY = 10.0
_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False
_gc_last_full = time.monotonic()


@contextlib.contextmanager
def bulk_work() -> Iterator[None]:
    """Run the block as one batch of bulk work: the cyclic collector is paused while tricks are
    installed (reference counting still frees memory); a plain block otherwise."""
    if not installed():
        yield
        return
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0:
                if _gc_was_enabled:
                    gc.enable()
            elif _gc_was_enabled:
                _collect_if_due()


def _collect_if_due() -> None:
    global _gc_last_full
    now = time.monotonic()
    if now - _gc_last_full >= FULL_EVERY:
        _gc_last_full = now
        gc.collect()


# --- decimal texts ------------------------------------------------------------------------------------
# A batch's quantities and prices repeat ("50", "5", "12.5"): each distinct text is parsed once. A Decimal
# is immutable; only texts that parsed are kept (lru_cache keeps no exceptions), and a text that does not
# parse is parsed again by the plain code, so its error names the field as before.


@lru_cache(maxsize=4096)
def _decimal_text(text: str, **kw: Any) -> Decimal:
    return parse_decimal(text, field="", **kw)


def _decimal(self: reader.Obj, key: str, **kw: Any) -> Decimal:
    v = self.raw(key)
    if type(v) is str:
        try:
            return _decimal_text(v, **kw)
        except InvalidEvent:
            pass
    return parse_decimal(v, field=self.field(key), **kw)
