"""`frozen`: `dataclass(frozen=True)` with an `__init__` that costs half as much.

A frozen dataclass's generated `__init__` stores each field through `object.__setattr__` (frozen
classes refuse plain assignment), about 0.2 µs a field. Bulk ingest builds a few hundred fields per
event (decoded events, their effects, lot states): about 0.1 µs saved on each. The
`__init__` made here writes the same values into the instance dictionary directly, which is what
`object.__setattr__` ends up doing for a class without slots or a custom `__setattr__`.

Everything else is the dataclass's own: fields, defaults, `__eq__`, `__hash__`, `__repr__`, the
refusal to assign, `dataclasses.replace`, pickling. Classes this cannot speed up exactly (slots,
`__post_init__`, init-only or keyword-only fields) keep the dataclass's `__init__`.
tests/trace/test_frozen.py holds the two to the same behaviour.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["frozen"]

T = TypeVar("T", bound=type)


def frozen(cls: T) -> T:
    """Decorate like `@dataclass(frozen=True)`; see the module."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    init = _fast_init(cls)
    if init is not None:
        cls.__init__ = init  # type: ignore[misc]
    return cls


def _fast_init(cls: type) -> Any:
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
