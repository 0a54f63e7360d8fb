"""The durable SM3 Merkle log with group commit and one signed checkpoint per batch.

Appends go to a queue; one sequencer thread takes whatever is waiting (up to ``batch_max``
entries, waiting at most ``batch_wait`` seconds for more), hashes it into the tree, checks
the new tree is consistent with the last signed checkpoint, signs one checkpoint, and writes
entries + subtree hashes + checkpoint in one durable transaction. Only then are the callers
answered: an acknowledged entry is durable and covered by a signed checkpoint.

Memory is flat: the sequencer keeps only the right edge of the tree (O(log n) hashes).

The sequencer never dies from one bad batch: any exception while integrating, signing or
committing fails exactly that batch's callers with a :class:`StorageError` naming the cause,
restores the signer's last checkpoint (the in-memory size and frontier only move after a
commit), logs once, and carries on. Until a batch commits again (or, while idle, a store
probe succeeds) :attr:`MerkleLog.failure` says why the log is down. If the thread dies anyway
(a bug), every pending and later append fails at once instead of hanging.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Final

from .. import merkle
from ..checkpoint import Checkpoint, SignedCheckpoint, parse_checkpoint
from ..crypto import PrivateKey, PublicKey
from ..errors import CheckpointError, Error, IntegrityCode, IntegrityError, StorageError
from ..receipt import build_receipt
from ._history import SignedHistory
from ._marker import read_marker, write_marker
from ._results import AppendResult
from ._signer import CheckpointSigner
from ._store import Batch, LogStore, NodeId, StoredCheckpoint
from ._tree import STORED_MIN_LEVEL, SubtreeReader, node_of
from ._verify import Verified, short, verify_stored_log

log = logging.getLogger("ledger.log")


class _Stop(Enum):
    """The sequencer's stop marker (an enum member, so ``is _STOP`` narrows the queue's type)."""

    STOP = "stop"


_STOP: Final = _Stop.STOP

FULL_VERIFY_BELOW = 1 << 16
"""Logs verified up to fewer entries than this are checked in full at every open (about
2 s at the SM3 rate of a loaded two-core machine); beyond, from the verified-up-to marker."""


@dataclass
class _Pending:
    """One caller's request: a single entry or a whole batch, answered by one future."""

    entries: list[bytes]
    keys: list[str | None]
    future: Future[Any]  # an AppendResult when ``single``, else a list of them
    single: bool
    want_proof: bool = False
    indexes: list[int] = field(default_factory=list)
    duplicate: list[bool] = field(default_factory=list)


