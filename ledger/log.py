"""The Log: the single writer of a LogStore, and its read side (checkpoints, proofs, entries).

Appends are *sequenced* and *integrated* in batches (group commit). Callers from any thread hand
their entries to one writer thread (ledger/sequencer.py); it takes everything queued, and in one
write transaction:

  1. reads the latest signed checkpoint (under the store's cross-process write lock);
  2. loads the tree's right edge and checks it against that checkpoint — the log never signs a
     checkpoint that is not an extension of the one it signed before;
  3. runs each request's `admit` hook (inside a savepoint: a refused request leaves no trace) and
     gives the admitted entries consecutive indexes;
  4. integrates their leaf hashes into the tiles, signs a checkpoint for the new size;
  5. commits — and only then tells each caller its index.

So one fsync serves a whole batch, and an append returns only once its entry is durable. Several
processes may each run a Log on the same database: the store's write lock orders their batches.

The store is private: the read side below is everything code above the ledger may ask of it
(entries, checkpoints, proofs, an audit, and for now the SQL engine the trace tables share). The
writer thread and its batch transaction are the Sequencer's (ledger/sequencer.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from . import merkle
from .audit import AuditReport, audit
from .checkpoint import Checkpoint, open_checkpoint, parse_checkpoint, sign_checkpoint
from .entry_bundles import MAX_ENTRY_SIZE, check_entry_size
from .errors import AppendError, LedgerError, MalformedError, NotFoundError
from .hashing import EMPTY_ROOT
from .note import CosignatureVerifier, NoteSignature, Signer, Verifier, cosigned_at, open_note, signed_by
from .sequencer import Admit, Compute, Select, Sequencer
from .store import LogStore, StoredCheckpoint
from .tiles import TileHashReader, TileKey

__all__ = ["Admit", "Compute", "Log", "Select"]

PROOF_TILE_CACHE = 512  # full tiles kept for proofs: 8 MiB at most


class Log:
    """An append-only Merkle log over `store`, signed by `signer` (whose name is the log's origin).

    Given a Verifier instead of a Signer, the log opens read-only: for auditors and exports that hold
    only the log's public key. It reads, proves and audits; appending is refused, and a store with no
    checkpoint is not given one.
    """

    def __init__(
        self,
        store: LogStore,
        signer: Signer | Verifier,
        *,
        clock: Callable[[], float] = time.time,
        max_batch: int = 50_000,
    ) -> None:
        self._store = store  # private: readers above the ledger use the reads below (review P10)
        self.signer: Signer | None = signer if isinstance(signer, Signer) else None
        self.verifier: Verifier = signer.verifier if isinstance(signer, Signer) else signer
        self.origin = self.verifier.name
        self._clock = clock
        self._closed = False
        # Full tiles never change: the proofs keep the most used ones (about 16 KiB each).
        self._reader = TileHashReader(store.read_tiles, cache=PROOF_TILE_CACHE)
        self._known_size = 0  # a size the log is known to have reached (it never shrinks)
        self._sequencer = Sequencer(store, self._sign, max_batch=max_batch, committed=self._reached)
        self._ensure_genesis()

    # --- writing ----------------------------------------------------------------------------------

    def append(self, entry: bytes, *, admit: Admit | None = None) -> int:
        """Append one entry; return its index once it is durable. Raises what `admit` raised, or AppendError."""
        return self._submit([entry], admit)

    def append_many(self, entries: Sequence[bytes], *, admit: Admit | None = None) -> int:
        """Append entries as one unit (all or none, consecutive); return the first index."""
        if not entries:
            raise MalformedError("append_many needs at least one entry")
        return self._submit(list(entries), admit)

    def submit(self, entry: bytes, *, admit: Admit | None = None) -> Future:
        """Queue one entry and return at once: a Future of its index (or of the refusal).

        Lets one caller hand many entries to the same batch (bulk ingest) and wait for all of them.
        """
        return self._enqueue([entry], admit)

    def submit_selected(self, entries: Sequence[bytes], *, select: Select) -> Future:
        """Queue entries of which `select` keeps some (see `Select`); return at once.

        The Future's result is a list with, for each entry, its index or None if it was not kept;
        its exception is what `select` raised (nothing of the request was appended then).
        """
        if not entries:
            raise MalformedError("submit_selected needs at least one entry")
        return self._enqueue(list(entries), None, select)

    def submit_computed(self, compute: Compute) -> Future:
        """Queue an entry that `compute` makes inside the write transaction, from the log's size and
        entries at that point (see `Compute`); return at once. The Future's result is the entry's index,
        or None if `compute` made none; its exception is what `compute` raised (nothing appended).

        For entries that must describe exactly the log before them (a commitment to a state derived
        from entries [0, size)): no other writer can append between the computation and the entry.
        The computation opens a write transaction of its own, after the entries queued before it have
        committed, so the entries it reads are all committed (requests queued after it may share its
        transaction).
        """
        if self._closed:
            raise AppendError("the log is closed")
        if self.signer is None:
            raise AppendError(
                "the log is open read-only: it was opened with its verifier key, not its signer"
            )
        return self._sequencer.put([], None, compute=compute)

    def _submit(self, entries: list[bytes], admit: Admit | None) -> int:
        return self._enqueue(entries, admit).result()

    def _enqueue(self, entries: list[bytes], admit: Admit | None, select: Select | None = None) -> Future:
        entries = _checked_entries(entries)
        if self._closed:
            raise AppendError("the log is closed")
        if self.signer is None:
            raise AppendError(
                "the log is open read-only: it was opened with its verifier key, not its signer"
            )
        return self._sequencer.put(entries, admit, select)

    def close(self, *, close_store: bool = False) -> None:
        """Finish queued appends and stop the writer thread.

        The store stays open (another Log, or a reader, may still use it) unless `close_store`:
        then its connections are released too, as the composition root does at shutdown.
        """
        self._closed = True
        self._sequencer.stop()
        if close_store:
            self._store.close()

    def _sign(self, size: int, root: bytes) -> StoredCheckpoint:
        assert self.signer is not None  # _enqueue refuses appends to a read-only log
        note = sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)
        return StoredCheckpoint(size=size, root=root, note=note, signed_at=self._clock())

    def _reached(self, size: int) -> None:
        """The Sequencer committed a batch: the log has at least `size` entries."""
        self._known_size = max(self._known_size, size)

    def _ensure_genesis(self) -> None:
        if self._store.latest_checkpoint() is not None:
            if self.signer is not None:  # read-only, the audit checks every signature instead
                self._check_key(self._store.latest_checkpoint())
            return
        if self.signer is None:
            raise NotFoundError("the log has no checkpoint, and a read-only log cannot sign one")
        with self._store.write() as txn:
            if txn.latest_checkpoint() is None:
                txn.write_checkpoint(self._sign(0, EMPTY_ROOT))

    def _check_key(self, cp: StoredCheckpoint) -> None:
        try:
            open_checkpoint(cp.note, self.verifier)
        except LedgerError as exc:
            raise AppendError(
                f"the stored log was signed by another key than {self.verifier.key_string()}: {exc}"
            ) from exc

    # --- reading ----------------------------------------------------------------------------------

    def checkpoint(self) -> StoredCheckpoint:
        """The latest signed checkpoint."""
        cp = self._store.latest_checkpoint()
        if cp is None:
            raise NotFoundError("the log has no checkpoint")
        return cp

    @property
    def size(self) -> int:
        return self.checkpoint().size

    def _check_size(self, size: int) -> None:
        """Raise NotFoundError unless the log has a signed checkpoint of `size` or larger.

        A log only grows, so a size at or below one seen before needs no query.
        """
        if size <= self._known_size:
            return
        latest = self.checkpoint().size
        self._known_size = max(self._known_size, latest)
        if size > latest:
            raise NotFoundError(f"the log has {latest} entries; size {size} is beyond it")

    def tree_hash(self, size: int) -> bytes:
        self._check_size(size)
        return merkle.tree_hash(size, self._reader)

    def prove_inclusion(self, index: int, size: int) -> list[bytes]:
        """The audit path of entry `index` in the tree of `size` (<= the latest checkpoint's size)."""
        self._check_size(size)
        return merkle.prove_inclusion(index, size, self._reader)

    def prove_inclusions(self, indexes: Sequence[int], size: int) -> list[list[bytes]]:
        """`prove_inclusion(i, size)` for each index, sharing the reads and hashes they have in common.

        Receipts for a batch of new entries ask for many proofs against one size: near the right edge
        they need nodes of partial tiles, which are recomputed (and re-read) for every single proof.
        """
        self._check_size(size)
        tiles: dict[TileKey, bytes] = {}

        def read_tiles(keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
            missing = [k for k in keys if k not in tiles]
            if missing:
                tiles.update(self._store.read_tiles(missing))
            return {k: tiles[k] for k in keys if k in tiles}

        reader = _NodeMemo(TileHashReader(read_tiles, cache=PROOF_TILE_CACHE))
        return merkle.prove_inclusions(indexes, size, reader)

    def prove_consistency(self, old_size: int, new_size: int) -> list[bytes]:
        self._check_size(new_size)
        return merkle.prove_consistency(old_size, new_size, self._reader)

    def leaf_hash(self, index: int) -> bytes:
        (h,) = self._reader.read_hashes([(0, index)])
        return h

    def read_hashes(self, nodes: Sequence[merkle.Node]) -> list[bytes]:
        """The log as a merkle.HashReader: the hashes of complete nodes of its stored tree, in order.

        Raises NotFoundError for a node the log does not have (yet).
        """
        return self._reader.read_hashes(nodes)

    def read_tiles(self, keys: Sequence[TileKey]) -> Mapping[TileKey, bytes]:
        """The stored hash tiles of `keys` ({(level, index): hashes}), as committed with the latest
        checkpoint; absent ones are left out. For serving them as they are (ledger/tile_reads.py)."""
        return self._store.read_tiles(keys)

    def entries(self, start: int, limit: int) -> list[tuple[int, bytes]]:
        """A page: up to `limit` (index, entry) pairs from `start`, within the latest checkpoint."""
        end = min(start + limit, self.checkpoint().size)
        return self._store.read_entries(start, end) if end > start else []

    def read_entries(self, start: int, end: int) -> list[tuple[int, bytes]]:
        """The stored (index, entry) pairs with start <= index < end, in order; absent ones are left out.

        As `LogStore.read_entries`, without looking up the latest checkpoint first (`entries` does):
        for readers that already hold the indexes of logged entries and read many of them.
        """
        return self._store.read_entries(start, end)

    def iter_entries(self, start: int = 0) -> Iterator[tuple[int, bytes]]:
        """Every stored (index, entry) pair from `start`, in index order, read in chunks (exports)."""
        return self._store.iter_entries(start)

    def checkpoint_at(self, size: int) -> StoredCheckpoint:
        """The checkpoint the log signed at `size`. Raises NotFoundError if it signed none there."""
        cp = self._store.checkpoint(size)
        if cp is None:
            raise NotFoundError(f"the log signed no checkpoint of size {size}")
        return cp

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every checkpoint the log signed, smallest size first."""
        return self._store.checkpoints()

    def checkpoints_after(self, size: int, limit: int) -> list[StoredCheckpoint]:
        """At most `limit` checkpoints the log signed larger than `size`, smallest first (a page)."""
        return self._store.checkpoints_after(size, limit)

    def audit(
        self, *, log_key: Verifier | None = None, progress: Callable[[int, int], None] | None = None
    ) -> AuditReport:
        """Audit the stored log (`ledger.audit.audit`): every entry, tile and checkpoint, checked
        against `log_key` (default: this log's own key). Stored tiles are read as they are needed;
        entries appended while it runs are not counted against it."""
        store = self._store
        return audit(
            store.iter_entries(),
            store.checkpoints(),
            log_key=log_key or self.verifier,
            tiles=store,
            progress=progress,
            signed_size=lambda: self.checkpoint().size,
        )

    @property
    def engine(self) -> Any:
        """The SQLAlchemy engine of the log's SQL store, which the trace tables share.

        The one way above the ledger to reach the log's database (trace's rows commit in the log's
        write transactions), until the trace store owns its engine. Raises AttributeError for a
        store that is not SQL (the in-memory one).
        """
        engine = getattr(self._store, "engine", None)
        if engine is None:
            raise AttributeError(f"the log's store ({type(self._store).__name__}) has no SQL engine")
        return engine

    def add_cosignature(self, note_text: str, witness: CosignatureVerifier) -> StoredCheckpoint:
        """Verify a witness's cosignature on one of our checkpoints and store it (C2SP tlog-cosignature).

        `note_text` is the checkpoint note as the witness returned it (or our note plus its line).
        Returns the checkpoint as stored, with every cosignature it now carries.
        """
        ((size, _),) = self.add_cosignatures([(note_text, witness)])
        return self._store.checkpoint(size)  # type: ignore[return-value]

    def add_cosignatures(self, cosigned: Sequence[tuple[str, CosignatureVerifier]]) -> list[tuple[int, str]]:
        """`add_cosignature` for many (note text, witness) pairs, stored in one write transaction.

        Every pair is checked first; one that fails raises (MalformedError, VerificationError or
        NotFoundError, naming its witness) and nothing is stored. Returns the stored (size, line)
        pairs, in order. The log's background submitter (ledger/witnessing.py) stores the answers of
        all its witnesses this way: one commit where there would be one per witness.
        """
        checked = [(self._cosignature_line(text, witness), witness) for text, witness in cosigned]
        lines, replaced = self._newest_per_witness(checked)
        if replaced:
            self._store.add_cosignatures(lines, replacing=replaced)
        elif lines:
            self._store.add_cosignatures(lines)
        return [line for line, _ in checked]

    def _newest_per_witness(
        self, checked: Sequence[tuple[tuple[int, str], CosignatureVerifier]]
    ) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        """One cosignature per witness on a checkpoint, the newest: the lines to store (one older than
        the witness's stored line is dropped) and the stored lines they replace. A witness re-cosigns
        the latest checkpoint of a quiet log (ledger/witnessing.py, `refresh`) with a newer time."""
        lines: list[tuple[int, str]] = []
        replaced: list[tuple[int, str]] = []
        for (size, line), witness in checked:
            stored = self._store.checkpoint(size)
            theirs = [
                old for old in (stored.cosignatures if stored else ()) if old != line and signed_by(old, witness)
            ]
            if any(cosigned_at(old) >= cosigned_at(line) for old in theirs):
                continue  # the witness's stored cosignature is as new or newer: keep it
            lines.append((size, line))
            replaced.extend((size, old) for old in theirs)
        return lines, replaced

    def _cosignature_line(self, note_text: str, witness: CosignatureVerifier) -> tuple[int, str]:
        """The (size, line) of `witness`'s cosignature in `note_text`, checked against our checkpoint."""
        if not isinstance(witness, CosignatureVerifier):
            raise MalformedError("witness keys are cosignature/v1 (type 0x04) verifier keys")
        opened = open_note(note_text, [self.verifier, witness])
        cp = parse_checkpoint(opened.text)
        stored = self._store.checkpoint(cp.size)
        if stored is None or stored.root != cp.root or cp.origin != self.origin:
            raise NotFoundError(f"the log never signed a checkpoint of size {cp.size} with that root")
        sigs = [s for s in opened.signatures if (s.name, s.key_id) == (witness.name, witness.key_id)]
        if not sigs:
            raise MalformedError(f"the note carries no cosignature by {witness.name}")
        return cp.size, _line(sigs[0])


def _checked_entries(entries: list[bytes]) -> list[bytes]:
    """`entries` as immutable `bytes`; raise MalformedError unless each is bytes, EntryTooLargeError
    (nothing queued) if one is longer than MAX_ENTRY_SIZE (65,535: ledger/entry_bundles.py).

    The usual case (every entry already `bytes`) is checked in two passes that run in C and copies
    nothing: `bytes` cannot change after it is queued. Other bytes-like entries are copied.
    """
    if set(map(type, entries)) - {bytes}:
        if not all(isinstance(e, bytes | bytearray) for e in entries):
            raise MalformedError(f"an entry is bytes of at most {MAX_ENTRY_SIZE} bytes")
        entries = [bytes(e) for e in entries]
    if entries and max(map(len, entries)) > MAX_ENTRY_SIZE:  # an entry bundle's uint16 length
        for i, e in enumerate(entries):
            check_entry_size(e, index=i if len(entries) > 1 else None)  # EntryTooLargeError
    return entries


class _NodeMemo:
    """A HashReader that remembers every node hash it has read (for many proofs against one size)."""

    def __init__(self, reader: TileHashReader) -> None:
        self._reader = reader
        self._known: dict[merkle.Node, bytes] = {}

    def read_hashes(self, nodes: Sequence[merkle.Node]) -> list[bytes]:
        known = self._known
        missing = list(dict.fromkeys(n for n in nodes if n not in known))
        if missing:
            known.update(zip(missing, self._reader.read_hashes(missing), strict=True))
        return [known[n] for n in nodes]


def _line(sig: NoteSignature) -> str:
    return sig.line()
