"""HAZMAT: the write path's performance tricks, all of them, and only here.

The event model (trace/model) and the rules (trace/rules) are plain frozen dataclasses and plain
parsers. This module makes bulk ingest faster by patching them at run time; it changes no result,
only how fast results come. `install()` turns every trick on (idempotent; the write path calls it
when a `Recorder` is made), `uninstall()` restores the plain code (tests/trace/test_speed.py records
the same histories both ways and compares every answer). To delete a trick, delete its section and
its line in `install`; nothing else refers to it.

Each trick carries its measured gain: the caller's CPU time per event of the SQLite `record_many`
1-process row of `bench/trace_bench.py --only ingest` (6,000 events, batches of 2,000), a trick
switched off against all on, interleaved in one process, 12 rounds on 2026-12-06 (issue 15; runs and
method in bench/README.md, "Issue 15 A/B"). The machine's noise there was about ±12 %:

  paused collection  the cyclic GC is paused around a batch (`bulk_work`): off, +35 %
  decimal texts      quantity and price texts parsed once (`Obj.decimal`): off, +15 %
  fast_init          frozen dataclasses' __init__ writes the instance dict directly instead of
                     `object.__setattr__` per field (exec-built, as `dataclasses` itself does): off, +3 %
  parse memos        equal products, places, prices and details of a batch parsed once: off, +6 %
  time-zone memo     an event time's offset ("+08:00") turned into a `timezone` once: decode_entry
                     2.8 µs of 38 µs per event in cProfile (2026-12-07), about 1 % of ingest

The last two are below the noise one by one, but not together: with fast_init, the parse memos and
the time-zone memo removed, the row ran at 0.34x raw verify against 0.44x before (3 alternated runs
each), so they stay. The time-zone memo was dropped on 2026-12-06 as worth at most 1 µs per event and
restored on 2026-12-07, when a profile of decode_entry showed `zone` at 2.8 µs per event.

The speed work that is not a patch stays where it belongs and is documented there: the orjson
fast path of `model.encoding.decode_event`/`model.canonical.wire_json` (a parse checked against
the canonical bytes), the verification worker processes (ingest/verifying.py) and the bulk SQL
applier (store/bulk.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import lru_cache
from typing import Any

from ..errors import InvalidEvent
from ..model import details, encoding, event, reader, values
from ..model.kinds import DETAIL_TYPES
from ..model.units import parse_decimal
from ..rules import effects, view
from . import runs

__all__ = ["FULL_EVERY", "PARSED_MAX", "bulk_work", "install", "installed", "uninstall"]

_lock = threading.RLock()
_undo: list[Callable[[], None]] = []  # how to put back what `install` patched, newest last


def installed() -> bool:
    """True while the tricks are on."""
    return bool(_undo)


def install() -> None:
    """Turn every trick on (idempotent, thread-safe)."""
    with _lock:
        if _undo:
            return
        for module in (values, details, event, encoding, effects, view, runs):
            _install_fast_init(module)
        _install_parse_memos()
        _patch(reader, "zone", _zone)


def uninstall() -> None:
    """Restore the plain model (for tests and A/B runs); the memos are emptied."""
    with _lock:
        while _undo:
            _undo.pop()()
        _PARSED.clear()
        _ZONES.clear()
        _decimal_text.cache_clear()


def _patch(owner: Any, name: str, new: Any) -> None:
    if name in vars(owner):
        old = vars(owner)[name]
        _undo.append(lambda: setattr(owner, name, old))
    else:  # inherited: undoing uncovers the parent's again
        _undo.append(lambda: delattr(owner, name))
    setattr(owner, name, new)


# --- fast_init ---------------------------------------------------------------------------------------
# A frozen dataclass's generated __init__ stores each field through `object.__setattr__`, about 0.2 µs
# a field; bulk ingest builds a few hundred fields per event (events, effects, lot states). The __init__
# made here writes the same values into the instance dictionary, which is what `object.__setattr__`
# ends up doing for a class without slots or a custom __setattr__. Everything else stays the
# dataclass's own (fields, defaults, eq, hash, repr, the refusal to assign, replace, pickling).


def _install_fast_init(module: Any) -> None:
    for cls in list(vars(module).values()):
        if (
            isinstance(cls, type)
            and cls.__module__ == module.__name__
            and dataclasses.is_dataclass(cls)
            and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        ):
            init = fast_init(cls)
            if init is not None:
                _patch(cls, "__init__", init)


def fast_init(cls: type) -> Any:
    """An `__init__` for frozen dataclass `cls` equal in effect to the generated one, or None when
    `cls` has slots, `__post_init__`, init-only, keyword-only or InitVar fields (kept as they are)."""
    if "__slots__" in cls.__dict__ or hasattr(cls, "__post_init__"):
        return None
    fields = dataclasses.fields(cls)
    if any(not f.init or f.kw_only for f in fields) or any(
        isinstance(f.type, dataclasses.InitVar) for f in fields
    ):
        return None
    namespace: dict[str, Any] = {"_HAS_FACTORY": _HAS_FACTORY}
    params, body = [], ["d = self.__dict__"]
    for f in fields:
        name = f.name
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{name}"] = f.default
            params.append(f"{name}=_default_{name}")
            body.append(f"d[{name!r}] = {name}")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{name}"] = f.default_factory
            params.append(f"{name}=_HAS_FACTORY")
            body.append(f"d[{name!r}] = _factory_{name}() if {name} is _HAS_FACTORY else {name}")
        else:
            params.append(name)
            body.append(f"d[{name!r}] = {name}")
    source = f"def __init__(self, {', '.join(params)}):\n    " + "\n    ".join(body)
    exec(source, namespace)  # the dataclasses module builds its __init__ the same way
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(cls.__init__.__annotations__)
    return init


class _HasFactory:
    def __repr__(self) -> str:
        return "<factory>"


_HAS_FACTORY = _HasFactory()


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


# --- parse memos and decimal texts ----------------------------------------------------------------------------------------
# Parsing a value is a pure function of its JSON object. Only objects whose values are all strings
# are kept (1, 1.0 and true are equal keys in Python, "1" is not), only objects that parsed (a hit
# never hides an error), at most PARSED_MAX of them. A nested object is opened (`Obj.obj`, which
# refuses unknown keys) before the fields around it are read and parsed after them; an object found
# in the memo was opened and parsed without error before, so `Obj.obj` hands it over already parsed
# (`_Parsed`) and the first error named is the same either way. Opening looks the type up by its
# `KEYS`; a `KEYS` two memoised types share is not looked up (they are opened and parsed plainly).

PARSED_MAX = 4096
_PARSED: dict[tuple, Any] = {}


def _memo_parse(cls: type) -> None:
    plain = cls._parse.__func__  # type: ignore[attr-defined]  # its own or inherited

    def _parse(c: type, o: reader.Obj) -> Any:
        if type(o) is _Parsed:
            return o.hit
        value = o.value
        if c is not cls or not all(type(v) is str for v in value.values()):
            return plain(c, o)
        key = (cls, *value.items())
        hit = _PARSED.get(key)
        if hit is None:
            hit = plain(c, o)
            if len(_PARSED) >= PARSED_MAX:
                _PARSED.clear()
            _PARSED[key] = hit
        return hit

    _patch(cls, "_parse", classmethod(_parse))


@lru_cache(maxsize=4096)  # a Decimal is immutable; errors are not kept
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


class _Parsed(reader.Obj):
    """A nested object the memo already holds parsed. The memoised `_parse` takes `hit`; any other
    reader reads it as the plain `Obj` it is (its keys are those it was opened with, checked when it
    parsed; its path is made only if an error needs it)."""

    def __init__(self, hit: Any, value: dict, parent: reader.Obj, key: str) -> None:  # keys checked before
        self.hit = hit
        self.value = value
        self._at = (parent, key)

    @property
    def path(self) -> str:  # type: ignore[override]
        parent, key = self._at
        return parent.field(key)


_BY_KEYS: dict[tuple[str, ...], type] = {}
_plain_obj = reader.Obj.obj


def _obj(self: reader.Obj, key: str, keys: tuple[str, ...], *, required: bool = True) -> Any:
    cls = _BY_KEYS.get(keys)
    if cls is not None:
        v = self.value.get(key)
        if type(v) is dict and all(type(x) is str for x in v.values()):
            hit = _PARSED.get((cls, *v.items()))
            if hit is not None:
                return _Parsed(hit, v, self, key)
    return _plain_obj(self, key, keys, required=required)


def _install_parse_memos() -> None:
    memoised = {values.Location, values.Product, values.Price, *DETAIL_TYPES.values()}
    seen: dict[tuple[str, ...], int] = {}
    for cls in memoised:
        _memo_parse(cls)
        seen[cls.KEYS] = seen.get(cls.KEYS, 0) + 1  # type: ignore[attr-defined]
    _BY_KEYS.clear()
    _BY_KEYS.update({cls.KEYS: cls for cls in memoised if seen[cls.KEYS] == 1})  # type: ignore[attr-defined]
    _patch(reader.Obj, "obj", _obj)
    _patch(reader.Obj, "decimal", _decimal)


# --- time-zone memo -----------------------------------------------------------------------------
# `reader.zone` builds a `timedelta` and a `timezone` from an offset text for every event time; a
# batch uses a handful of offsets. Only offsets that parsed are kept (an error is raised afresh).

_ZONES: dict[str, Any] = {}
_plain_zone = reader.zone


def _zone(suffix: str, field: str) -> Any:
    tz = _ZONES.get(suffix)
    if tz is None:
        tz = _plain_zone(suffix, field)
        if len(_ZONES) < 64:
            _ZONES[suffix] = tz
    return tz
