"""The sequencer's store with pipelined commits: :class:`PipelinedPgLogStore`.

``MerkleLog`` hashes a batch, signs it, then calls ``commit`` and waits: on PostgreSQL the
commit (a round trip, the server's work, its fsync) is as long as the hashing, so one after
the other halves the rate. Here ``commit`` hands the batch to one writer thread (in order, at
most ``depth`` waiting) and returns; the MerkleLog hashes and signs the next batch meanwhile.

Nothing is acknowledged early: front ends learn of a batch only from the database (the
commit's NOTIFY and the rows), so a batch is answered only once durable. Reads (the
MerkleLog's key and subtree lookups) go to a second connection and see the committed rows
plus the batches still being written (an in-memory overlay). If a write fails, the store is
``broken``: every later read and commit raises, the writes queued behind it are dropped (the head no
longer matches them anyway), and the sequencer steps down; the signatures of those batches
were never stored nor seen by anyone.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import psycopg

from ..errors import StorageError
from ._pg_store import PgLogStore
from ._store import Batch, NodeId

__all__ = ["PipelinedPgLogStore"]

log = logging.getLogger("ledger.sequencer")


class PipelinedPgLogStore(PgLogStore):
    """Writes on ``source`` (the lock's connection) in a writer thread; reads on ``reader``."""

    def __init__(
        self,
        source: psycopg.Connection[Any],
        origin: str,
        *,
        reader: psycopg.Connection[Any],
        fence: Callable[[psycopg.Connection[Any]], None] | None = None,
        depth: int = 2,
    ) -> None:
        super().__init__(source, origin, fence=fence)
        self.reader = reader
        self._read_lock = threading.Lock()
        self._jobs: queue.Queue[tuple[Batch, dict[str, int]] | None] = queue.Queue(depth)
        self._over = threading.Lock()
        self._nodes: dict[NodeId, bytes] = {}
        self._entries: dict[int, bytes] = {}
        self._keys: dict[str, int] = {}
        self._inflight: set[int] = set()
        self.broken: BaseException | None = None
        self._writer = threading.Thread(target=self._write_loop, name="pglog-writer", daemon=True)
        self._writer.start()

    @contextlib.contextmanager
    def read_session(self) -> Iterator[psycopg.Connection[Any]]:
        """The read connection, for a few statements; psycopg errors become StorageError.
        Refused once a write failed: the rows it read would no longer match the overlay."""
        if self.broken is not None:
            raise StorageError(f"log store writer failed: {self.broken}") from self.broken
        try:
            with self._read_lock:
                yield self.reader
        except psycopg.Error as exc:
            raise StorageError(f"log store ({self.origin}): database error: {exc}") from exc

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.read_session() as conn:
            return conn.execute(query.encode(), params, binary=True).fetchall()

    # -- writing -----------------------------------------------------------------------
    def consume(self, claimed: dict[str, int]) -> None:
        super().consume(claimed)
        with self._over:
            self._inflight.update(claimed.values())

    def inflight(self) -> list[int]:
        """Queue rows claimed and not yet committed or deleted: the next claim skips them."""
        with self._over:
            return list(self._inflight)

    def commit(self, batch: Batch) -> None:
        if self.broken is not None:
            raise StorageError(f"log store writer failed: {self.broken}") from self.broken
        consumed, self._consumed = self._consumed, {}
        first = batch.first_index
        with self._over:
            self._nodes.update(batch.nodes)
            self._entries.update(enumerate(batch.entries, first))
            self._keys.update((k, i) for i, k in enumerate(batch.keys, first) if k is not None)
        self._jobs.put((batch, consumed))

    def _write_loop(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                batch, consumed = job
                if self.broken is None:
                    try:
                        self._write(batch, consumed)
                    except BaseException as exc:
                        log.error("log batch write failed: %s", exc)
                        self.broken = exc
                self._settle(batch, consumed)
            finally:
                self._jobs.task_done()

    def _settle(self, batch: Batch, consumed: dict[str, int]) -> None:
        first = batch.first_index
        with self._over:
            for node, _ in batch.nodes:
                self._nodes.pop(node, None)
            for i in range(first, first + len(batch.entries)):
                self._entries.pop(i, None)
            for key in batch.keys:
                if key is not None:
                    self._keys.pop(key, None)
            self._inflight.difference_update(consumed.values())

    def delete_unconsumed(self) -> None:
        consumed = dict(self._consumed)
        super().delete_unconsumed()
        with self._over:
            self._inflight.difference_update(consumed.values())

    def flush(self) -> None:
        """Wait for every handed-over batch to be written; raise if one failed."""
        self._jobs.join()
        if self.broken is not None:
            raise StorageError(f"log store writer failed: {self.broken}") from self.broken

    def close(self) -> None:
        """Write what is queued (in order), then stop the writer."""
        if self._writer.is_alive():
            self._jobs.put(None)
            self._writer.join()

    # -- reading: the committed rows plus the overlay (taken first, so nothing falls between)
    def size(self) -> int:
        with self._over:
            pending = max(self._entries, default=-1) + 1
        return max(pending, super().size())

    def nodes(self, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
        wanted = set(ids)
        with self._over:
            found = {n: self._nodes[n] for n in wanted if n in self._nodes}
        found.update(super().nodes(wanted - found.keys()))
        return found

    def entry_rows(self, start: int, end: int) -> list[tuple[int, bytes]]:
        with self._over:
            over = {i: e for i, e in self._entries.items() if start <= i < end}
        rows = dict(super().entry_rows(start, end))
        rows.update(over)
        return sorted(rows.items())

    def entry(self, index: int) -> bytes:
        rows = self.entry_rows(index, index + 1)
        if not rows:
            raise StorageError(f"no log entry at index {index}")
        return rows[0][1]

    def indexes_for_keys(self, keys: Sequence[str]) -> dict[str, int]:
        with self._over:
            found = {k: self._keys[k] for k in keys if k in self._keys}
        found.update(super().indexes_for_keys([k for k in keys if k not in found]))
        return found
