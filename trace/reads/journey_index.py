"""A journey's index section: the latest committed head index entry and map proofs for a lineage.

Issue 17 §2 (the format: docs/index.md, trace/head_index.py). The journey (trace/reads/journeys.py)
carries, besides its events, the latest index entry the log holds, proven in the journey's
checkpoint, and for every lot of the lineage and every key that signed one of its events the value
the head index holds for it (or null) with a map proof against that entry's root. A verifier
(trace/journey_index_check.py, web/static/completeness.js) then sees whether the journey holds
every event of every lineage lot below the entry's index (no hidden tail) and each key's state.

    read_index(engine, lots, key_ids) -> IndexProofs | None   (None: no index entry committed yet)

Consistency: the head row (trace/store/index_store.py) names the latest committed index entry; the
keeper writes it in the log's write transaction, and the entry's map nodes and values before it, as
rows that readers take up to the head's size (trace/store/map_rows.py). A reader sees no snapshot
across statements (SQLite in autocommit reads, PostgreSQL at READ COMMITTED), and rows a newer entry
superseded are deleted after it commits, so `read_index` reads the head, then the values and proofs,
then the head again, and starts over when a commit came in between (at most `RETRIES` times). The
caller reads the checkpoint afterwards: the entry at `size` commits with a checkpoint of a larger
size, so the checkpoint read later always holds it.

Wire form (`JourneyIndex.to_wire`, in the journey under "index"; null while there is no entry):

    {"entry": {"index": N, "entry": base64, "leaf_hash": base64, "proof": [base64, ...]},
     "lots": {"<code>": {"value": {...} | null, "proof": <MapProof wire>}, ...},
     "keys": {"<key id>": {"value": {...} | null, "proof": <MapProof wire>}, ...}}
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from farmtrace.ledger.verifiable_map import PROVE_LEVELS, MapProof, position, prove_key

from ..head_index import key_map_key, lot_map_key
from ..store.index_presence import has_index_tables
from ..store.index_store import IndexHead, IndexStore
from ..store.map_rows import MapNodes, node_engine, read_values
from ..store.queries import Engine

if TYPE_CHECKING:
    from .journeys import ProvenEntry

__all__ = ["RETRIES", "IndexItem", "IndexProofs", "JourneyIndex", "read_index"]

RETRIES = 5  # reads started over when index entries are committed under the reader


@dataclass(frozen=True)
class IndexItem:
    """The value the head index holds for one lot or key (RFC 8785 bytes; None: none) and its proof."""

    value: bytes | None
    proof: MapProof

    def to_wire(self) -> dict[str, Any]:
        return {
            "value": json.loads(self.value) if self.value is not None else None,
            "proof": self.proof.to_wire(),
        }


@dataclass(frozen=True)
class IndexProofs:
    """What the stored map said, consistently, for one index entry (`head`)."""

    head: IndexHead
    lots: tuple[tuple[str, IndexItem], ...]  # by lot code
    keys: tuple[tuple[str, IndexItem], ...]  # by key id


@dataclass(frozen=True)
class JourneyIndex:
    """The journey's index section: the entry at `proofs.head.size`, proven, and the map proofs."""

    entry: ProvenEntry
    proofs: IndexProofs

    @property
    def size(self) -> int:
        return self.proofs.head.size

    def to_wire(self) -> dict[str, Any]:
        return {
            "entry": self.entry.to_wire(),
            "lots": {code: item.to_wire() for code, item in self.proofs.lots},
            "keys": {kid: item.to_wire() for kid, item in self.proofs.keys},
        }


class _Prefetched:
    """The stored map's nodes on the first `PROVE_LEVELS` levels of the paths of `keys`, and their
    siblings, read in one query (chunked) instead of one per proof; deeper reads go to the store."""

    def __init__(self, store: MapNodes, keys: Iterable[bytes]) -> None:
        wanted = set()
        for key in keys:
            for depth in range(PROVE_LEVELS + 1):
                wanted.add(position(depth, key))
                if depth:
                    i = depth - 1
                    sibling = bytearray(key)
                    sibling[i >> 3] ^= 1 << (7 - (i & 7))
                    wanted.add(position(depth, bytes(sibling)))
        self.store = store
        self.fetched = wanted
        self.nodes = dict(store.get_nodes(wanted)) if wanted else {}

    def get_nodes(self, positions: Iterable[bytes]) -> dict[bytes, bytes]:
        positions = list(positions)
        rest = [p for p in positions if p not in self.fetched]
        found = {p: self.nodes[p] for p in positions if p in self.nodes}
        if rest:
            found.update(self.store.get_nodes(rest))
        return found

    def put_nodes(self, nodes: object) -> None:
        raise TypeError("a journey only reads the head index")


def read_index(engine: Engine, lots: Iterable[str], key_ids: Iterable[str]) -> IndexProofs | None:
    """The values and map proofs of `lots` and `key_ids` under the latest committed index entry, read
    consistently (module docstring); None if no index entry was committed (or the database has no
    index tables). Raises RuntimeError if index entries keep being committed under the reader."""
    codes, kids = sorted(set(lots)), sorted(set(key_ids))
    if not has_index_tables(engine):
        return None  # this database never kept an index
    nodes_at = node_engine(engine)
    for _ in range(RETRIES):
        with engine.connect() as conn, ExitStack() as stack:
            # The rows on the same connection where they share the database (PostgreSQL).
            nconn = conn if nodes_at is engine else stack.enter_context(nodes_at.connect())
            store = IndexStore(conn)
            head = store.head()
            if head is None:
                return None
            wanted = {lot_map_key(c): c for c in codes} | {key_map_key(k): k for k in kids}
            values = read_values(nconn, wanted, head.size)
            nodes = _Prefetched(MapNodes(nconn, bound=head.size), wanted)
            items = {mk: IndexItem(values.get(mk), prove_key(nodes, mk)[1]) for mk in wanted}
            if store.head() != head:
                continue  # an index entry was committed while we read: start over
        return IndexProofs(
            head=head,
            lots=tuple((c, items[lot_map_key(c)]) for c in codes),
            keys=tuple((k, items[key_map_key(k)]) for k in kids),
        )
    raise RuntimeError(f"index entries were committed under {RETRIES} reads of the head index in a row")
