"""Lineage: pure maths over the DAG of lots, where a lot's parents are the inputs it was made from.

A relation is given either as a mapping (lot -> its parents, or lot -> its children; a missing key
means none) or as a callable returning the same, so a repository can fetch lazily. `invert` turns
one into the other. Walks are iterative (no recursion limit on long chains) and refuse cycles with
`LineageCycle`: the ledger cannot create one (output lots must be new), so a cycle means corrupt or
forged data, and an answer computed over it would be wrong.

    ancestors(c, parents_of)          every lot c was made from, transitively (not c itself)
    descendants(c, children_of)       every lot made from c, transitively (not c itself)
    origins(c, parents_of)            the ancestors with no parents (c itself if it has none): the harvests
    one_step_back / one_step_forward  direct parents / children (GS1's "one step up, one step down")
    trace_graph(c, ...)               nodes and (parent, child) edges of both walks, for a picture
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from .errors import LineageCycle

__all__ = [
    "Relation",
    "ancestors",
    "descendants",
    "invert",
    "one_step_back",
    "one_step_forward",
    "origins",
    "trace_graph",
]

Relation = Mapping[str, Iterable[str]] | Callable[[str], Iterable[str]]


def _step(relation: Relation, code: str) -> tuple[str, ...]:
    if callable(relation):
        return tuple(relation(code))
    return tuple(relation.get(code, ()))


def _walk(code: str, relation: Relation) -> tuple[set[str], set[tuple[str, str]]]:
    """Return (reached, edges) of a depth-first walk from `code`, excluding `code` from `reached`.

    Edges are (from, to) as the relation goes. Raises LineageCycle on a back edge (a node met again
    while it is still on the current path), naming the cycle.
    """
    # Iterative DFS with three colours: on the path (grey), finished (black), unseen.
    on_path: dict[str, int] = {code: 0}
    path = [code]
    finished: set[str] = set()
    edges: set[tuple[str, str]] = set()
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
        edges.add((node, nxt))
        if nxt in on_path:
            raise LineageCycle([*path[on_path[nxt] :], nxt])
        if nxt in finished:
            continue
        on_path[nxt] = len(path)
        path.append(nxt)
        stack.append(iter(_step(relation, nxt)))
    finished.discard(code)
    return finished, edges


def ancestors(code: str, parents_of: Relation) -> set[str]:
    """Return every lot `code` was made from, transitively; never `code` itself. Raises LineageCycle."""
    return _walk(code, parents_of)[0]


def descendants(code: str, children_of: Relation) -> set[str]:
    """Return every lot made from `code`, transitively; never `code` itself. Raises LineageCycle."""
    return _walk(code, children_of)[0]


def origins(code: str, parents_of: Relation) -> set[str]:
    """Return the lots without parents among `code` and its ancestors (its harvests). Raises LineageCycle."""
    found = {a for a in ancestors(code, parents_of) if not _step(parents_of, a)}
    if not _step(parents_of, code):
        found.add(code)
    return found


def one_step_back(code: str, parents_of: Relation) -> set[str]:
    """Return the lots `code` was directly made from."""
    return set(_step(parents_of, code))


def one_step_forward(code: str, children_of: Relation) -> set[str]:
    """Return the lots directly made from `code`."""
    return set(_step(children_of, code))


def trace_graph(
    code: str, parents_of: Relation, children_of: Relation
) -> tuple[set[str], set[tuple[str, str]]]:
    """Return (nodes, edges) of `code`'s whole trace: itself, its ancestors and its descendants, with
    every (parent, child) edge met on the way back and on the way forward. Raises LineageCycle.
    """
    back, back_edges = _walk(code, parents_of)
    forward, forward_edges = _walk(code, children_of)
    edges = {(parent, child) for child, parent in back_edges} | forward_edges
    return {code} | back | forward, edges


def invert(relation: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Return the inverse relation: parents_of -> children_of, or children_of -> parents_of."""
    inverse: dict[str, set[str]] = {}
    for node, others in relation.items():
        for other in others:
            inverse.setdefault(other, set()).add(node)
    return inverse
