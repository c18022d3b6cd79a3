"""Lineage: pure maths over the DAG of lots, where a lot's parents are the inputs it was made from.

A relation is given either as a mapping (lot -> its parents, or lot -> its children; a missing key
means none) or as a callable returning the same, so a repository can fetch lazily. Walks are
iterative (no recursion limit on long chains) and refuse cycles with `LineageCycle`: the ledger
cannot create one (output lots must be new), so a cycle means corrupt or forged data, and an answer
computed over it would be wrong.

    ancestors(c, parents_of)          every lot c was made from, transitively (not c itself)
    descendants(c, children_of)       every lot made from c, transitively (not c itself)
    origins(c, parents_of)            the ancestors with no parents (c itself if it has none): the harvests

`descendants` is what the in-memory state (the executable specification of the rules) uses to
spread a recall. The product's SQL store walks lineage with recursive CTEs instead; these
functions are the oracle the tests hold those queries to (tests/trace/test_repository.py,
test_rules.py), and that is why `ancestors` and `origins` stay here with no product caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from .errors import LineageCycle

__all__ = ["Relation", "ancestors", "descendants", "origins"]

Relation = Mapping[str, Iterable[str]] | Callable[[str], Iterable[str]]


def _step(relation: Relation, code: str) -> tuple[str, ...]:
    if callable(relation):
        return tuple(relation(code))
    return tuple(relation.get(code, ()))


def _walk(code: str, relation: Relation) -> set[str]:
    """Return the lots a depth-first walk from `code` reaches, excluding `code`.

    Raises LineageCycle on a back edge (a node met again while it is still on the current path),
    naming the cycle.
    """
    # Iterative DFS with three colours: on the path (grey), finished (black), unseen.
    on_path: dict[str, int] = {code: 0}
    path = [code]
    finished: set[str] = set()
    stack = [iter(_step(relation, code))]
    while stack:
        node = path[-1]
        nxt = next(stack[-1], None)
        if nxt is None:
            stack.pop()
            path.pop()
            del on_path[node]
            finished.add(node)
            continue
        if nxt in on_path:
            raise LineageCycle([*path[on_path[nxt] :], nxt])
        if nxt in finished:
            continue
        on_path[nxt] = len(path)
        path.append(nxt)
        stack.append(iter(_step(relation, nxt)))
    finished.discard(code)
    return finished


def ancestors(code: str, parents_of: Relation) -> set[str]:
    """Return every lot `code` was made from, transitively; never `code` itself. Raises LineageCycle."""
    return _walk(code, parents_of)


def descendants(code: str, children_of: Relation) -> set[str]:
    """Return every lot made from `code`, transitively; never `code` itself. Raises LineageCycle."""
    return _walk(code, children_of)


def origins(code: str, parents_of: Relation) -> set[str]:
    """Return the lots without parents among `code` and its ancestors (its harvests). Raises LineageCycle."""
    found = {a for a in ancestors(code, parents_of) if not _step(parents_of, a)}
    if not _step(parents_of, code):
        found.add(code)
    return found
