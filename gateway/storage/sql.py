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
says :meth:`SqlConnection.begin` / :meth:`~SqlConnection.commit` itself. ``connect(...,
named_rows=True)`` gives rows read by position or by column name on both (``sqlite3.Row``,
:class:`Row`), for a store written against ``row["column"]``.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from gateway.storage.pool import is_postgres_url

__all__ = ["Row", "SqlConnection", "ThreadConnections", "connect", "for_postgres"]

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


class Row(Sequence[Any]):
    """A PostgreSQL result row read like ``sqlite3.Row``: by position, by column name
    (case-insensitive, the first column of that name) and as a mapping (``dict(row)``)."""

    __slots__ = ("_index", "_names", "_values")

    def __init__(self, names: tuple[str, ...], index: dict[str, int], values: Sequence[Any]):
        self._names = names
        self._index = index
        self._values = tuple(values)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._index[key.lower()]]
            except KeyError:
                raise IndexError(f"no column named {key!r}") from None
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._names == other._names and self._values == other._values
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._names, self._values))

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._names, self._values, strict=True))!r})"

    def keys(self) -> list[str]:
        return list(self._names)


def _named_rows(cursor: Any) -> Callable[[Sequence[Any]], Any]:
    """psycopg row factory making :class:`Row` s (sqlite3.Row's interface)."""
    names = tuple(d.name for d in cursor.description or ())
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name.lower(), i)
    return lambda values: Row(names, index, values)


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
        # One statement at a time per connection, and never a close in the middle of one: a
        # store closing every thread's connection at shutdown must not free SQLite's handle
        # under a statement another thread is running (that is a segfault, not an error).
        self._lock = threading.RLock()

    def _sql(self, sql: str) -> str:
        return for_postgres(sql) if self.postgres else sql

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """Run one statement; the driver's cursor (``fetchone``, ``fetchall``, ``rowcount``)."""
        with self._lock:
            cursor = self.raw.execute(self._sql(sql), params)
            if self.postgres:  # psycopg has fetched the whole result already
                return cursor
            return _Result(cursor.fetchall(), cursor.rowcount)  # no step after the lock

    def executemany(self, sql: str, rows: Iterable[Sequence[Any] | dict[str, Any]]) -> None:
        with self._lock:
            if self.postgres:
                with self.raw.cursor() as cur:
                    cur.executemany(self._sql(sql), list(rows))
            else:
                self.raw.executemany(sql, rows)

    def begin(self) -> None:
        """Start a write transaction (SQLite takes the write lock at once: IMMEDIATE)."""
        with self._lock:
            self.raw.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")

    def commit(self) -> None:
        with self._lock:
            self.raw.execute("COMMIT")

    def rollback(self) -> None:
        """Roll back the open transaction, if any; never raises (it runs after an error)."""
        try:
            with self._lock:
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
            with self._lock:
                self.raw.close()
        except self.errors:
            pass


class _Result:
    """A SQLite statement's rows, read to the end inside the connection's lock: what the
    stores use of a cursor (``fetchone``, ``fetchall``, iteration, ``rowcount``)."""

    __slots__ = ("_next", "_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Any]:
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


def connect(
    database: str | Path, *, statement_timeout: float = 30.0, named_rows: bool = False
) -> SqlConnection:
    """A connection to ``database``: a ``postgresql://`` URL, else the path of a SQLite
    file (WAL, ``synchronous=FULL``, a 10 s busy timeout). ``named_rows``: rows are
    ``sqlite3.Row`` / :class:`Row` (by position or column name), else plain tuples."""
    if is_postgres_url(database):
        import psycopg

        raw = psycopg.connect(
            str(database),
            autocommit=True,
            connect_timeout=5,
            options=f"-c statement_timeout={int(statement_timeout * 1000)}",
            application_name="yrd-gateway",
        )
        if named_rows:
            raw.row_factory = _named_rows  # type: ignore[assignment]
        return SqlConnection(raw, "postgresql")
    conn = sqlite3.connect(str(database), isolation_level=None, check_same_thread=False)
    if named_rows:
        conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    sql = SqlConnection(conn, "sqlite")
    sql._durable = True
    return sql


class ThreadConnections:
    """One connection to ``database`` per thread, all closed at once: how the stores share a
    database between the loop's worker threads (neither a SQLite connection in a
    transaction nor a psycopg one may be used by two threads at once). ``setup`` runs once on
    each new connection (a SQLite pragma, say)."""

    def __init__(
        self,
        database: str | Path,
        *,
        named_rows: bool = False,
        setup: Callable[[SqlConnection], None] | None = None,
    ) -> None:
        self.database, self.named_rows, self.setup = str(database), named_rows, setup
        self._local = threading.local()
        self._all: list[SqlConnection] = []
        self._lock = threading.Lock()

    def get(self) -> SqlConnection:
        """This thread's connection, opened on first use."""
        conn: SqlConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.database, named_rows=self.named_rows)
            if self.setup is not None:
                self.setup(conn)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every thread's connection (a thread asking again gets a new one)."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
