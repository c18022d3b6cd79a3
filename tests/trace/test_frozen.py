"""trace/frozen.py: a `@frozen` class behaves as `@dataclass(frozen=True)` would, but for speed."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from decimal import Decimal
from functools import cached_property
from typing import ClassVar

import pytest

from farmtrace.trace.frozen import frozen
from farmtrace.trace.model.event import Event
from farmtrace.trace.model.values import LotRef


def _both(cls: type) -> tuple[type, type]:
    """The class made with @frozen and with @dataclass(frozen=True), both reachable by pickle."""
    made = []
    for prefix, decorate in (("Fast", frozen), ("Ref", dataclasses.dataclass(frozen=True))):
        name = prefix + cls.__name__
        body = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
        made.append(decorate(type(name, (), {**body, "__qualname__": name})))
        globals()[name] = made[-1]
    return made[0], made[1]


class Plain:
    a: str
    b: Decimal


class Defaults:
    a: str
    b: int = 0
    c: tuple = ()


class Factory:
    a: str
    c: list = dataclasses.field(default_factory=list)


class Empty:
    pass


class WithClassVar:
    K: ClassVar[int] = 3
    a: str


SHAPES = {
    "plain": (_both(Plain), ("x", Decimal("1.5")), {}),
    "defaults": (_both(Defaults), ("x",), {"c": (1,)}),
    "factory": (_both(Factory), (), {"a": "x"}),
    "empty": (_both(Empty), (), {}),
    "classvar": (_both(WithClassVar), ("x",), {}),
}


def _hash(obj: object) -> int | type:
    try:
        return hash(obj)
    except TypeError:  # a field holds a list
        return TypeError


@pytest.mark.parametrize("shape", SHAPES)
def test_a_frozen_class_is_the_dataclass(shape):
    (fast, reference), args, kwargs = SHAPES[shape]
    assert fast.__init__ is not reference.__init__
    assert str(inspect.signature(fast.__init__)) == str(inspect.signature(reference.__init__))
    x, y = fast(*args, **kwargs), reference(*args, **kwargs)
    assert vars(x) == vars(y)
    assert repr(x).removeprefix("Fast") == repr(y).removeprefix("Ref")
    assert x == fast(*args, **kwargs)
    assert _hash(x) == _hash(fast(*args, **kwargs)) and (_hash(x) is TypeError) == (_hash(y) is TypeError)
    assert [f.name for f in dataclasses.fields(x)] == [f.name for f in dataclasses.fields(y)]
    assert pickle.loads(pickle.dumps(x)) == x
    if dataclasses.fields(x):
        name = dataclasses.fields(x)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(x, name, "other")
        assert vars(dataclasses.replace(x, **{name: "other"})) == vars(
            dataclasses.replace(y, **{name: "other"})
        )
    with pytest.raises(TypeError):
        fast(*args, unknown=1, **kwargs)
    if shape == "plain":
        with pytest.raises(TypeError):
            fast("x")  # a field without a default is required


def test_each_default_factory_call_gives_a_new_value():
    (fast, _), _, _ = SHAPES["factory"]
    one, two = fast("x"), fast("y")
    assert one.c == [] and one.c is not two.c
    assert fast("x", c=[1]).c == [1]


def test_classes_it_cannot_speed_up_exactly_keep_the_dataclass_init():
    @frozen
    class Checked:
        a: int

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("a must not be negative")

    @frozen
    class KeywordOnly:
        a: int = dataclasses.field(kw_only=True)

    with pytest.raises(ValueError):
        Checked(-1)
    assert KeywordOnly(a=1).a == 1
    with pytest.raises(TypeError):
        KeywordOnly(1)  # type: ignore[misc]


def test_domain_classes_keep_their_cached_properties_and_order():
    ref = LotRef(lot="L1", quantity=Decimal("2"), unit="kg", follows=("a" * 64,))
    assert ref == LotRef("L1", Decimal("2"), "kg", ("a" * 64,))
    assert isinstance(Event.__dict__["time"], cached_property)
    assert list(inspect.signature(Event).parameters)[:3] == ["kind", "event_time", "party"]
