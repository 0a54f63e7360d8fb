"""The replay guard on PostgreSQL: the same claims as :class:`~gateway.identity.replay.ReplayGuard`
(see that module), in the table ``seen_assertions`` of a shared database, so front ends on
several hosts accept each (issuer, assertion id) once.

The INSERT decides, as on SQLite: ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired``
changes one row (a new claim, or the takeover of an expired one) or none (a replay).
PostgreSQL makes the second of two concurrent inserts of one key wait for the first to
commit and then take the conflict path, so two front ends never both win. The schema comes
from the versioned migrations of ``gateway.storage``.
"""

from __future__ import annotations

from pathlib import Path

from psycopg_pool import ConnectionPool

from gateway.identity.replay import Claimed, Claims, ReplayGuard
from gateway.storage import PoolSettings, is_postgres_url, migrate, open_pool, pg_boundary

__all__ = ["PgReplayGuard", "open_replay_guard"]

_CLAIM = (
    "INSERT INTO seen_assertions(issuer, assertion_id, recognition_id, first_seen, expires_at)"
    " VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (issuer, assertion_id) DO UPDATE SET recognition_id = excluded.recognition_id,"
    " first_seen = excluded.first_seen, expires_at = excluded.expires_at"
    " WHERE seen_assertions.expires_at <= excluded.first_seen"
)


@pg_boundary
class PgReplayGuard:
    """Claims of accepted assertions in the PostgreSQL database at ``url``. Thread-safe:
    each call borrows a pooled connection; the database arbitrates."""

    def __init__(self, url: str, pool: PoolSettings | None = None) -> None:
        self._pool: ConnectionPool = open_pool(url, pool, name="yrd-replay")
        try:
            with self._pool.connection() as conn:
                migrate(conn)
        except BaseException:
            self._pool.close()
            raise

    def claim(
        self, issuer: str, assertion_id: str, *, recognition_id: str, now: float, expires_at: float
    ) -> Claimed:
        """Claim (issuer, assertion_id) for ``recognition_id`` until ``expires_at``; not ok
        (with the first acceptance time) if another recognition holds it."""
        with self._pool.connection() as conn:
            cur = conn.execute(_CLAIM, (issuer, assertion_id, recognition_id, now, expires_at))
            if cur.rowcount == 1:
                return Claimed(True)
            row = conn.execute(
                "SELECT first_seen FROM seen_assertions WHERE issuer = %s AND assertion_id = %s",
                (issuer, assertion_id),
            ).fetchone()
        return Claimed(False, float(row[0]) if row else None)

    def release(self, issuer: str, assertion_id: str, *, recognition_id: str) -> bool:
        """Drop the claim made by ``recognition_id`` (and only that one); True if dropped."""
        with self._pool.connection() as conn:
            cur = conn.execute(
                "DELETE FROM seen_assertions WHERE issuer = %s AND assertion_id = %s"
                " AND recognition_id = %s",
                (issuer, assertion_id, recognition_id),
            )
            return cur.rowcount == 1

    def purge(self, now: float) -> int:
        """Delete the claims that expired before ``now``; how many."""
        with self._pool.connection() as conn:
            return conn.execute(
                "DELETE FROM seen_assertions WHERE expires_at < %s", (now,)
            ).rowcount

    def count(self) -> int:
        """Claims held (expired ones not yet purged included)."""
        with self._pool.connection() as conn:
            row = conn.execute("SELECT COUNT(*) FROM seen_assertions").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._pool.close()


def open_replay_guard(database: str | Path, pool: PoolSettings | None = None) -> Claims:
    """The replay guard for ``database``: PostgreSQL for a ``postgresql://`` URL, else the
    SQLite file at that path (the one-machine default)."""
    if is_postgres_url(database):
        return PgReplayGuard(str(database), pool)
    return ReplayGuard(database)
