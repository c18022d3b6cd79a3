"""A mirror of a tiled log (C2SP tlog-mirror, pulled through C2SP tlog-tiles): follow, verify, keep, cosign.

`Mirror(store, fetch, log_key=…)` keeps a copy of one log in `store` (the ledger's own LogStore, so
a service can later be restored from it) by reading the log's public resources through
`fetch(path)` (the path below the log's prefix, as ledger/tile_audit.py's `Fetch`). It trusts only
the log's verifier key. `follow_once()` is one update, in the steps tlog-mirror names:

  1. fetch the log's checkpoint and open it with the log key (VerificationError if it does not);
  2. compare it with the *mirror checkpoint* (the latest one in `store`): the same size must have
     the same root; a smaller one must be a prefix of the mirror's own tree (else InconsistencyError:
     the log signed both, the Evidence proves it); a larger one must extend the mirror checkpoint,
     checked with a consistency proof built from the log's hash tiles (ledger/verify.py
     `check_checkpoint_consistency`: a proof that does not lead to the new root proves nothing and
     is a VerificationError; one that does, from another old root, is a fork with evidence);
  3. catch up: fetch the entry bundles from the mirror's next entry, split and leaf-hash them in
     one pass (ledger/entry_bundles_fast.py, the twin of `parse_entry_bundle` and `leaf_hash`),
     hash them into the mirror's own tree (ledger/tiles.py `Integrator`), and commit them in
     packages of up to `package_bundles` bundles. Before a package is committed, the mirror's
     tree at its end is proven a prefix of the new checkpoint's tree (an RFC 9162 consistency
     proof read from the log's tiles, checked against the mirror's own root and the signed root),
     so nothing unauthenticated is ever stored; the tiles stored are the mirror's own, never the
     fetched ones.
     It is a pipeline: `fetch_threads` threads fetch bundles ahead (`_Arriving`, handed out in
     index order whatever order they arrive in), and a proven package is committed by a writer
     thread (`_Writer`) while the next one is hashed and proven;
  4. with the last package, in the same transaction, store the checkpoint (the log-signed note) as
     the new mirror checkpoint; then add the mirror's own cosignature (cosignature/v1, if it has a
     key) and the cosignatures of `witnesses` the log served with it.

Packages committed before the last are *pending entries* (tlog-mirror's words): stored, but beyond
the mirror checkpoint, so not served (readers read at the checkpoint's size). A follow interrupted
between packages resumes from them: they are hashed into the tree again and proven with the rest.

Nothing is written when a check fails. The errors are the ledger's (ledger/errors.py):
VerificationError (a bad signature, bundles or tiles that do not match the signed root),
InconsistencyError (a fork: `.evidence` is both notes and the proof), StoreMismatchError (the
mirror's own storage is not the tree it holds), NotFoundError (a resource the log does not serve).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice

from . import merkle
from .checkpoint import Checkpoint, SignedCheckpoint, open_checkpoint
from .entry_bundles_fast import split_entry_bundles
from .errors import MalformedError, NotFoundError, StoreMismatchError, VerificationError
from .hashing import EMPTY_ROOT, leaf_hash
from .note import CosignatureSigner, NoteSignature, Verifier
from .store import LogStore, StoredCheckpoint
from .tile_audit import Fetch, fetch_tile
from .tile_paths import ENTRIES, Tile, tile_for_size
from .tiles import TILE_WIDTH, Integrator, TileHashReader, TileKey
from .verify import check_checkpoint_consistency, prove_checkpoint_consistency

__all__ = ["Mirror", "MirrorStep", "cosign_checkpoint"]

PACKAGE_BUNDLES = 256  # bundles (65,536 entries) proven and committed per transaction
AHEAD_PER_THREAD = 4  # bundles a fetch thread may hold ready before its turn (memory: ~90 kB each)
FETCHED_TILE_CACHE = 256  # full hash tiles of the log kept for the packages' proofs


@dataclass(frozen=True)
class MirrorStep:
    """What one `follow_once` did: the mirror checkpoint's size before and after, the entries it
    added, and the log's own size (smaller than the mirror's when the log serves an older checkpoint)."""

    previous_size: int
    size: int
    entries: int
    log_size: int

    @property
    def log_behind(self) -> bool:
        """The log served a checkpoint older than the one the mirror holds (consistent with it)."""
        return self.log_size < self.size


class Mirror:
    """Keeps a verified copy of the log `log_key` names in `store`, read through `fetch`.

    `cosigner` (a cosignature/v1 key) cosigns each mirror checkpoint; `witnesses` are the witness
    keys whose cosignatures, served with the log's checkpoint, are kept with it; `clock` gives the
    POSIX seconds stored with each checkpoint and in the mirror's cosignatures.
    """

    def __init__(
        self,
        store: LogStore,
        fetch: Fetch,
        *,
        log_key: Verifier,
        cosigner: CosignatureSigner | None = None,
        witnesses: Sequence[Verifier] = (),
        clock: Callable[[], float] = time.time,
        package_bundles: int = PACKAGE_BUNDLES,
        fetch_threads: int = 1,
    ) -> None:
        if cosigner is not None and not isinstance(cosigner, CosignatureSigner):
            raise MalformedError("a mirror cosigns with a cosignature/v1 key")
        self.store = store
        self.log_key = log_key
        self.cosigner = cosigner
        self.witnesses = tuple(witnesses)
        self._fetch = fetch
        self._clock = clock
        self._package = max(1, package_bundles)
        self._threads = max(1, fetch_threads)

    def held(self) -> StoredCheckpoint | None:
        """The mirror checkpoint (the latest one stored), or None before the first follow."""
        return self.store.latest_checkpoint()

    def follow_once(self) -> MirrorStep:
        """One update (steps 1-4 of the module docstring); returns what it did, raises what failed."""
        # 1. The log's checkpoint, signed by the log.
        raw = self._fetch("checkpoint")
        signed = open_checkpoint(raw, self.log_key, witnesses=self.witnesses)
        new = signed.checkpoint
        note = self._log_note(signed)
        held = self.held()
        size = held.size if held else 0
        # 2. Against the mirror checkpoint.
        if held is not None and new.size <= size:
            proof = prove_checkpoint_consistency(new.size, size, TileHashReader(self.store.read_tiles))
            check_checkpoint_consistency(raw, held.note, proof, log_key=self.log_key)  # a fork raises
            if new.size == size:
                self._keep_cosignatures(size, signed)
            return MirrorStep(size, size, 0, new.size)
        fetched = _FetchedTree(self._fetch, new.size)
        if held is not None and size > 0:
            proof = prove_checkpoint_consistency(size, new.size, fetched.reader)
            check_checkpoint_consistency(held.note, raw, proof, log_key=self.log_key)
        elif new.size == 0 and new.root != EMPTY_ROOT:
            raise VerificationError("the checkpoint of size 0 does not have the empty tree's root")
        # 3-4. The entries, in proven packages; the checkpoint with the last.
        added = self._catch_up(held, new, note, fetched)
        self._keep_cosignatures(new.size, signed)
        if self.cosigner is not None:
            self.cosign(new.size)
        return MirrorStep(size, new.size, added, new.size)

    def cosign(self, size: int) -> str:
        """The mirror's cosignature line on the checkpoint it holds at `size`, made (at the mirror's
        clock) and stored if it has none yet. Raises NotFoundError if it holds no checkpoint of that
        size, MalformedError if it has no cosigner key."""
        if self.cosigner is None:
            raise MalformedError("this mirror has no cosigner key")
        held = self.store.checkpoint(size)
        if held is None:
            raise NotFoundError(f"the mirror holds no checkpoint of size {size}")
        prefix = f"\u2014 {self.cosigner.name} "
        line = next((c for c in held.cosignatures if c.startswith(prefix)), None)
        if line is None:
            line = cosign_checkpoint(held.note, self.cosigner, at=self._clock())
            self.store.add_cosignature(size, line)
        return line

    def keep_checkpoints(self, listed: Iterable[tuple[Checkpoint, str, tuple[str, ...]]]) -> int:
        """Store the listed past checkpoints (ledger/checkpoint_list.py) that the mirror's tree holds,
        with their cosignature lines; return how many were new. A listed checkpoint beyond
        the mirror checkpoint is left out (the source moved on); one whose root is not the mirror's
        tree's at its size raises InconsistencyError (both are signed by the log: a fork)."""
        held = self.held()
        if held is None:
            raise NotFoundError("the mirror holds no checkpoint yet: follow first")
        reader = TileHashReader(self.store.read_tiles)
        added = 0
        for cp, note, lines in listed:
            if cp.size > held.size:
                continue
            proof = prove_checkpoint_consistency(cp.size, held.size, reader)
            check_checkpoint_consistency(note, held.note, proof, log_key=self.log_key)
            if self.store.checkpoint(cp.size) is None:
                with self.store.write() as txn:
                    txn.write_checkpoint(StoredCheckpoint(cp.size, cp.root, note, self._clock()))
                added += 1
            have = set(self.store.checkpoint(cp.size).cosignatures)  # type: ignore[union-attr]
            for line in lines:
                if line not in have:
                    self.store.add_cosignature(cp.size, line)
        return added

    def _log_note(self, signed: SignedCheckpoint) -> str:
        """The note as the log signed it: the checkpoint text and the log's own signature line."""
        sig = next(
            s
            for s in signed.note.signatures
            if (s.name, s.key_id) == (self.log_key.name, self.log_key.key_id)
        )
        return signed.note.text + "\n" + sig.line()

    def _keep_cosignatures(self, size: int, signed: SignedCheckpoint) -> None:
        """Store the verified cosignatures of trusted witnesses the log served with its checkpoint."""
        held = self.store.checkpoint(size)
        have = set(held.cosignatures) if held else set()
        for sig in signed.cosignatures:
            if sig.line() not in have:
                self.store.add_cosignature(size, sig.line())

    def _edge(self, held: StoredCheckpoint | None) -> Integrator:
        """The mirror's own tree at the mirror checkpoint, checked against it, plus pending entries."""
        size = held.size if held else 0
        edge = Integrator.load(size, self.store.read_tiles)
        if held is not None and edge.root() != held.root:
            raise StoreMismatchError(
                f"the mirror's stored tree of size {size} does not match its checkpoint",
                size=size,
                signed_root=held.root,
                stored_root=edge.root(),
            )
        return edge

    def _catch_up(
        self, held: StoredCheckpoint | None, new: Checkpoint, note: str, fetched: _FetchedTree
    ) -> int:
        """Steps 3-4: bring the store from the mirror checkpoint to `new`; return the entries added."""
        edge = self._edge(held)
        start = edge.size
        # Pending entries of an interrupted follow: already stored, proven again with the first package.
        pending = []
        for i, entry in self.store.read_entries(start, new.size):
            if i != start + len(pending):
                break
            pending.append(entry)
        edge.append(map(leaf_hash, pending))
        bundles = [
            tile_for_size(ENTRIES, index, new.size)
            for index in range(edge.size // TILE_WIDTH, (new.size + TILE_WIDTH - 1) // TILE_WIDTH)
        ]
        # Packages end at multiples of `package_bundles` bundles, the last at the new size. The bundles
        # arrive in order through `_Arriving`, fetched ahead while a package is hashed and proven; a
        # proven package is written by `_Writer` while the next one is hashed and proven.
        with _Arriving(self._fetch, bundles, self._threads) as arriving, _Writer(self.store) as writer:
            while True:
                first = edge.size
                package = list(islice(arriving, self._package - (first // TILE_WIDTH) % self._package))
                # parse_entry_bundle and leaf_hash in one pass (their fast twin)
                entries, leaves = split_entry_bundles(package, first)
                edge.append(leaves)
                self._check_prefix(edge, new, fetched)
                last = edge.size == new.size
                signed = None
                if last and (held is None or new.size > held.size):
                    signed = StoredCheckpoint(new.size, new.root, note, self._clock())
                writer.put(first, entries, edge.dirty_tiles(), signed)
                if last:
                    break
        return new.size - start

    def _check_prefix(self, edge: Integrator, new: Checkpoint, fetched: _FetchedTree) -> None:
        """Raise VerificationError unless the mirror's tree of `edge.size` is a prefix of `new`."""
        size, root = edge.size, edge.root()
        if size == new.size:
            if root != new.root:
                raise VerificationError(
                    f"the entries the log served do not hash to the root of its checkpoint of size {new.size}"
                )
            return
        try:
            proof = merkle.prove_consistency(size, new.size, fetched.reader)
            merkle.check_consistency(
                proof, old_size=size, new_size=new.size, old_root=root, new_root=new.root
            )
        except VerificationError as exc:
            raise VerificationError(
                f"the entries the log served up to index {size} are not the first {size} entries of its "
                f"checkpoint of size {new.size}, or its tiles are not that tree's: {exc}"
            ) from exc


class _Arriving:
    """The bytes of `bundles`, in their order, as an iterator of (tile, bytes) pairs.

    With `threads` > 1 a pool of that many threads fetches up to AHEAD_PER_THREAD bundles a thread
    ahead of the one consumed (each request mostly waits on the network, or on the server's other
    core), so fetching overlaps hashing and storing. Bundles may arrive in any order; they are handed
    out in index order, and a fetch that failed raises when its bundle's turn comes, so the packages
    before it are stored as they would be without the pool. On leaving the `with` block, fetches
    not yet started are cancelled and the running ones are waited for.
    """

    def __init__(self, fetch: Fetch, bundles: Sequence[Tile | None], threads: int) -> None:
        self._fetch = fetch
        self._todo = iter(bundles)
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: deque[tuple[Tile, Future[bytes]]] = deque()

    def __enter__(self) -> Iterator[tuple[Tile, bytes]]:
        if self._threads == 1:
            return ((tile, fetch_tile(self._fetch, tile)) for tile in self._todo if tile is not None)
        self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="farmtrace-mirror-fetch")
        return self._in_order()

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _in_order(self) -> Iterator[tuple[Tile, bytes]]:
        assert self._pool is not None
        window = self._threads * AHEAD_PER_THREAD
        while True:
            while len(self._ahead) < window and (tile := next(self._todo, None)) is not None:
                self._ahead.append((tile, self._pool.submit(fetch_tile, self._fetch, tile)))
            if not self._ahead:
                return
            tile, future = self._ahead.popleft()
            yield tile, future.result()


class _Writer:
    """Commits proven packages in a thread of its own, one at a time and in order, so that SQLite's
    or PostgreSQL's work (which runs without the GIL) overlaps hashing and proving the next package.

    `put` waits for the previous package's commit (raising its error) before handing over the next.
    Leaving the `with` block waits for the last commit: a package proven before a failure is stored
    (as pending entries), nothing after it is, and no write outlives the follow.
    """

    def __init__(self, store: LogStore) -> None:
        self._store = store
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="farmtrace-mirror-write")
        self._last: Future[None] | None = None

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        try:
            if self._last is not None:
                if exc is None:
                    self._last.result()
                else:  # the follow failed: the proven package in flight is stored, the error is theirs
                    wait([self._last])
        finally:
            self._pool.shutdown(wait=True)

    def put(
        self, first: int, entries: list[bytes], tiles: dict[TileKey, bytes], signed: StoredCheckpoint | None
    ) -> None:
        """Write `entries` from index `first`, `tiles` and (the last package) `signed`, in one transaction."""
        if self._last is not None:
            self._last.result()
        self._last = self._pool.submit(self._write, first, entries, tiles, signed)

    def _write(
        self, first: int, entries: list[bytes], tiles: dict[TileKey, bytes], signed: StoredCheckpoint | None
    ) -> None:
        with self._store.write() as txn:
            if entries:
                txn.write_entries(first, entries)
            txn.write_tiles(tiles)
            if signed is not None:
                txn.write_checkpoint(signed)


class _FetchedTree:
    """The log's hash tiles at one size, as a merkle.HashReader (unverified: every use checks the
    hashes it reads against the signed root)."""

    def __init__(self, fetch: Fetch, size: int) -> None:
        self._fetch = fetch
        self._size = size
        self.reader = TileHashReader(self._read_tiles, cache=FETCHED_TILE_CACHE)

    def _read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        out = {}
        for level, index in keys:
            tile = tile_for_size(level, index, self._size)
            if tile is None:
                continue
            try:
                out[(level, index)] = fetch_tile(self._fetch, tile)
            except NotFoundError:
                continue
        return out


def cosign_checkpoint(note: str, signer: CosignatureSigner, *, at: float) -> str:
    """The cosignature/v1 line (C2SP tlog-cosignature) of `signer` on the checkpoint of `note`, at `at`."""
    text = note[: note.rfind("\n\n") + 1]
    timestamp = max(int(at), 1)  # a cosignature's timestamp is never zero
    s = signer.at_time(timestamp)
    return NoteSignature(s.name, s.key_id, s.sign_note_text(text)).line()
