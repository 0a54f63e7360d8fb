"""Durable record of the anchorer's work: one row per anchor attempt of one checkpoint.

A row is created ``pending`` when the anchorer picks a checkpoint, and ends ``confirmed``
(the chain recorded it), ``failed`` (the chain can never record it, e.g. a larger size was
anchored first) or ``lost`` (it was confirmed, but the chain no longer has it: an embedded
chain or a development node that restarted empty; the checkpoint is then re-anchored as a new
row). The file is SQLite in WAL mode with ``synchronous=FULL``, separate from the log's, so
anchoring never takes a lock the sequencer needs.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from ledger.errors import StorageError, storage_boundary

__all__ = ["AnchorRow", "AnchorStore", "last_confirmed"]

PENDING, CONFIRMED, FAILED, LOST = "pending", "confirmed", "failed", "lost"
STATUSES = (PENDING, CONFIRMED, FAILED, LOST)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS anchors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    tree_size INTEGER NOT NULL,
    root BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'failed', 'lost')),
    chain_id INTEGER,
    contract TEXT,
    tx_hash TEXT,
    block_number INTEGER,
    block_time INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL NOT NULL,
    sent_at REAL,
    confirmed_at REAL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS anchors_origin_status_size ON anchors(origin, status, tree_size);
"""

