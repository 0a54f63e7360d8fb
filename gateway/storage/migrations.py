"""Versioned schema migrations for PostgreSQL: plain SQL files ``NNNN_name.sql`` in
``gateway/storage/schema/``, applied in version order in one transaction, each file with its
row in ``schema_migrations`` (version, name, SM3 of the file, applied_at): all or nothing.

The runner itself is :class:`ledger.pg.migrations.Migrator` (the ledger has its own
migrations and may not import the gateway); this module is its gateway instance: its
directory, its lock id, its record table and its error class.

Several front ends may start at once: the whole run holds a transaction-level advisory lock,
so exactly one applies a migration and the others then see it recorded. An applied file that
has changed since (its SM3 differs), a recorded version whose file is gone, or two files
with one version are refused with :class:`MigrationError` before anything is applied: a
schema is never silently different from the files that describe it.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from gateway.errors import StorageError
from ledger.pg.migrations import Migration, Migrator

__all__ = ["MIGRATIONS_DIR", "Migration", "MigrationError", "load", "migrate", "pending"]

MIGRATIONS_DIR = Path(__file__).with_name("schema")

# One lock id for every migrating process of every deployment on this database ("yrdmigr").
_LOCK = 0x7972646D69677272


class MigrationError(StorageError):
    """The migration files and the database's record of them disagree (see the module)."""


_RUNNER = Migrator(MIGRATIONS_DIR, _LOCK, "schema_migrations", MigrationError)


def load(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in ``directory`` by version; a stray ``.sql`` name or a version used
    twice is a :class:`MigrationError`."""
    return _RUNNER.load(directory)


def pending(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations ``migrate`` would apply now (checks the applied ones as it does)."""
    return _RUNNER.pending(conn, directory)


def migrate(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply the pending migrations of ``directory`` in order, each recorded in the same
    transaction; the ones applied (empty if the schema was up to date). ``conn`` must be in
    autocommit mode (no transaction of the caller's open)."""
    return _RUNNER.migrate(conn, directory)
