"""The Merkle log's store on PostgreSQL: :class:`PgLogStore`, one log origin's rows in the
ledger's tables (``ledger/pg/schema``): leaves, perfect-subtree hashes, checkpoints, the
head (the fence) and the queue of appends waiting for the origin's sequencer.

A store runs on one dedicated connection (the sequencer's: the one that holds its advisory
lock, so a dropped connection stops its writes) or on a pool (front ends, which only read).
Every commit is one transaction that first moves the head from the batch's first index to
its new size: a writer whose view of the log is stale (it lost the election without
noticing) changes no row and fails, and the checkpoint it signed is never stored.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from ..errors import StorageError
from ._store import _LEVEL_SHIFT, Batch, LogStore, NodeId, StoredCheckpoint, _pack

__all__ = ["LOG_CHANNEL", "QUEUE_CHANNEL", "FencedError", "PgLogStore"]

LOG_CHANNEL = "ledger_log"
"""NOTIFY channel of committed batches; payload ``"<new size> <origin>"``."""
QUEUE_CHANNEL = "ledger_queue"
"""NOTIFY channel of enqueued appends (a trigger on ``ledger_queue``); empty payload."""


class FencedError(StorageError):
    """A commit found the log's head elsewhere than where this writer's batch starts, or
    this writer no longer holds the sequencer lock: it must stop sequencing."""


class PgLogStore(LogStore):
    """One origin's log in PostgreSQL over ``source`` (a connection in autocommit mode, or a
    pool). ``fence(conn)`` runs first in every commit transaction (the sequencer's check that
    it still holds the election lock); ``consume`` names queue rows deleted with the next
    commit, so a sequenced append leaves the queue in the transaction that stores it."""

    def __init__(
        self,
        source: psycopg.Connection[Any] | ConnectionPool,
        origin: str,
        *,
        fence: Callable[[psycopg.Connection[Any]], None] | None = None,
    ) -> None:
        self.source = source
        self.origin = origin
        self.fence = fence
        self._lock = threading.RLock()
        self._consumed: dict[str, int] = {}

    @contextlib.contextmanager
    def session(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for a few statements; psycopg errors become StorageError."""
        try:
            if isinstance(self.source, ConnectionPool):
                with self.source.connection() as conn:
                    yield conn
            else:
                with self._lock:
                    yield self.source
        except psycopg.Error as exc:
            raise StorageError(f"log store ({self.origin}): database error: {exc}") from exc

    read_session = session
    """Where the sequencer claims and listens (a second connection in the pipelined store)."""
    broken: BaseException | None = None
    """A failed background write (only the pipelined store writes in the background)."""

    def inflight(self) -> list[int]:
        """Claimed queue rows not yet committed: none here, ``commit`` writes before it returns."""
        return []

    def flush(self) -> None:
        """Nothing is written in the background here."""

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.session() as conn:
            return conn.execute(query.encode(), params).fetchall()

    # -- writing -----------------------------------------------------------------------
    def consume(self, claimed: dict[str, int]) -> None:
        """Queue rows ``{key: id}`` to delete in the next commit's transaction (the
        sequencer's claim); each leaf records the id of the row it came from."""
        self._consumed = dict(claimed)

    def commit(self, batch: Batch) -> None:
        consumed, self._consumed = self._consumed, {}
        self._write(batch, consumed)

    def _write(self, batch: Batch, consumed: dict[str, int]) -> None:
        """The batch's one transaction (see the module)."""
        cp = batch.checkpoint
        first = batch.first_index
        try:
            with self.session() as conn, conn.transaction():
                if self.fence is not None:
                    self.fence(conn)
                self._move_head(conn, first, cp)
                with conn.cursor().copy(
                    b"COPY ledger_leaves (origin, idx, entry, key, qid) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(["text", "int8", "bytea", "text", "int8"])
                    for index, entry, key in zip(
                        range(first, first + len(batch.entries)),
                        batch.entries,
                        batch.keys,
                        strict=True,
                    ):
                        qid = None if key is None else consumed.get(key)
                        copy.write_row((self.origin, index, entry, key, qid))
                with conn.cursor().copy(
                    b"COPY ledger_nodes (origin, id, hash) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(["text", "int8", "bytea"])
                    for node, digest in batch.nodes:
                        copy.write_row((self.origin, _pack(node), digest))
                conn.execute(
                    b"INSERT INTO ledger_checkpoints (origin, size, root, note) "
                    b"VALUES (%s, %s, %s, %s)",
                    (self.origin, cp.size, cp.root, cp.note),
                )
                if consumed:
                    self._delete_queue(conn, list(consumed.values()))
                conn.execute(  # delivered to the front ends' listeners when this commits
                    b"SELECT pg_notify(%s, %s)", (LOG_CHANNEL, f"{cp.size} {self.origin}")
                )
        except FencedError:
            raise
        except StorageError as exc:
            raise StorageError(f"log batch commit failed: {exc}") from exc

    def _move_head(self, conn: psycopg.Connection[Any], first: int, cp: StoredCheckpoint) -> None:
        moved = conn.execute(
            b"UPDATE ledger_heads SET size = %s, root = %s WHERE origin = %s AND size = %s",
            (cp.size, cp.root, self.origin, first),
        ).rowcount
        if moved != 1 and first == 0:
            moved = conn.execute(
                b"INSERT INTO ledger_heads (origin, size, root) VALUES (%s, %s, %s) "
                b"ON CONFLICT DO NOTHING",
                (self.origin, cp.size, cp.root),
            ).rowcount
        if moved != 1:
            row = conn.execute(
                b"SELECT size FROM ledger_heads WHERE origin = %s", (self.origin,)
            ).fetchone()
            raise FencedError(
                f"log {self.origin}: fenced: the head is at size {row[0] if row else 0}, this "
                f"writer's batch starts at {first} (another sequencer has written)"
            )

    def delete_unconsumed(self) -> None:
        """Delete the claimed queue rows no commit took (a batch of duplicates only)."""
        consumed, self._consumed = self._consumed, {}
        if consumed:
            with self.session() as conn:
                self._delete_queue(conn, list(consumed.values()))

    def _delete_queue(self, conn: psycopg.Connection[Any], ids: Sequence[int]) -> None:
        conn.execute(
            b"DELETE FROM ledger_queue WHERE origin = %s AND id = ANY(%s::bigint[])",
            (self.origin, _int_array(ids)),
        )

    def probe(self) -> None:
        """The database answers (the sequencer's health probe after a failed batch)."""
        self._rows("SELECT 1")

    # -- reading -----------------------------------------------------------------------
    def size(self) -> int:
        row = self._rows("SELECT max(idx) FROM ledger_leaves WHERE origin = %s", (self.origin,))
        return 0 if row[0][0] is None else int(row[0][0]) + 1

    def head(self) -> tuple[int, bytes] | None:
        """The fenced head ``(size, root)``: what the last commit stored."""
        rows = self._rows("SELECT size, root FROM ledger_heads WHERE origin = %s", (self.origin,))
        return (int(rows[0][0]), bytes(rows[0][1])) if rows else None

    def nodes(self, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
        wanted = {_pack(node): node for node in ids}
        if not wanted:
            return {}
        rows = self._rows(
            "SELECT id, hash FROM ledger_nodes WHERE origin = %s AND id = ANY(%s::bigint[])",
            (self.origin, _int_array(wanted)),
        )
        return {wanted[int(packed)]: bytes(digest) for packed, digest in rows}

    def entry(self, index: int) -> bytes:
        rows = self._rows(
            "SELECT entry FROM ledger_leaves WHERE origin = %s AND idx = %s", (self.origin, index)
        )
        if not rows:
            raise StorageError(f"no log entry at index {index}")
        return bytes(rows[0][0])

    def entries(self, start: int, end: int) -> list[bytes]:
        return [entry for _, entry in self.entry_rows(start, end)]

    def entry_rows(self, start: int, end: int) -> list[tuple[int, bytes]]:
        rows = self._rows(
            "SELECT idx, entry FROM ledger_leaves WHERE origin = %s AND idx >= %s AND idx < %s "
            "ORDER BY idx",
            (self.origin, start, end),
        )
        return [(int(i), bytes(e)) for i, e in rows]

    def index_for_key(self, key: str) -> int | None:
        return self.indexes_for_keys([key]).get(key)

    def indexes_for_keys(self, keys: Sequence[str]) -> dict[str, int]:
        if not keys:
            return {}
        rows = self._rows(
            "SELECT key, idx FROM ledger_leaves WHERE origin = %s AND key = ANY(%s::text[])",
            (self.origin, _text_array(keys)),
        )
        return {str(k): int(i) for k, i in rows}

    def leaves_for_keys(self, keys: Sequence[str]) -> dict[str, tuple[int, int | None]]:
        """``{key: (index, queue row id)}`` of those ``keys`` in the log (one read)."""
        rows = self._rows(
            "SELECT key, idx, qid FROM ledger_leaves WHERE origin = %s AND key = ANY(%s::text[])",
            (self.origin, _text_array(keys)),
        )
        return {str(k): (int(i), None if q is None else int(q)) for k, i, q in rows}

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        if size is None:
            rows = self._rows(
                "SELECT size, root, note FROM ledger_checkpoints WHERE origin = %s "
                "ORDER BY size DESC LIMIT 1",
                (self.origin,),
            )
        else:
            rows = self._rows(
                "SELECT size, root, note FROM ledger_checkpoints WHERE origin = %s AND size = %s",
                (self.origin, size),
            )
        return StoredCheckpoint(int(rows[0][0]), bytes(rows[0][1]), rows[0][2]) if rows else None

    def checkpoint_sizes(self, after: int = -1, limit: int = 1000) -> list[int]:
        return [cp.size for cp in self.checkpoints(after, limit)]

    def checkpoints(self, after: int = -1, limit: int = 1000) -> list[StoredCheckpoint]:
        rows = self._rows(
            "SELECT size, root, note FROM ledger_checkpoints WHERE origin = %s AND size > %s "
            "ORDER BY size LIMIT %s",
            (self.origin, after, limit),
        )
        return [StoredCheckpoint(int(s), bytes(r), n) for s, r, n in rows]

    def node_range(self, level: int, first: int, last: int) -> dict[int, bytes]:
        rows = self._rows(
            "SELECT id, hash FROM ledger_nodes WHERE origin = %s AND id >= %s AND id <= %s",
            (self.origin, _pack((level, first)), _pack((level, last))),
        )
        return {int(p) - (level << _LEVEL_SHIFT): bytes(d) for p, d in rows}

    def node_count(self) -> int | None:
        rows = self._rows("SELECT count(*) FROM ledger_nodes WHERE origin = %s", (self.origin,))
        return int(rows[0][0])

    def close(self) -> None:
        """Nothing to do: the connection or pool belongs to whoever passed it in."""


def _int_array(values: Iterable[int]) -> str:
    """A bigint[] literal: psycopg's generic list dumper costs microseconds per element, and
    a batch looks up or deletes thousands."""
    return "{" + ",".join(str(int(v)) for v in values) + "}"


def _text_array(values: Iterable[str]) -> str:
    """A text[] literal, every element quoted (backslash and double quote escaped)."""
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"
