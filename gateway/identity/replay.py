"""Replay protection for province assertions: each (issuer, assertion id) is accepted once.

The claims live in the gateway's SQLite database (``gateway.db``), in the table
``seen_assertions`` whose PRIMARY KEY is ``(issuer, assertion_id)``. The INSERT itself decides
who wins, so two threads or two front-end processes on one database file cannot both accept
one assertion (no in-process set, no read-then-write). A row lives until the assertion's
``not_after + leeway``, when no gateway would accept the assertion anyway, and is purged
after that by the gateway's purge cycle. A row past its expiry that was not yet purged is
taken over by a new claim (an issuer reusing an id after expiry), in the same statement.

A claim names the recognition that made it, so :meth:`ReplayGuard.release` (the log could
not commit the recognition) removes only its own claim: a transient failure does not burn
the assertion.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from gateway.encoding import format_time
from gateway.errors import storage_boundary

__all__ = ["SCHEMA", "Claimed", "Claims", "ReplayGuard"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_assertions (
    issuer TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    recognition_id TEXT NOT NULL,
    first_seen REAL NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (issuer, assertion_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_assertions_expiry ON seen_assertions(expires_at);
"""

# One statement: a new row, or the takeover of an expired one; zero rows changed = replay.
_CLAIM = (
    "INSERT INTO seen_assertions(issuer, assertion_id, recognition_id, first_seen, expires_at)"
    " VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT(issuer, assertion_id) DO UPDATE SET recognition_id = excluded.recognition_id,"
    " first_seen = excluded.first_seen, expires_at = excluded.expires_at"
    " WHERE seen_assertions.expires_at <= excluded.first_seen"
)


@dataclass(frozen=True)
class Claimed:
    """The outcome of a claim: ``ok``, or the time the assertion was first accepted."""

    ok: bool
    first_seen: float | None = None

    @property
    def first_seen_text(self) -> str:
        """When the assertion was first accepted, as UTC text (``unknown`` if not known)."""
        if self.first_seen is None:
            return "unknown"
        return format_time(datetime.fromtimestamp(self.first_seen, UTC))


class Claims(Protocol):
    """What the identity service needs of a replay guard: :class:`ReplayGuard` (SQLite) and
    ``gateway.identity.replay_pg.PgReplayGuard`` (PostgreSQL) both are one."""

    def claim(
        self, issuer: str, assertion_id: str, *, recognition_id: str, now: float, expires_at: float
    ) -> Claimed: ...

    def release(self, issuer: str, assertion_id: str, *, recognition_id: str) -> bool: ...

    def purge(self, now: float) -> int: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


@storage_boundary
class ReplayGuard:
    """Claims of accepted assertions in ``path`` (the gateway's database); see the module
    docstring. Thread-safe: one connection per thread, the database arbitrates."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._conn().executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=10000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def claim(
        self, issuer: str, assertion_id: str, *, recognition_id: str, now: float, expires_at: float
    ) -> Claimed:
        """Claim (issuer, assertion_id) for ``recognition_id`` until ``expires_at``; not ok
        (with the first acceptance time) if another recognition holds it."""
        conn = self._conn()
        changed = conn.execute(
            _CLAIM, (issuer, assertion_id, recognition_id, now, expires_at)
        ).rowcount
        if changed == 1:
            return Claimed(True)
        row = conn.execute(
            "SELECT first_seen FROM seen_assertions WHERE issuer = ? AND assertion_id = ?",
            (issuer, assertion_id),
        ).fetchone()
        return Claimed(False, row[0] if row else None)

    def release(self, issuer: str, assertion_id: str, *, recognition_id: str) -> bool:
        """Drop the claim made by ``recognition_id`` (and only that one); True if dropped."""
        cur = self._conn().execute(
            "DELETE FROM seen_assertions WHERE issuer = ? AND assertion_id = ?"
            " AND recognition_id = ?",
            (issuer, assertion_id, recognition_id),
        )
        return cur.rowcount == 1

    def purge(self, now: float) -> int:
        """Delete the claims that expired before ``now``; how many."""
        cur = self._conn().execute("DELETE FROM seen_assertions WHERE expires_at < ?", (now,))
        return cur.rowcount

    def count(self) -> int:
        """Claims held (expired ones not yet purged included)."""
        return int(self._conn().execute("SELECT COUNT(*) FROM seen_assertions").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
