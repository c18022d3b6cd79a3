"""ledger/map_update.py's `StagedNodes`: updates applied one after the other over staged nodes, then
written once, leave the store as the same updates applied directly would (the keeper prepares an
update outside the log's write lock and finishes it under the lock: trace/index_keeper.py).

While staged, the store is untouched: a reader of the store keeps seeing the committed map.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.ledger.map_update import StagedNodes, update_map_batched
from farmtrace.ledger.verifiable_map import MemoryNodes, map_root, update_map

from .test_map_update import POOL, vh

changes = st.dictionaries(st.sampled_from(POOL), st.one_of(st.none(), st.integers(0, 3).map(vh)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(before=st.lists(changes, max_size=3), staged=st.lists(changes, min_size=1, max_size=4))
def test_staged_updates_written_once_equal_direct_updates(before, staged) -> None:
    direct, store, model = MemoryNodes(), MemoryNodes(), {}
    for step in before:  # the committed map
        update_map(direct, step)
        update_map(store, step)
        model.update(step)
    committed = dict(store.nodes)
    nodes = StagedNodes(store)
    for i, step in enumerate(staged):
        if i:  # as the keeper does: a new StagedNodes over the nodes staged so far
            nodes = StagedNodes(store, nodes.staged)
        root = update_map_batched(nodes, step)
        assert root == update_map(direct, step)
        model.update(step)
        assert root == map_root({k: v for k, v in model.items() if v is not None})
        assert store.nodes == committed  # nothing written while staged
    store.put_nodes(nodes.staged)
    assert store.nodes == direct.nodes


def test_a_staged_deletion_hides_the_stored_node() -> None:
    store = MemoryNodes()
    store.put_nodes({b"a": b"x" * 32, b"b": b"y" * 32})
    nodes = StagedNodes(store, {b"a": None})
    nodes.put_nodes({b"c": b"z" * 32})
    assert nodes.get_nodes([b"a", b"b", b"c", b"d"]) == {b"b": b"y" * 32, b"c": b"z" * 32}
    assert store.nodes == {b"a": b"x" * 32, b"b": b"y" * 32}