_COLUMNS = (
    "id, origin, tree_size, root, status, chain_id, contract, tx_hash, block_number, "
    "block_time, attempts, last_error, created_at, sent_at, confirmed_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class AnchorRow:
    """One anchor of ``origin``'s checkpoint ``(tree_size, root)`` and where it stands.

    ``chain_id``, ``contract`` and ``tx_hash`` are those of the last transaction sent;
    ``block_number`` and ``block_time`` are set once confirmed. Times are Unix seconds.
    """

    id: int
    origin: str
    tree_size: int
    root: bytes
    status: str
    chain_id: int | None
    contract: str | None
    tx_hash: str | None
    block_number: int | None
    block_time: int | None
    attempts: int
    last_error: str | None
    created_at: float
    sent_at: float | None
    confirmed_at: float | None
    updated_at: float

    @property
    def confirmed(self) -> bool:
        return self.status == CONFIRMED


def _row(values: tuple[Any, ...]) -> AnchorRow:
    fields = list(values)
    fields[3] = bytes(fields[3])
    return AnchorRow(*fields)


@storage_boundary(StorageError)
class AnchorStore:
    """The ``anchors`` table. Thread-safe (one connection behind a lock; traffic is tiny)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA busy_timeout=10000")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open anchor database {self.path}: {exc}") from exc

    # -- writes ------------------------------------------------------------------------------

    def add(self, origin: str, tree_size: int, root: bytes, now: float) -> AnchorRow:
        """Insert a pending row for checkpoint ``(tree_size, root)``."""
        cur = self._write(
            "INSERT INTO anchors(origin, tree_size, root, status, created_at, updated_at) "
            "VALUES (?, ?, ?, 'pending', ?, ?)",
            (origin, tree_size, bytes(root), now, now),
        )
        return self.get(cast(int, cur.lastrowid))  # an INSERT always sets it

    def sent(
        self, row_id: int, chain_id: int | None, contract: str, tx_hash: str, now: float
    ) -> None:
        """A transaction for the row was accepted by a node."""
        self._write(
            "UPDATE anchors SET chain_id = ?, contract = ?, tx_hash = ?, sent_at = ?, "
            "updated_at = ? WHERE id = ?",
            (chain_id, contract, tx_hash, now, now, row_id),
        )

    def attempted(self, row_id: int, error: str | None, now: float) -> None:
        """One more attempt (send or check) was made; ``error`` says why it did not finish."""
        self._write(
            "UPDATE anchors SET attempts = attempts + 1, last_error = ?, updated_at = ? "
            "WHERE id = ?",
            (error, now, row_id),
        )

    def confirm(
        self,
        row_id: int,
        *,
        chain_id: int | None,
        contract: str | None,
        tx_hash: str | None,
        block_number: int,
        block_time: int,
        now: float,
    ) -> None:
        self._write(
            "UPDATE anchors SET status = 'confirmed', chain_id = ?, contract = ?, "
            "tx_hash = COALESCE(?, tx_hash), block_number = ?, block_time = ?, "
            "confirmed_at = ?, last_error = NULL, updated_at = ? WHERE id = ?",
            (chain_id, contract, tx_hash, block_number, block_time, now, now, row_id),
        )

    def fail(self, row_id: int, error: str, now: float) -> None:
        self._write(
            "UPDATE anchors SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?",
            (error, now, row_id),
        )

    def replace_lost(self, origin: str, error: str, now: float) -> AnchorRow | None:
        """The chain lost ``origin``'s anchors: mark every confirmed row ``lost`` and add a
        pending row re-anchoring the largest of them, in one transaction. Returns the new row
        (None if nothing was confirmed)."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                latest = self._conn.execute(
                    "SELECT tree_size, root FROM anchors WHERE origin = ? AND status = "
                    "'confirmed' ORDER BY tree_size DESC LIMIT 1",
                    (origin,),
                ).fetchone()
                new_id = None
                if latest is not None:
                    self._conn.execute(
                        "UPDATE anchors SET status = 'lost', last_error = ?, updated_at = ? "
                        "WHERE origin = ? AND status = 'confirmed'",
                        (error, now, origin),
                    )
                    new_id = self._conn.execute(
                        "INSERT INTO anchors(origin, tree_size, root, status, created_at, "
                        "updated_at) VALUES (?, ?, ?, 'pending', ?, ?)",
                        (origin, latest[0], latest[1], now, now),
                    ).lastrowid
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                try:
                    self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise StorageError(f"anchor database write failed: {exc}") from exc
        return None if new_id is None else self.get(new_id)

    # -- reads -------------------------------------------------------------------------------

    def get(self, row_id: int) -> AnchorRow:
        rows = self._read(f"SELECT {_COLUMNS} FROM anchors WHERE id = ?", (row_id,))  # noqa: S608
        if not rows:
            raise StorageError(f"no anchor row {row_id}")
        return rows[0]

    def rows(
        self, origin: str, from_size: int = 0, statuses: tuple[str, ...] = STATUSES
    ) -> list[AnchorRow]:
        """Rows of ``origin`` with ``tree_size >= from_size``, by tree size then id."""
        marks = ",".join("?" * len(statuses))
        return self._read(
            f"SELECT {_COLUMNS} FROM anchors WHERE origin = ? AND tree_size >= ? "  # noqa: S608
            f"AND status IN ({marks}) ORDER BY tree_size, id",
            (origin, from_size, *statuses),
        )

    def pending(self, origin: str) -> list[AnchorRow]:
        """Pending rows of ``origin`` in the order they must be sent (ascending size)."""
        return self.rows(origin, 0, (PENDING,))

    def latest_confirmed(self, origin: str) -> AnchorRow | None:
        rows = self._read(
            f"SELECT {_COLUMNS} FROM anchors WHERE origin = ? AND status = 'confirmed' "  # noqa: S608
            "ORDER BY tree_size DESC, id DESC LIMIT 1",
            (origin,),
        )
        return rows[0] if rows else None

    def covering(self, origin: str, tree_size: int) -> AnchorRow | None:
        """The confirmed row of smallest size ``>= tree_size``."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM anchors WHERE origin = ? AND status = 'confirmed' "  # noqa: S608
            "AND tree_size >= ? ORDER BY tree_size, id DESC LIMIT 1",
            (origin, tree_size),
        )
        return rows[0] if rows else None

    def latest_any(self, origin: str) -> AnchorRow | None:
        """The most recently created row of ``origin``, whatever its status."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM anchors WHERE origin = ? ORDER BY id DESC LIMIT 1",  # noqa: S608
            (origin,),
        )
        return rows[0] if rows else None

    def count(self, origin: str, status: str) -> int:
        with self._lock:
            try:
                count: int = self._conn.execute(
                    "SELECT COUNT(*) FROM anchors WHERE origin = ? AND status = ?",
                    (origin, status),
                ).fetchone()[0]
                return count
            except sqlite3.Error as exc:
                raise StorageError(f"anchor database read failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- helpers -----------------------------------------------------------------------------

    def _write(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._conn.execute(sql, params)
            except sqlite3.Error as exc:
                raise StorageError(f"anchor database write failed: {exc}") from exc

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[AnchorRow]:
        with self._lock:
            try:
                return [_row(r) for r in self._conn.execute(sql, params).fetchall()]
            except sqlite3.Error as exc:
                raise StorageError(f"anchor database read failed: {exc}") from exc


def last_confirmed(path: str | Path, origin: str) -> tuple[int, bytes] | None:
    """``(tree_size, root)`` of ``origin``'s largest anchor ever confirmed (``lost`` rows
    included: a chain that forgot an anchor does not unsay it) in the file at ``path``.

    Read-only: a missing file means nothing was anchored (None); it is not created. Used at
    the log's open, so the log never starts behind, or different from, what it anchored.
    """
    target = Path(path)
    if not target.exists():
        return None
    try:
        conn = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute(
                "SELECT tree_size, root FROM anchors WHERE origin = ? "
                "AND status IN ('confirmed', 'lost') ORDER BY tree_size DESC, id DESC LIMIT 1",
                (origin,),
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read anchor database {target}: {exc}") from exc
    return None if row is None else (int(row[0]), bytes(row[1]))
