"""The gateway's PostgreSQL storage groundwork: a connection pool from a ``postgresql://``
URL and versioned schema migrations (plain SQL files, applied in order and recorded).

SQLite stays the embedded default for one machine; a store that runs on PostgreSQL opens
its pool with :func:`open_pool` and brings the schema up to date with :func:`migrate`
before its first statement. See docs/operations.md, "Several front ends on PostgreSQL".
"""

from __future__ import annotations

from gateway.storage.migrations import (
    MIGRATIONS_DIR,
    Migration,
    MigrationError,
    load,
    migrate,
    pending,
)
from gateway.storage.pool import PoolSettings, is_postgres_url, open_pool, pg_boundary

__all__ = [
    "MIGRATIONS_DIR",
    "Migration",
    "MigrationError",
    "PoolSettings",
    "is_postgres_url",
    "load",
    "migrate",
    "open_pool",
    "pending",
    "pg_boundary",
]
