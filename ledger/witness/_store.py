"""The witness's durable state: one SQLite file, ``witness.db`` in the data directory.

Per origin the latest cosigned checkpoint, the history of every (size, root) ever cosigned,
and the evidence documents recorded. WAL with ``synchronous=FULL``: a commit is on disk
before the HTTP 200 that reports it, so a SIGKILL right after cannot let the witness forget
a checkpoint it vouched for. The check-and-update runs in one ``BEGIN IMMEDIATE``
transaction (:meth:`WitnessStore.transaction`), so two concurrent requests can never roll
the state back (the race described in C2SP tlog-witness), and a trigger refuses any update
that would shrink the latest size.

The history rows keep the cosigned note (a few hundred bytes): evidence of a split view
must carry the log-signed checkpoint the witness cosigned earlier, whatever its age.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import StorageError, storage_boundary

__all__ = ["Cosigned", "Transaction", "WitnessStore"]

DB_NAME = "witness.db"
EVIDENCE_LIMIT = 1000
"""Most evidence documents listed at once (the newest); only a log key's holder can make
more, and each one is a conflict worth reading."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    origin TEXT NOT NULL,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL,
    PRIMARY KEY (origin, size)
);
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    document TEXT NOT NULL,
    UNIQUE (origin, kind, size, root)
);
CREATE TRIGGER IF NOT EXISTS latest_never_shrinks BEFORE UPDATE ON latest
WHEN NEW.size < OLD.size
BEGIN
    SELECT RAISE(ABORT, 'witness state must never move backwards');
END;
"""


@dataclass(frozen=True, slots=True)
class Cosigned:
    """A checkpoint the witness cosigned: ``note`` is the log-signed note with the witness's
    cosignature line, ``cosigned_at`` the cosignature's timestamp."""

    origin: str
    size: int
    root: bytes
    note: str
    cosigned_at: int


class Transaction:
    """Reads and writes inside one ``BEGIN IMMEDIATE`` transaction (see the module doc)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def latest(self, origin: str) -> Cosigned | None:
        row = self._conn.execute(
            "SELECT size, root, note, cosigned_at FROM latest WHERE origin = ?", (origin,)
        ).fetchone()
        return None if row is None else Cosigned(origin, row[0], bytes(row[1]), row[2], row[3])

    def cosigned(self, origin: str, size: int) -> Cosigned | None:
        """The checkpoint of ``size`` cosigned for ``origin``, if any (from the history)."""
        row = self._conn.execute(
            "SELECT root, note, cosigned_at FROM history WHERE origin = ? AND size = ?",
            (origin, size),
        ).fetchone()
        return None if row is None else Cosigned(origin, size, bytes(row[0]), row[1], row[2])

    def record_cosigned(self, entry: Cosigned) -> None:
        """Make ``entry`` the latest for its origin and add it to the history. The caller
        has checked it extends the latest; the trigger refuses a smaller size anyway."""
        self._conn.execute(
            "INSERT INTO latest(origin, size, root, note, cosigned_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(origin) DO UPDATE SET size = excluded.size, root = excluded.root, "
            "note = excluded.note, cosigned_at = excluded.cosigned_at",
            (entry.origin, entry.size, entry.root, entry.note, entry.cosigned_at),
        )
        self._conn.execute(
            "INSERT INTO history(origin, size, root, note, cosigned_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(origin, size) DO NOTHING",
            (entry.origin, entry.size, entry.root, entry.note, entry.cosigned_at),
        )

    def record_evidence(
        self, origin: str, kind: str, size: int, root: bytes, document: dict[str, Any]
    ) -> bool:
        """Keep ``document`` unless the same offered checkpoint was already recorded as this
        kind; True if it is new."""
        cur = self._conn.execute(
            "INSERT INTO evidence(origin, kind, size, root, document) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(origin, kind, size, root) DO NOTHING",
            (origin, kind, size, root, json.dumps(document, sort_keys=True)),
        )
        return cur.rowcount == 1


@storage_boundary(StorageError)
class WitnessStore:
    """``DIR/witness.db``. Thread-safe: one connection behind a lock (a request holds it for
    one short transaction); other processes on the same file wait on SQLite's lock."""

    def __init__(self, directory: str | Path) -> None:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path / DB_NAME
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.executescript(_SCHEMA)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One ``BEGIN IMMEDIATE`` transaction: committed (and fsynced) when the block ends,
        rolled back if it raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def latest(self, origin: str) -> Cosigned | None:
        with self._lock:
            return Transaction(self._conn).latest(origin)

    def evidence(self, origin: str | None = None) -> list[dict[str, Any]]:
        """Evidence documents, oldest first (at most :data:`EVIDENCE_LIMIT`, the newest)."""
        where, args = ("WHERE origin = ?", (origin,)) if origin is not None else ("", ())
        with self._lock:
            rows = self._conn.execute(
                f"SELECT document FROM evidence {where} ORDER BY id DESC LIMIT ?",  # noqa: S608
                (*args, EVIDENCE_LIMIT),
            ).fetchall()
        return [json.loads(row[0]) for row in reversed(rows)]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
