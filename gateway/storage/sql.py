"""One database connection, SQLite or PostgreSQL, speaking the SQL the stores are written in.

The gateway's stores write each statement once, in the SQL both databases share, with
SQLite's placeholders (``?`` and ``:name``). For PostgreSQL :func:`for_postgres` rewrites
the placeholders (``%s``, ``%(name)s``) and the one SQLite-only phrase the stores use,
``INSERT OR IGNORE`` (to ``INSERT ... ON CONFLICT DO NOTHING``). A table read in insertion
order has an explicit ``rowid BIGSERIAL`` column on PostgreSQL, which SQLite has implicitly,
so ``ORDER BY rowid`` means the same on both. Schemas are per backend: SQLite's in the store
(``CREATE TABLE IF NOT EXISTS``), PostgreSQL's in the versioned migrations
(``gateway/storage/schema/``).

Connections are in autocommit mode on both; a store that needs several statements at once
says :meth:`SqlConnection.begin` / :meth:`~SqlConnection.commit` itself.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from gateway.storage.pool import is_postgres_url

__all__ = ["SqlConnection", "connect", "for_postgres"]

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)


@functools.lru_cache(maxsize=512)
def for_postgres(sql: str) -> str:
    """``sql`` (SQLite's placeholders and phrases) as PostgreSQL takes it through psycopg."""
    text = sql.replace("%", "%%").replace("?", "%s")
    text = _NAMED.sub(r"%(\1)s", text)
    if _OR_IGNORE.match(text):
        text = _OR_IGNORE.sub("INSERT INTO", text, count=1)
        head, sep, tail = text.partition(" RETURNING ")
        text = f"{head} ON CONFLICT DO NOTHING{sep}{tail}"
    return text


class SqlConnection:
    """A DB-API connection of either backend (autocommit), taking the stores' SQL.

    ``errors`` and ``integrity_errors`` are the driver's exception classes, for a caller
    that must tell a refused row from a broken database."""

    def __init__(self, raw: Any, kind: str) -> None:
        self.raw = raw
        self.kind = kind
        self.postgres = kind == "postgresql"
        if self.postgres:
            import psycopg

            self.errors: tuple[type[BaseException], ...] = (psycopg.Error,)
            self.integrity_errors: tuple[type[BaseException], ...] = (
                psycopg.errors.IntegrityError,
            )
        else:
            self.errors = (sqlite3.Error,)
            self.integrity_errors = (sqlite3.IntegrityError,)
        self._durable: bool | None = None

    def _sql(self, sql: str) -> str:
        return for_postgres(sql) if self.postgres else sql

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """Run one statement; the driver's cursor (``fetchone``, ``fetchall``, ``rowcount``)."""
        return self.raw.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any] | dict[str, Any]]) -> None:
        if self.postgres:
            with self.raw.cursor() as cur:
                cur.executemany(self._sql(sql), list(rows))
        else:
            self.raw.executemany(sql, rows)

    def begin(self) -> None:
        """Start a write transaction (SQLite takes the write lock at once: IMMEDIATE)."""
        self.raw.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        """Roll back the open transaction, if any; never raises (it runs after an error)."""
        try:
            self.raw.execute("ROLLBACK")
        except self.errors:
            pass

    def durable(self, full: bool) -> None:
        """Whether the following commits wait for the disk (SQLite ``synchronous`` FULL or
        NORMAL in WAL mode; PostgreSQL ``synchronous_commit`` on or off). Either way a
        commit is atomic and ordered; only the last ones may be lost to a power cut."""
        if full == self._durable:
            return
        if self.postgres:
            self.raw.execute(f"SET synchronous_commit TO {'on' if full else 'off'}")
        else:
            self.raw.execute(f"PRAGMA synchronous={'FULL' if full else 'NORMAL'}")
        self._durable = full

    def close(self) -> None:
        try:
            self.raw.close()
        except self.errors:
            pass


def connect(database: str | Path, *, statement_timeout: float = 30.0) -> SqlConnection:
    """A connection to ``database``: a ``postgresql://`` URL, else the path of a SQLite
    file (WAL, ``synchronous=FULL``, a 10 s busy timeout)."""
    if is_postgres_url(database):
        import psycopg

        raw = psycopg.connect(
            str(database),
            autocommit=True,
            connect_timeout=5,
            options=f"-c statement_timeout={int(statement_timeout * 1000)}",
            application_name="yrd-gateway",
        )
        return SqlConnection(raw, "postgresql")
    conn = sqlite3.connect(str(database), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    sql = SqlConnection(conn, "sqlite")
    sql._durable = True
    return sql
