"""The front end of a log on PostgreSQL: :class:`PgLog` queues appends for the origin's
elected sequencer (:mod:`._sequencer`) and reads the log; it never signs.

``append_async`` inserts a queue row and returns a future; one listener thread per
:class:`PgLog` (LISTEN ``ledger_log``) resolves every waiting future at each committed batch
with one read of the leaves of all waiting keys and one of the latest checkpoint (its
signature checked with the log's public key once per new size). ``enqueue`` takes the
caller's open connection, so a caller can put its own rows and the queue row in one
transaction. Every append has an idempotency key (a random one if the caller gives none):
the future is found by it, and a queue row re-read after a crash of the sequencer cannot be
appended twice. Each leaf records the queue row it came from, so of two appends racing with
one key exactly the one whose row was sequenced is told ``duplicate=False``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from .. import merkle
from ..checkpoint import SignedCheckpoint, verify_checkpoint
from ..crypto import PublicKey
from ..errors import CheckpointError, Error, StorageError
from ..receipt import build_receipt
from ._pg_store import LOG_CHANNEL, PgLogStore
from ._results import AppendResult
from ._tree import SubtreeReader

__all__ = ["PgLog"]

log = logging.getLogger("ledger.log.pg")

_AUTO_KEY = "~auto:"
"""Prefix of the keys given to appends without one (a caller's keys should not use it)."""


@dataclass
class _Waiter:
    future: Future[AppendResult]
    queue_id: int | None
    """The queue row this append inserted (None: the key was queued or logged already)."""
    want_proof: bool
    since: float = field(default_factory=time.monotonic)


class PgLog:
    """Queue appends for, and read, ``origin``'s log in the database at ``url``."""

    def __init__(
        self,
        url: str,
        public_key: PublicKey,
        origin: str,
        *,
        pool_max: int = 8,
        poll: float = 0.5,
        stall_after: float = 10.0,
    ) -> None:
        self.origin = origin
        self.public_key = public_key
        self.poll = poll
        self.stall_after = stall_after
        self.url = url
        try:
            self.pool = ConnectionPool(
                url, min_size=1, max_size=pool_max, kwargs={"autocommit": True}, open=False
            )
            self.pool.open(wait=True, timeout=10)
        except (psycopg.Error, Exception) as exc:
            raise StorageError(f"log client ({origin}): cannot connect: {exc}") from exc
        self.store = PgLogStore(self.pool, origin)
        self._tree = SubtreeReader(self.store)
        self._lock = threading.Lock()
        self._waiting: dict[str, list[_Waiter]] = {}
        self._latest: SignedCheckpoint | None = None
        self._advanced_at = time.monotonic()
        self._listener_error: str | None = None
        self._closed = threading.Event()
        self._refresh_latest()
        self._thread = threading.Thread(target=self._listen, name="pglog-listener", daemon=True)
        self._thread.start()

    # -- appending ---------------------------------------------------------------------
    def enqueue(self, conn: psycopg.Connection[Any], entry: bytes, key: str) -> int | None:
        """Queue ``entry`` on the caller's connection (inside its transaction, if open): the
        queue row's id, or None when ``key`` is already in the log or in the queue."""
        if not isinstance(entry, bytes | bytearray) or not entry:
            raise ValueError("log entry must be non-empty bytes")
        row = conn.execute(
            "INSERT INTO ledger_queue (origin, key, entry) SELECT %s, %s, %s "
            "WHERE NOT EXISTS (SELECT 1 FROM ledger_leaves WHERE origin = %s AND key = %s) "
            "ON CONFLICT DO NOTHING RETURNING id",
            (self.origin, key, bytes(entry), self.origin, key),
        ).fetchone()
        return None if row is None else int(row[0])

    def append_async(
        self, entry: bytes, key: str | None = None, want_proof: bool = False
    ) -> Future[AppendResult]:
        """Queue ``entry``; the future resolves to an :class:`AppendResult` once a sequencer
        has committed it under a signed checkpoint (``duplicate`` when ``key`` was in the log
        or the queue already)."""
        if self._closed.is_set():
            raise Error("log client is closed")
        key = key if key is not None else _AUTO_KEY + uuid.uuid4().hex
        future: Future[AppendResult] = Future()
        waiter = _Waiter(future, None, want_proof)
        with self._lock:  # registered first: the commit's notification cannot be missed
            self._waiting.setdefault(key, []).append(waiter)
        try:
            with self.store.session() as conn:
                waiter.queue_id = self.enqueue(conn, entry, key)
        except Exception as exc:
            self._forget(key, waiter)
            error = exc if isinstance(exc, StorageError) else StorageError(str(exc))
            _fail(future, error)
            return future
        if waiter.queue_id is None:
            self._resolve([key])  # already in the log: answered now, not at the next batch
        return future

    def append(self, entry: bytes, key: str | None = None, timeout: float = 30) -> AppendResult:
        return self.append_async(entry, key).result(timeout)

    def _forget(self, key: str, waiter: _Waiter) -> None:
        with self._lock:
            waiters = self._waiting.get(key, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters:
                self._waiting.pop(key, None)

    # -- the listener ------------------------------------------------------------------
    def _listen(self) -> None:
        while not self._closed.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {LOG_CHANNEL}")
                    self._listener_error = None
                    self._resolve(None)  # whatever committed while not listening
                    while not self._closed.is_set():
                        for _ in conn.notifies(timeout=self.poll, stop_after=1):
                            pass
                        self._resolve(None)
            except Exception as exc:  # a dropped connection: say so, reconnect
                self._listener_error = f"log listener: {type(exc).__name__}: {exc}"[:300]
                log.warning("%s; reconnecting", self._listener_error)
                self._closed.wait(self.poll)

    def _refresh_latest(self) -> SignedCheckpoint | None:
        stored = self.store.checkpoint()
        latest = self._latest
        if stored is not None and (latest is None or stored.size > latest.size):
            try:
                latest = verify_checkpoint(stored.note, self.public_key, self.origin)
            except CheckpointError as exc:
                raise StorageError(
                    f"log {self.origin}: latest checkpoint (size {stored.size}) does not "
                    f"verify with the log key: {exc}"
                ) from exc
            self._latest = latest
            self._advanced_at = time.monotonic()
        return latest

    def _resolve(self, keys: list[str] | None) -> None:
        """Answer the waiters of ``keys`` (None: all) whose entries a checkpoint covers."""
        with self._lock:
            wanted = list(self._waiting) if keys is None else keys
        if not wanted:
            self._refresh_latest()
            return
        try:
            latest = self._refresh_latest()
            found = self.store.leaves_for_keys(wanted)
        except StorageError as exc:
            self._listener_error = f"log listener: {exc}"[:300]
            return
        if latest is None:
            return
        done = {k: leaf for k, leaf in found.items() if leaf[0] < latest.size}
        with self._lock:
            answered = [(leaf, self._waiting.pop(k, [])) for k, leaf in done.items()]
        proofs = self._proofs(
            sorted({leaf[0] for leaf, ws in answered if any(w.want_proof for w in ws)}),
            latest.size,
        )
        for (index, queue_id), waiters in answered:
            for w in waiters:
                proof = proofs.get(index) if w.want_proof else None
                duplicate = w.queue_id is None or w.queue_id != queue_id
                _answer(w.future, AppendResult(index, latest, duplicate, proof))

    def _proofs(self, indexes: list[int], size: int) -> dict[int, list[bytes]]:
        if not indexes:
            return {}
        try:
            many = [merkle.inclusion_proof_ranges(i, size) for i in indexes]
            return dict(zip(indexes, self._tree.range_hashes_many(many), strict=True))
        except Error:
            log.exception("could not build inclusion proofs for a committed batch")
            return {}

    # -- health ------------------------------------------------------------------------
    @property
    def failure(self) -> str | None:
        """Why appends are not being answered (None when healthy)."""
        if self._closed.is_set():
            return "log client is closed"
        if self._listener_error is not None:
            return self._listener_error
        with self._lock:
            oldest = min((w.since for ws in self._waiting.values() for w in ws), default=None)
            count = sum(len(ws) for ws in self._waiting.values())
        now = time.monotonic()
        if oldest is not None and now - oldest > self.stall_after:
            idle = now - max(self._advanced_at, oldest)
            if idle > self.stall_after:
                return (
                    f"no sequencer has advanced the log for {idle:.0f} s while {count} appends wait"
                )
        return None

    @property
    def healthy(self) -> bool:
        return self.failure is None

    # -- reading -----------------------------------------------------------------------
    @property
    def size(self) -> int:
        latest = self._latest
        return 0 if latest is None else latest.size

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        return self._refresh_latest()

    def checkpoint(self, size: int | None = None) -> SignedCheckpoint:
        stored = self.store.checkpoint(size)
        if stored is None:
            raise CheckpointError(f"no checkpoint for tree size {size}")
        return verify_checkpoint(stored.note, self.public_key, self.origin)

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            self._refresh_latest()
        if not 0 <= size <= self.size:
            raise StorageError(f"tree size {size} out of range: log has {self.size} entries")

    def root(self, size: int) -> bytes:
        """Root of the first ``size`` entries, for any size the log has."""
        self._check_size(size)
        return self._tree.range_hashes_many([[(0, size)]])[0][0] if size else merkle.EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        self._check_size(size)
        return self._tree.range_hashes_many([merkle.inclusion_proof_ranges(index, size)])[0]

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new_size = self.size if new_size is None else new_size
        self._check_size(new_size)
        ranges = merkle.consistency_proof_ranges(old_size, new_size)
        return self._tree.range_hashes_many([ranges])[0]

    def entry(self, index: int) -> bytes:
        return self.store.entry(index)

    def index_for_key(self, key: str) -> int | None:
        return self.store.index_for_key(key)

    def receipt(
        self, index: int, size: int | None = None, exchange_id: str | None = None
    ) -> dict[str, Any]:
        """A self-contained receipt (docs/receipt.md) for entry ``index`` at checkpoint ``size``."""
        checkpoint = self.latest_checkpoint() if size is None else self.checkpoint(size)
        if checkpoint is None or not 0 <= index < checkpoint.size:
            raise StorageError(f"no checkpoint covers index {index}")
        return build_receipt(
            origin=self.origin,
            log_key_id=self.public_key.key_id,
            leaf_index=index,
            entry=self.entry(index),
            proof=self.inclusion_proof(index, checkpoint.size),
            checkpoint=checkpoint,
            exchange_id=exchange_id,
        )

    def close(self) -> None:
        """Stop listening, fail the appends still waiting, close the pool."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._thread.join(timeout=self.poll + 10)
        with self._lock:
            waiting = [w for ws in self._waiting.values() for w in ws]
            self._waiting.clear()
        for w in waiting:
            _fail(w.future, StorageError("log client closed before the append was sequenced"))
        self.pool.close()

    def __enter__(self) -> PgLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _answer(future: Future[AppendResult], result: AppendResult) -> None:
    try:
        future.set_result(result)
    except InvalidStateError:
        pass


def _fail(future: Future[AppendResult], error: BaseException) -> None:
    try:
        future.set_exception(error)
    except InvalidStateError:
        pass
