"""A psycopg 3 connection pool from a ``postgresql://`` URL, with a size and timeouts, and
the boundary that turns the driver's errors into the gateway's :class:`StorageError`.

Connections are in autocommit mode: a store's single statements decide by themselves (an
``INSERT ... ON CONFLICT``), and a store that needs several statements at once opens
``conn.transaction()`` explicitly.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import ConnectionPool

from gateway.errors import ConfigError, StorageError

__all__ = ["PoolSettings", "is_postgres_url", "open_pool", "pg_boundary", "redacted_url"]

_C = TypeVar("_C", bound=type)


def is_postgres_url(database: object) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL; a path means SQLite."""
    return isinstance(database, str) and database.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class PoolSettings:
    """Pool size and timeouts. ``timeout``: how long a caller waits for a free connection
    before a :class:`StorageError`; ``connect_timeout``: one connection attempt;
    ``statement_timeout``: the server ends a statement running longer (0 = no limit)."""

    min_size: int = 1
    max_size: int = 8
    timeout: float = 10.0
    connect_timeout: float = 5.0
    statement_timeout: float = 30.0


def redacted_url(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def open_pool(
    url: str, settings: PoolSettings | None = None, *, name: str = "yrd"
) -> ConnectionPool:
    """Open a pool on ``url`` and wait (at most ``settings.timeout``) for its first
    connection, so a wrong URL or a server that is down fails here, named, not later."""
    if not is_postgres_url(url):
        raise ConfigError(f"database url: not a postgresql:// url: {redacted_url(url)[:80]}")
    s = settings or PoolSettings()
    if not 1 <= s.min_size <= s.max_size:
        raise ConfigError(f"database pool: need 1 <= min_size <= max_size, got {s}")
    options = f"-c statement_timeout={int(s.statement_timeout * 1000)}"
    pool = ConnectionPool(
        url,
        min_size=s.min_size,
        max_size=s.max_size,
        timeout=s.timeout,
        name=name,
        open=False,
        kwargs={
            "autocommit": True,
            "connect_timeout": max(1, round(s.connect_timeout)),
            "options": options,
            "application_name": name,
        },
    )
    try:
        pool.open(wait=True, timeout=s.timeout)
    except psycopg.Error as exc:  # PoolTimeout is one
        pool.close(timeout=1)
        raise StorageError(
            f"database pool: no connection to {redacted_url(url)} within {s.timeout} s: {exc}"
        ) from exc
    return pool


def pg_boundary(cls: _C) -> _C:
    """Class decorator for a PostgreSQL store: its constructor and public methods raise
    :class:`StorageError` ``from`` any ``psycopg.Error`` (pool timeouts included), as
    ``storage_boundary`` does for ``sqlite3.Error``."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def translated(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except psycopg.Error as exc:
                raise StorageError(f"{method.__name__}: database error: {exc}") from exc

        return translated

    for name, member in list(vars(cls).items()):
        if (name == "__init__" or not name.startswith("_")) and inspect.isfunction(member):
            setattr(cls, name, wrap(member))
    return cls
