"""trace/ingest/speed.py: every trick gives the answers the plain model gives, and undoes cleanly.

Behaviour, not machinery: the same classes, events, errors and recorded histories with the tricks
installed and without them.
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import inspect
import pickle
import threading
import uuid
from decimal import Decimal
from functools import cached_property

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.trace.errors import TraceError
from farmtrace.trace.ingest import speed
from farmtrace.trace.model.event import Event
from farmtrace.trace.model.values import Location, LotRef, Product

from .story import sample_wires
from .test_ingest import _check, _history, _ingest, small_runs  # noqa: F401 (small_runs: a fixture)
from .test_repository import SETTINGS, _sqlite

SAMPLES = sample_wires()


@pytest.fixture
def plain(monkeypatch):
    """The plain model for the test: tricks off, and a new service does not turn them on."""
    was = speed.installed()
    speed.uninstall()
    monkeypatch.setattr(speed, "install", lambda: None)
    yield
    monkeypatch.undo()
    if was:
        speed.install()


@pytest.fixture
def tricks():
    """The tricks on for the test, then as they were."""
    was = speed.installed()
    speed.install()
    yield
    if not was:
        speed.uninstall()


def _parse_all(wires: list) -> list:
    out: list = []
    for w in wires:
        try:
            out.append(Event.from_wire(copy.deepcopy(w)))
        except TraceError as exc:
            out.append((type(exc).__name__, exc.field, str(exc)))
    return out


def _variants() -> list:
    """Every sample twice, and copies with a value changed where the memos key (non-strings, empty,
    missing) and with offsets the time-zone memo must still refuse."""
    wires = [*SAMPLES.values(), *SAMPLES.values()]
    for w in SAMPLES.values():
        for key in ("location", "detail", "price"):
            if isinstance(w.get(key), dict) and w[key]:
                for bad in (1, 1.0, True, ["a"], "", None):
                    m = copy.deepcopy(w)
                    m[key][next(iter(m[key]))] = bad
                    wires.append(m)
        for t in ("2026-11-20T08:30:00-00:00", "2026-11-20T08:30:00+14:01", "2026-11-20T08:30:00+08:60"):
            wires.append({**w, "event_time": t})
        if w.get("outputs"):
            m = copy.deepcopy(w)
            m["outputs"][0]["quantity"] = "1.5000000000000000000001"
            wires.append(m)
    return wires


def test_events_and_errors_are_the_same_with_and_without_the_tricks() -> None:
    wires = _variants()
    was = speed.installed()
    speed.uninstall()
    try:
        without = _parse_all(wires)
        speed.install()
        cold, warm = _parse_all(wires), _parse_all(wires)
    finally:
        speed.uninstall()
        if was:
            speed.install()
    assert cold == without and warm == without
    assert [type(x) for x in cold] == [type(x) for x in without]
    assert sum(isinstance(x, tuple) for x in without) > 20 and sum(isinstance(x, Event) for x in without) > 20


def test_repeated_values_are_shared_and_never_hide_an_error(tricks, monkeypatch) -> None:
    wire = SAMPLES["sell"]
    one, two = Event.from_wire(copy.deepcopy(wire)), Event.from_wire(copy.deepcopy(wire))
    assert one == two and one.location is two.location and one.price is two.price
    assert one.detail is two.detail
    for bad in (1, 1.0, True, ["a"]):  # only objects of strings are kept: these are refused as before
        mutated = copy.deepcopy(wire)
        mutated["location"]["name"] = bad
        with pytest.raises(TraceError) as info:
            Event.from_wire(mutated)
        assert info.value.field == "location.name"
    monkeypatch.setattr(speed, "PARSED_MAX", 3)  # the memory is bounded
    for i in range(10):
        spot = copy.deepcopy(wire)
        spot["location"]["name"] = f"摊位 {i}"
        assert Event.from_wire(spot).location.name == f"摊位 {i}"
        assert len(speed._PARSED) <= 3


def test_a_remembered_object_is_handed_over_parsed_and_an_extra_key_is_still_refused(tricks) -> None:
    wire = SAMPLES["sell"]
    first = Event.from_wire(copy.deepcopy(wire))
    opened: list = []
    plain = speed._plain_obj
    try:  # count the objects `Obj.obj` really opens: a remembered location is not opened again
        speed._plain_obj = lambda *a, **kw: opened.append(a[1]) or plain(*a, **kw)
        again = Event.from_wire(copy.deepcopy(wire))
        extra = copy.deepcopy(wire)
        extra["location"]["floor"] = "2"
        with pytest.raises(TraceError) as info:
            Event.from_wire(extra)
    finally:
        speed._plain_obj = plain
    assert again.location is first.location and again == first
    assert opened.count("location") == 1  # the extra key's object only
    assert info.value.field == "location.floor"


def test_a_remembered_object_reads_as_a_plain_obj_to_any_other_reader(tricks) -> None:
    # Obj.obj hands a remembered object over parsed; a reader that is not the memoised class (the
    # test oracle of old details, say) still reads it as the Obj it is, errors naming its path.
    from farmtrace.trace.model.reader import Obj

    wire = SAMPLES["sell"]
    Event.from_wire(copy.deepcopy(wire))  # the location is now remembered
    outer = Obj({"where": copy.deepcopy(wire["location"])}, "detail", ("where",))
    opened = outer.obj("where", Location.KEYS)
    assert type(opened) is speed._Parsed
    assert opened.value == wire["location"] and opened.raw("name") == wire["location"]["name"]
    with pytest.raises(TraceError) as info:
        opened.raw("gln")  # absent: the path is made for the error
    assert info.value.field == "detail.where.gln"


def test_a_decimal_text_seen_before_is_refused_as_before_in_another_field(tricks) -> None:
    wire = SAMPLES["harvest"]
    Event.from_wire(copy.deepcopy(wire))  # its quantity text is now remembered
    for bad in ("-1", "1e3", " 5", 5):
        mutated = copy.deepcopy(wire)
        mutated["outputs"][0]["quantity"] = bad
        with pytest.raises(TraceError) as info:
            Event.from_wire(mutated)
        assert info.value.field == "outputs[0].quantity"


def test_an_output_names_its_lot_before_its_product_with_the_tricks(tricks) -> None:
    wire = copy.deepcopy(SAMPLES["harvest"])
    Event.from_wire(copy.deepcopy(wire))  # its product is now remembered
    bad = copy.deepcopy(wire)
    bad["outputs"][0]["lot"] = "not a lot code!"
    with pytest.raises(TraceError) as info:
        Event.from_wire(bad)
    assert info.value.field == "outputs[0].lot"


def test_the_model_classes_behave_as_dataclasses_with_the_tricks(tricks) -> None:
    ref = LotRef(lot="L1", quantity=Decimal("2"), unit="kg", follows=("a" * 64,))
    assert ref == LotRef("L1", Decimal("2"), "kg", ("a" * 64,))
    assert LotRef.__init__.__qualname__ == "LotRef.__init__"
    assert isinstance(Event.__dict__["time"], cached_property)
    assert inspect.ismethod(Product._parse)  # a classmethod still
    x = LotRef("L1", Decimal("2"), "kg", ())
    assert pickle.loads(pickle.dumps(x)) == x and hash(x) == hash(LotRef("L1", Decimal("2"), "kg", ()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        x.lot = "L2"  # type: ignore[misc]
    assert dataclasses.replace(x, lot="L2").lot == "L2"
    with pytest.raises(TypeError):
        LotRef("L1", Decimal("2"), "kg", (), unknown=1)  # type: ignore[call-arg]


def test_fast_init_equals_the_generated_init() -> None:
    @dataclasses.dataclass(frozen=True)
    class Shape:
        a: str
        b: int = 0
        c: list = dataclasses.field(default_factory=list)

    init = speed.fast_init(Shape)
    assert str(inspect.signature(init)) == str(inspect.signature(Shape.__init__))
    x, y = Shape.__new__(Shape), Shape("x")
    init(x, "x")
    assert vars(x) == vars(y) and x.c is not y.c
    with pytest.raises(TypeError):
        init(Shape.__new__(Shape))  # `a` has no default

    @dataclasses.dataclass(frozen=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("a must not be negative")

    assert speed.fast_init(Checked) is None  # kept as the dataclass made it


def test_uninstall_restores_the_plain_classes() -> None:
    was = speed.installed()
    speed.uninstall()
    plain_init = LotRef.__init__
    speed.install()
    speed.install()  # idempotent
    assert LotRef.__init__ is not plain_init
    speed.uninstall()
    assert LotRef.__init__ is plain_init and not speed.installed()
    if was:
        speed.install()


@pytest.fixture
def _restore_gc():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_bulk_work_pauses_collection_nested_and_restores_it(tricks, _restore_gc) -> None:
    gc.enable()
    with speed.bulk_work():
        assert not gc.isenabled()
        with speed.bulk_work():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), speed.bulk_work():
        raise ValueError("boom")
    assert gc.isenabled()
    gc.disable()
    with speed.bulk_work():
        pass
    assert not gc.isenabled()  # left off if it was off


def test_bulk_work_leaves_collection_alone_without_the_tricks(plain, _restore_gc) -> None:
    gc.enable()
    with speed.bulk_work():
        assert gc.isenabled()


def test_overlapping_bulk_work_keeps_it_off_until_the_last_leaves_and_still_collects(
    tricks, _restore_gc, monkeypatch
) -> None:
    monkeypatch.setattr(speed, "FULL_EVERY", 0.0)
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with speed.bulk_work():
            inside.set()
            release.wait(10)

    class Node:
        pass

    t = threading.Thread(target=other)
    with speed.bulk_work():
        t.start()
        assert inside.wait(10)
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle, unreachable once the names go
        del a, b
    assert not gc.isenabled()  # the other thread is still inside; leaving collected the cycle
    assert not any(type(o) is Node for o in gc.get_objects())
    release.set()
    t.join(10)
    assert gc.isenabled()


@settings(max_examples=8, **SETTINGS)
@given(data=st.data())
def test_a_history_records_the_same_without_the_tricks(tmp_path, small_runs, plain, data) -> None:  # noqa: F811
    """The bulk-ingest differential test (tests/trace/test_ingest.py) with the plain model."""
    events, verdicts, twin = _history(_sqlite(tmp_path), data, steps=40)
    url = f"sqlite:///{tmp_path / f'ingest-{uuid.uuid4().hex}.db'}"
    _check(events, verdicts, twin, *_ingest(url, events, data))
    assert small_runs() == 0