class MerkleLog:
    """Append-only SM3 Merkle log over a :class:`LogStore`. Thread-safe; one sequencer thread."""

    def __init__(
        self,
        store: LogStore,
        key: PrivateKey,
        origin: str,
        *,
        batch_max: int = 4096,
        batch_wait: float = 0.002,
        verify: str = "incremental",
        anchors: str | Path | None = None,
        probe_interval: float = 2.0,
    ) -> None:
        """Open the log over ``store``, verifying it before anything can be signed.

        ``verify`` is ``"incremental"`` (entries added since the signed verified-up-to
        marker, see :mod:`._marker`), ``"full"`` (every entry and every checkpoint
        signature) or ``"head"`` (the latest checkpoint and the frontier only, O(log n):
        see :mod:`._head`). ``anchors`` is the anchorer's database (``AnchorStore``), if
        any: the log must contain its last confirmed anchor, with the same root. Raises
        :class:`ledger.errors.IntegrityError` naming the first bad index or size; nothing is
        started then.
        """
        if verify not in ("incremental", "full", "head"):
            raise ValueError("verify must be 'incremental', 'full' or 'head'")
        self.store = store
        self._tree = SubtreeReader(store)
        self.origin = origin
        self.signer = CheckpointSigner(key, origin, history=SignedHistory(store.sidecar(".signed")))
        self.batch_max = batch_max
        self.batch_wait = batch_wait
        self.probe_interval = probe_interval
        self._queue: queue.SimpleQueue[_Pending | _Stop] = queue.SimpleQueue()
        try:
            self.verified = self._verify_stored(key, verify)
            self._size = self.verified.size
            self._frontier = self._load_frontier(self._size)
            self._check_against_last_checkpoint()
            self._check_against_history()
            if anchors is not None and Path(anchors).exists():
                from ._anchors import last_confirmed

                self.check_anchor(last_confirmed(anchors, origin))
        except Error:
            store.close()  # refused: nothing may write to it through us
            raise
        self._latest: SignedCheckpoint | None = None
        stored = store.checkpoint()
        if stored is not None:
            self._latest = parse_checkpoint(stored.note)
        self.batches = 0
        self.batch_sizes: list[int] = []
        self._thread = threading.Thread(target=self._run, name="merkle-sequencer", daemon=True)
        self._closed = False
        self._failure: str | None = None
        self._failed_at = 0.0
        self._dead: BaseException | None = None
        self._current: list[_Pending] = []
        self._submit_lock = threading.Lock()
        self._thread.start()

    # -- opening -----------------------------------------------------------------------
    def _verify_stored(self, key: PrivateKey, mode: str) -> Verified:
        """Entries -> leaf hashes -> stored subtrees -> signed checkpoints (see ._verify)."""
        if mode == "head":
            from ._head import verify_head

            return verify_head(self.store, key.public_key, self.origin)
        marker_path = self.store.sidecar(".verified")
        marker = None if mode == "full" else read_marker(marker_path, key.public_key, self.origin)
        if marker is not None and marker.size < FULL_VERIFY_BELOW:
            marker = None  # small enough to check everything, every time
        verified = verify_stored_log(
            self.store,
            key.public_key,
            self.origin,
            start=marker.size if marker else 0,
            start_root=marker.root if marker else None,
            all_signatures=mode == "full",
        )
        if verified.size and (marker is None or verified.size > marker.size):
            write_marker(marker_path, key, self.origin, verified.size, verified.root)
        return verified

    def _load_frontier(self, size: int) -> list[bytes]:
        if size == self.verified.size:
            return list(self.verified.frontier)
        ranges = merkle.perfect_subtrees(0, size)
        ids = [node_of(r) for r in ranges]
        found = self._tree.nodes(set(ids), {})
        return [found[node] for node in ids]

    def _check_against_last_checkpoint(self) -> None:
        """On open: the stored tree must be consistent with the last signed checkpoint."""
        stored = self.store.checkpoint()
        if stored is None:
            return
        root = merkle.hash_from_perfect_subtrees(self._frontier)
        if stored.size != self._size or root != stored.root:
            raise IntegrityError(
                IntegrityCode.CHECKPOINT_ROOT_MISMATCH,
                f"stored tree root at size {stored.size} does not match its signed checkpoint",
                size=stored.size,
            )
        self.signer.last = Checkpoint(self.origin, stored.size, stored.root)

    def _check_against_history(self) -> None:
        """The log must hold every size the signer released, with the same root; a log
        ahead of the history (a crash between commit and record) is recorded now."""
        released = self.signer.history.last
        if released is not None:
            self._check_prefix(
                IntegrityCode.SIGNER_HISTORY,
                released,
                short_log="signer released size {size} but the log ends at size {end} "
                "(first missing index {end})",
                other_root="signer released size {size} with root {root}, the log has {have}",
            )
        if self.signer.last is not None and (released is None or self._size > released[0]):
            self.signer.history.append(self.signer.last.size, self.signer.last.root)

    def check_anchor(self, anchor: tuple[int, bytes] | None) -> None:
        """An anchor ``(size, root)`` (from the anchor rows, or read from the chain) must be
        a prefix of the log, with the same root; IntegrityError ``anchor_mismatch`` if not."""
        if anchor is not None:
            self._check_prefix(
                IntegrityCode.ANCHOR_MISMATCH,
                anchor,
                short_log="last confirmed anchor has size {size} but the log ends at size {end}",
                other_root="last confirmed anchor at size {size} has root {root}, the log has "
                "{have}",
            )

    def _check_prefix(
        self, code: IntegrityCode, point: tuple[int, bytes], *, short_log: str, other_root: str
    ) -> None:
        """``point`` = (size, root) must be a prefix of the log with the same root; the two
        messages name the failure in the caller's words."""
        size, root = point
        if self._size < size:
            raise IntegrityError(
                code,
                short_log.format(size=size, end=self._size),
                size=size,
                expected=str(size),
                got=str(self._size),
            )
        have = self.root(size) if size else merkle.EMPTY_ROOT
        if have != root:
            raise IntegrityError(
                code,
                other_root.format(size=size, root=short(root), have=short(have)),
                size=size,
                expected=root.hex(),
                got=have.hex(),
            )

    # -- appending ---------------------------------------------------------------------
    def append_async(
        self,
        entry: bytes,
        key: str | None = None,
        want_proof: bool = False,
    ) -> Future[AppendResult]:
        """Queue ``entry``; the future resolves to an :class:`AppendResult` once durable.

        ``key`` makes the append idempotent (a second append with the same key returns the
        first one's index, ``duplicate=True``). The log writes only its own tables: a caller
        that keeps rows of its own atomic with an entry does so in its own unit of work (the
        gateway stages its rows first and appends with the exchange id as ``key``, see
        ``gateway.exchange.unit``). ``want_proof`` asks for the inclusion proof in the result:
        the sequencer computes the proofs of a whole batch from the hashes it has just made
        plus one read, cheaper than one read per receipt.
        """
        self._check_entry(entry)
        return self._submit([bytes(entry)], [key], single=True, want_proof=want_proof)

    def append(
        self, entry: bytes, key: str | None = None, timeout: float | None = 30
    ) -> AppendResult:
        return self.append_async(entry, key).result(timeout)

    def append_batch_async(
        self, entries: list[bytes], keys: list[str | None] | None = None
    ) -> Future[list[AppendResult]]:
        """Queue many entries at once; resolves to a list of :class:`AppendResult`.

        Cheaper per entry than :meth:`append_async` (one future for the lot); the entries
        may still be split over several checkpoints.
        """
        for entry in entries:
            self._check_entry(entry)
        keys = list(keys) if keys is not None else [None] * len(entries)
        if len(keys) != len(entries):
            raise ValueError("append_batch: keys and entries differ in length")
        return self._submit([bytes(e) for e in entries], keys, single=False)

    def append_many(self, entries: list[bytes]) -> list[AppendResult]:
        return self.append_batch_async(entries).result() if entries else []

    def _check_entry(self, entry: bytes) -> None:
        if not isinstance(entry, bytes | bytearray) or not entry:
            raise ValueError("log entry must be non-empty bytes")

    def _submit(
        self,
        entries: list[bytes],
        keys: list[str | None],
        single: bool,
        want_proof: bool = False,
    ) -> Future[Any]:
        if self._closed:
            raise Error("log is closed")
        future: Future[Any] = Future()
        with self._submit_lock:  # the thread's death drains the queue under the same lock
            if self._dead is not None:
                raise StorageError(f"log sequencer is not running: {_describe(self._dead)}")
            self._queue.put(_Pending(entries, keys, future, single, want_proof))
        return future

    # -- health ------------------------------------------------------------------------
    @property
    def failure(self) -> str | None:
        """Why the log cannot commit now (None when healthy): a dead sequencer, or the cause
        of the last failed batch until a batch commits or an idle store probe succeeds."""
        if self._dead is not None:
            return f"sequencer thread died: {_describe(self._dead)}"
        if not self._closed and not self._thread.is_alive():
            return "sequencer thread is not running"
        return self._failure

    @property
    def healthy(self) -> bool:
        return self.failure is None

    @property
    def alive(self) -> bool:
        """The sequencer thread runs: appends are answered (possibly with an error)."""
        return self._dead is None and self._thread.is_alive()

    # -- the sequencer -----------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # a bug: fail everyone at once rather than hang them
            log.critical("log sequencer died: %s", _describe(exc), exc_info=exc)
            with self._submit_lock:
                self._dead = exc
                waiting = list(self._current)
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is not _STOP:
                        waiting.append(item)
            error = StorageError(f"log sequencer died: {_describe(exc)}")
            error.__cause__ = exc
            for item in waiting:
                _fail(item.future, error)

    def _next(self) -> _Pending | _Stop:
        """The next queued item; while failing and idle, probe the store now and then."""
        while self._failure is not None and self._dead is None:
            wait = self._failed_at + self.probe_interval - time.monotonic()
            try:
                return self._queue.get(timeout=max(0.0, wait))
            except queue.Empty:
                self._probe()
        return self._queue.get()

    def _probe(self) -> None:
        probe = getattr(self.store, "probe", None)
        self._failed_at = time.monotonic()
        if probe is None:
            return
        try:
            probe()
        except Exception as exc:
            self._failure = f"store probe failed: {_describe(exc)}"
            return
        log.info("log store probe succeeded; the log is healthy again")
        self._failure = None

    def _loop(self) -> None:
        while True:
            first = self._next()
            if first is _STOP:
                return
            batch = [first]
            count = len(first.entries)
            deadline = time.monotonic() + self.batch_wait
            stop = False
            while count < self.batch_max:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
                count += len(item.entries)
            self._process(batch)
            if stop:
                return

    def _process(self, batch: list[_Pending]) -> None:
        """One batch: integrate, sign and commit it, then answer its callers.

        Any exception before the commit fails exactly this batch: the signer goes back to its
        last checkpoint (size and frontier only move once committed) and the log is marked
        down with the cause until a later batch commits.
        """
        self._current = batch
        previous, size_before = self.signer.last, self._size
        try:
            answers = self._integrate(batch)
        except Exception as exc:
            if self._size == size_before:  # not committed: the signature it made is void
                self.signer.last = previous
            entries = sum(len(item.entries) for item in batch)
            cause = _describe(exc)
            failure = f"last log batch failed: {cause}"
            if failure != self._failure:  # the traceback once per cause, not once per batch
                log.error("log batch of %d entries failed: %s", entries, cause, exc_info=exc)
            else:
                log.warning("log batch of %d entries failed again: %s", entries, cause)
            error = StorageError(f"log batch of {entries} entries failed: {cause}")
            error.__cause__ = exc
            for item in batch:
                _fail(item.future, error)
            self._failure = failure
            self._failed_at = time.monotonic()
        else:
            if self._failure is not None:
                log.info("log batch committed; the log is healthy again")
            self._failure = None
            for future, result in answers:
                _answer(future, result)
        self._current = []  # not in ``finally``: if the thread dies, _run fails these callers

    def _integrate(self, pending: list[_Pending]) -> list[tuple[Future[Any], object]]:
        """Hash, sign and commit ``pending``; the answers for its callers (raises on failure)."""
        store = self.store
        first_index = self._size
        frontier = list(self._frontier)
        new_nodes: list[tuple[NodeId, bytes]] = []
        fresh_entries: list[bytes] = []
        fresh_keys: list[str | None] = []
        batch_keys: dict[str, int] = {}
        leaf_hash, node_hash = merkle.leaf_hash, merkle.node_hash
        known = store.indexes_for_keys([k for item in pending for k in item.keys if k is not None])
        index = first_index
        for item in pending:
            item.indexes = []
            item.duplicate = []
            for entry, key in zip(item.entries, item.keys, strict=True):
                if key is not None:
                    existing = batch_keys.get(key)
                    if existing is None:
                        existing = known.get(key)
                    if existing is not None:
                        item.indexes.append(existing)
                        item.duplicate.append(True)
                        continue
                    batch_keys[key] = index
                digest = leaf_hash(entry)
                new_nodes.append(((0, index), digest))
                level, position = 0, index
                while position & 1:
                    digest = node_hash(frontier.pop(), digest)
                    level, position = level + 1, position >> 1
                    new_nodes.append(((level, position), digest))
                frontier.append(digest)
                fresh_entries.append(entry)
                fresh_keys.append(key)
                item.indexes.append(index)
                item.duplicate.append(False)
                index += 1
        new_size = index
        overlay = dict(new_nodes)
        if new_size == self._size:
            signed = self._latest
        else:
            signed = self._commit(
                first_index,
                new_size,
                frontier,
                new_nodes,
                fresh_entries,
                fresh_keys,
                pending,
            )
        if signed is None:
            raise StorageError("log has no signed checkpoint to answer a duplicate with")
        proofs = self._batch_proofs(pending, signed.size, overlay)
        answers: list[tuple[Future[Any], object]] = []
        for item in pending:
            results = [
                AppendResult(i, signed, duplicate=dup, proof=proofs.get(i))
                for i, dup in zip(item.indexes, item.duplicate, strict=True)
            ]
            answers.append((item.future, results[0] if item.single else results))
        return answers

    def _batch_proofs(
        self, pending: list[_Pending], size: int, overlay: dict[NodeId, bytes]
    ) -> dict[int, list[bytes]]:
        wanted = sorted({i for item in pending if item.want_proof for i in item.indexes})
        if not wanted:
            return {}
        try:
            proofs = self._range_hashes_many(
                [merkle.inclusion_proof_ranges(i, size) for i in wanted], overlay
            )
        except Exception:  # the entries are durable: callers can still ask for a receipt later
            log.exception("could not build inclusion proofs for a committed batch")
            return {}
        return dict(zip(wanted, proofs, strict=True))

    def _commit(
        self,
        first_index: int,
        new_size: int,
        frontier: list[bytes],
        new_nodes: list[tuple[NodeId, bytes]],
        entries: list[bytes],
        keys: list[str | None],
        pending: list[_Pending],
    ) -> SignedCheckpoint:
        """Sign and durably commit the batch; raises (state untouched but the signer's) if not."""
        root = merkle.hash_from_perfect_subtrees(frontier)
        proof = (
            self._range_hashes(
                merkle.consistency_proof_ranges(self._size, new_size), dict(new_nodes)
            )
            if self._size
            else []
        )
        signed = self.signer.sign(new_size, root, proof)
        self.store.commit(
            Batch(
                first_index,
                entries,
                keys,
                [n for n in new_nodes if n[0][0] >= STORED_MIN_LEVEL],
                StoredCheckpoint(new_size, root, signed.text),
            )
        )
        # The batch is durable: memory follows the store whatever happens next.
        self._size = new_size
        self._frontier = frontier
        self._latest = signed
        self.batches += 1
        if len(self.batch_sizes) < 100_000:
            self.batch_sizes.append(len(entries))
        # Recorded before any caller or anchor sees it; if this write fails the batch's
        # callers are failed (nothing unrecorded is acknowledged) and the history catches up
        # from the store with the next release or at the next open.
        self.signer.release(signed)
        return signed

    # -- reading -----------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self._size

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        return self._latest

    def latest_root(self) -> bytes:
        return merkle.hash_from_perfect_subtrees(self._frontier)

    def checkpoint(self, size: int | None = None) -> SignedCheckpoint:
        stored = self.store.checkpoint(size)
        if stored is None:
            raise CheckpointError(f"no checkpoint for tree size {size}")
        return parse_checkpoint(stored.note)

    def _range_hashes(
        self, ranges: list[tuple[int, int]], overlay: dict[NodeId, bytes] | None = None
    ) -> list[bytes]:
        return self._tree.range_hashes_many([ranges], overlay)[0]

    def _range_hashes_many(
        self, many: list[list[tuple[int, int]]], overlay: dict[NodeId, bytes] | None = None
    ) -> list[list[bytes]]:
        return self._tree.range_hashes_many(many, overlay)

    def root(self, size: int) -> bytes:
        """Root of the first ``size`` entries, for any size up to the current one."""
        self._check_size(size)
        return self._range_hashes([(0, size)])[0] if size else merkle.EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self._size if size is None else size
        self._check_size(size)
        return self._range_hashes(merkle.inclusion_proof_ranges(index, size))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new_size = self._size if new_size is None else new_size
        self._check_size(new_size)
        return self._range_hashes(merkle.consistency_proof_ranges(old_size, new_size))

    def entry(self, index: int) -> bytes:
        if not 0 <= index < self._size:
            raise StorageError(f"index {index} out of range for log size {self._size}")
        return self.store.entry(index)

    def index_for_key(self, key: str) -> int | None:
        return self.store.index_for_key(key)

    def receipt(
        self, index: int, size: int | None = None, exchange_id: str | None = None
    ) -> dict[str, Any]:
        """A self-contained receipt (docs/receipt.md) for entry ``index`` at checkpoint ``size``."""
        checkpoint = self._latest if size is None else self.checkpoint(size)
        if checkpoint is None or not 0 <= index < checkpoint.size:
            raise StorageError(f"no checkpoint covers index {index}")
        return build_receipt(
            origin=self.origin,
            log_key_id=self.signer.key.public_key.key_id,
            leaf_index=index,
            entry=self.entry(index),
            proof=self.inclusion_proof(index, checkpoint.size),
            checkpoint=checkpoint,
            exchange_id=exchange_id,
        )

    @property
    def public_key(self) -> PublicKey:
        return self.signer.key.public_key

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self._size:
            raise StorageError(f"tree size {size} out of range: log has {self._size} entries")

    def close(self) -> None:
        """Drain queued appends, stop the sequencer, close the store."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        self.store.close()

    def __enter__(self) -> MerkleLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, one line, bounded (it ends up in health output)."""
    text = " ".join(str(exc).split())
    text = text if len(text) <= 200 else text[:199] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _answer(future: Future[Any], result: object) -> None:
    try:
        future.set_result(result)
    except InvalidStateError:  # the caller gave up (cancelled); the entry is still durable
        pass


def _fail(future: Future[Any], error: BaseException) -> None:
    try:
        future.set_exception(error)
    except InvalidStateError:
        pass
