"""Storage for the Merkle log: a small interface and its SQLite (WAL) implementation.

What is stored, so that any root or proof up to the current size is O(log n) reads:

- every entry, by leaf index (plus an optional unique idempotency key);
- the hash of every *perfect aligned subtree* (level L, index i covers leaves
  [i * 2^L, (i+1) * 2^L)), written once when complete and never changed;
- every signed checkpoint, by tree size.

A batch (its entries, its new subtree hashes and its checkpoint) is one transaction: after a
crash it is wholly in or wholly out.
"""

from __future__ import annotations

import abc
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import StorageError, storage_boundary

NodeId = tuple[int, int]  # (level, index)

_LEVEL_SHIFT = 56


def _blob(value: object) -> bytes:
    """A stored value as bytes, whatever SQLite type it was changed to (so a tampered row
    fails its hash check instead of a type check)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return b"" if value is None else str(value).encode()


def _pack(node: NodeId) -> int:
    return (node[0] << _LEVEL_SHIFT) | node[1]


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str


@dataclass(frozen=True, slots=True)
class Batch:
    """One group commit: entries from ``first_index`` on, their subtree hashes, the checkpoint."""

    first_index: int
    entries: Sequence[bytes]
    keys: Sequence[str | None]
    nodes: Sequence[tuple[NodeId, bytes]]
    checkpoint: StoredCheckpoint


class LogStore(abc.ABC):
    """The durable half of the log. Implementations must make ``commit`` atomic and durable.

    Only the sequencer thread writes; readers may call from any thread.
    """

    @abc.abstractmethod
    def size(self) -> int:
        """Number of durable entries."""

    @abc.abstractmethod
    def commit(self, batch: Batch) -> None:
        """Write a whole batch atomically and durably, or raise StorageError and write nothing."""

    @abc.abstractmethod
    def nodes(self, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
        """Hashes of the requested perfect subtrees (missing ones are absent from the result)."""

    @abc.abstractmethod
    def entry(self, index: int) -> bytes:
        """The entry at ``index``; StorageError if absent."""

    @abc.abstractmethod
    def entries(self, start: int, end: int) -> list[bytes]:
        """Entries with index in [start, end), in order (fewer if the log is shorter)."""

    @abc.abstractmethod
    def index_for_key(self, key: str) -> int | None:
        """Leaf index of the entry appended with idempotency ``key``, if any."""

    def indexes_for_keys(self, keys: Sequence[str]) -> dict[str, int]:
        """Leaf indexes of those ``keys`` already used (default: one lookup each)."""
        found = {}
        for key in keys:
            index = self.index_for_key(key)
            if index is not None:
                found[key] = index
        return found

    @abc.abstractmethod
    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        """The checkpoint for ``size`` (latest if None), or None."""

    @abc.abstractmethod
    def checkpoint_sizes(self, after: int = -1, limit: int = 1000) -> list[int]:
        """Sizes of stored checkpoints greater than ``after``, ascending."""

    def checkpoints(self, after: int = -1, limit: int = 1000) -> list[StoredCheckpoint]:
        """Stored checkpoints of size greater than ``after``, ascending (for streaming)."""
        found = (self.checkpoint(size) for size in self.checkpoint_sizes(after, limit))
        return [cp for cp in found if cp is not None]

    def entry_rows(self, start: int, end: int) -> list[tuple[int, bytes]]:
        """``(index, entry)`` for indexes in [start, end), ascending, gaps left out.

        The default cannot see gaps; stores that can should override it, so integrity
        checks name the first missing index.
        """
        return list(enumerate(self.entries(start, end), start))

    def node_range(self, level: int, first: int, last: int) -> dict[int, bytes]:
        """Stored hashes of subtrees ``(level, i)`` for ``first <= i <= last``, by ``i``."""
        found = self.nodes((level, i) for i in range(first, last + 1))
        return {node[1]: digest for node, digest in found.items()}

    def node_count(self) -> int | None:
        """How many subtree hashes are stored (None if the store cannot say cheaply)."""
        return None

    def sidecar(self, suffix: str) -> Path | None:
        """Path of a file kept beside the store (None for in-memory stores): the signer's
        history and the verified-up-to marker live there, outside the log's own tables."""
        return None

    @abc.abstractmethod
    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS leaves (
    idx INTEGER PRIMARY KEY,
    entry BLOB NOT NULL,
    key TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS leaves_key ON leaves(key) WHERE key IS NOT NULL;
CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL
);
"""


@storage_boundary(StorageError)
class SQLiteStore(LogStore):
    """SQLite in WAL mode with ``synchronous=FULL``: a commit returns only once durable."""

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self._conn().executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open log database {self.path}: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={self._synchronous}")
                conn.execute("PRAGMA busy_timeout=10000")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot open log database {self.path}: {exc}") from exc
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def size(self) -> int:
        row = self._conn().execute("SELECT MAX(idx) FROM leaves").fetchone()
        return 0 if row[0] is None else row[0] + 1

    def commit(self, batch: Batch) -> None:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO leaves(idx, entry, key) VALUES (?, ?, ?)",
                zip(
                    range(batch.first_index, batch.first_index + len(batch.entries)),
                    batch.entries,
                    batch.keys,
                    strict=True,
                ),
            )
            conn.executemany(
                "INSERT INTO nodes(id, hash) VALUES (?, ?)",
                ((_pack(node), digest) for node, digest in batch.nodes),
            )
            cp = batch.checkpoint
            conn.execute(
                "INSERT INTO checkpoints(size, root, note) VALUES (?, ?, ?)",
                (cp.size, cp.root, cp.note),
            )
            conn.execute("COMMIT")
        except Exception as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise StorageError(f"log batch commit failed: {exc}") from exc

    def probe(self) -> None:
        """Prove the database takes a durable write again (after e.g. disk full); no log data
        is touched: a scratch row is written and deleted in one committed transaction."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE IF NOT EXISTS write_probe (x BLOB)")
            conn.execute("INSERT INTO write_probe VALUES (randomblob(16384))")
            conn.execute("DELETE FROM write_probe")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise StorageError(f"log store write probe failed: {exc}") from exc

    def nodes(self, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
        wanted = {_pack(node): node for node in ids}
        if not wanted:
            return {}
        conn = self._conn()
        out: dict[NodeId, bytes] = {}
        keys = list(wanted)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for packed, digest in conn.execute(
                f"SELECT id, hash FROM nodes WHERE id IN ({marks})",  # noqa: S608 - only ?s
                chunk,
            ):
                out[wanted[packed]] = digest
        return out

    def entry(self, index: int) -> bytes:
        row = self._conn().execute("SELECT entry FROM leaves WHERE idx = ?", (index,)).fetchone()
        if row is None:
            raise StorageError(f"no log entry at index {index}")
        entry: bytes = row[0]
        return entry

    def entries(self, start: int, end: int) -> list[bytes]:
        rows = self._conn().execute(
            "SELECT entry FROM leaves WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
        )
        return [bytes(r[0]) for r in rows]

    def indexes_for_keys(self, keys: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        conn = self._conn()
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            found.update(
                conn.execute(
                    f"SELECT key, idx FROM leaves WHERE key IN ({marks})",  # noqa: S608 - only ?s
                    chunk,
                ).fetchall()
            )
        return found

    def index_for_key(self, key: str) -> int | None:
        row = self._conn().execute("SELECT idx FROM leaves WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        conn = self._conn()
        if size is None:
            row = conn.execute(
                "SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1"
            ).fetchone()
        else:
            row = conn.execute(
                "SELECT size, root, note FROM checkpoints WHERE size = ?", (size,)
            ).fetchone()
        return None if row is None else StoredCheckpoint(row[0], bytes(row[1]), row[2])

    def checkpoint_sizes(self, after: int = -1, limit: int = 1000) -> list[int]:
        rows = self._conn().execute(
            "SELECT size FROM checkpoints WHERE size > ? ORDER BY size LIMIT ?", (after, limit)
        )
        return [r[0] for r in rows]

    def checkpoints(self, after: int = -1, limit: int = 1000) -> list[StoredCheckpoint]:
        rows = self._conn().execute(
            "SELECT size, root, note FROM checkpoints WHERE size > ? ORDER BY size LIMIT ?",
            (after, limit),
        )
        return [StoredCheckpoint(r[0], bytes(r[1]), r[2]) for r in rows]

    def entry_rows(self, start: int, end: int) -> list[tuple[int, bytes]]:
        rows = self._conn().execute(
            "SELECT idx, entry FROM leaves WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
        )
        return [(r[0], _blob(r[1])) for r in rows]

    def node_range(self, level: int, first: int, last: int) -> dict[int, bytes]:
        low = _pack((level, first))
        rows = self._conn().execute(
            "SELECT id, hash FROM nodes WHERE id >= ? AND id <= ?", (low, _pack((level, last)))
        )
        return {packed - (level << _LEVEL_SHIFT): _blob(digest) for packed, digest in rows}

    def node_count(self) -> int | None:
        count: int = self._conn().execute("SELECT COUNT(*) FROM nodes").fetchone()[0]
        return count

    def sidecar(self, suffix: str) -> Path | None:
        if self.path == ":memory:" or self.path.startswith("file:"):
            return None
        return Path(self.path + suffix)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()
