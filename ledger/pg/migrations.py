"""Versioned schema migrations for PostgreSQL, for any package: plain SQL files
``NNNN_name.sql`` in one directory, applied in version order in one transaction, each with
its row (version, name, SM3 of the file, applied_at) in a record table: all or nothing.

Several processes may start at once: the whole run holds a transaction-level advisory lock,
so exactly one applies a migration and the others then see it recorded. An applied file that
has changed since (its SM3 differs), a recorded version whose file is gone, or two files
with one version are refused with the caller's error class before anything is applied.

The gateway (``gateway.storage.migrations``) and the ledger (:func:`migrate_ledger`) each
use it with their own directory, lock id and record table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql as pgsql

from ..crypto import sm3
from ..errors import StorageError
from . import LEDGER_LOCK, LEDGER_MIGRATIONS_DIR, LEDGER_TABLE

__all__ = ["Migration", "MigrationError", "Migrator", "migrate_ledger"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(StorageError):
    """The migration files and the database's record of them disagree (see the module)."""


@dataclass(frozen=True)
class Migration:
    """One SQL file: its version (the number prefix), name, text and SM3 (hex)."""

    version: int
    name: str
    sql: str
    sm3: str

    @property
    def file(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


@dataclass(frozen=True)
class Migrator:
    """The runner for one set of migrations: ``error`` is the exception class it raises
    (the gateway's is a gateway StorageError, the ledger's :class:`MigrationError`)."""

    directory: Path
    lock: int
    table: str = "schema_migrations"
    error: type[Exception] = MigrationError

    def load(self, directory: Path | None = None) -> list[Migration]:
        """The migrations in ``directory`` by version; a stray ``.sql`` name or a version
        used twice is refused."""
        found: dict[int, Migration] = {}
        for path in sorted((directory or self.directory).glob("*.sql")):
            match = _NAME.match(path.name)
            if match is None:
                raise self.error(f"migrations: file name {path.name!r} is not NNNN_name.sql")
            data = path.read_bytes()
            version = int(match.group(1))
            if version in found:
                raise self.error(
                    f"migrations: version {version} used twice ({found[version].file}, {path.name})"
                )
            found[version] = Migration(version, match.group(2), data.decode(), sm3(data).hex())
        return [found[v] for v in sorted(found)]

    def _check(
        self, files: list[Migration], applied: dict[int, tuple[str, str]]
    ) -> list[Migration]:
        """The files not yet applied, after checking the applied ones are unchanged."""
        by_version = {m.version: m for m in files}
        for version, (name, digest) in sorted(applied.items()):
            current = by_version.get(version)
            if current is None:
                raise self.error(
                    f"migrations: version {version} ({name}) is applied in the database but "
                    "its file is missing: this code is older than the database's schema"
                )
            if current.sm3 != digest:
                raise self.error(
                    f"migrations: {current.file} changed after it was applied (sm3 recorded "
                    f"{digest[:16]}…, file {current.sm3[:16]}…): add a new migration instead"
                )
        return [m for m in files if m.version not in applied]

    def _applied(self, conn: psycopg.Connection) -> dict[int, tuple[str, str]]:
        query = pgsql.SQL("SELECT version, name, sm3 FROM {}").format(pgsql.Identifier(self.table))
        rows = conn.execute(query).fetchall()
        return {int(v): (str(n), str(d)) for v, n, d in rows}

    def pending(self, conn: psycopg.Connection, directory: Path | None = None) -> list[Migration]:
        """The migrations :meth:`migrate` would apply now (checks the applied ones too)."""
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (self.table,)).fetchone()
        applied = self._applied(conn) if exists and exists[0] else {}
        return self._check(self.load(directory), applied)

    def migrate(self, conn: psycopg.Connection, directory: Path | None = None) -> list[Migration]:
        """Apply the pending migrations in order, each recorded in the same transaction; the
        ones applied (empty if up to date). ``conn`` must be in autocommit mode."""
        files = self.load(directory)
        table = pgsql.Identifier(self.table)
        done: list[Migration] = []
        with conn.transaction():
            # Held to the end of this transaction: concurrent migrators wait, then find
            # nothing to do.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock,))
            conn.execute(
                pgsql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (version INTEGER PRIMARY KEY, "
                    "name TEXT NOT NULL, sm3 TEXT NOT NULL, "
                    "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                ).format(table)
            )
            todo = self._check(files, self._applied(conn))
            for migration in todo:
                with conn.transaction():  # a savepoint: a failing file names itself
                    try:
                        conn.execute(migration.sql.encode())
                    except psycopg.Error as exc:
                        raise self.error(f"migrations: {migration.file} failed: {exc}") from exc
                    conn.execute(
                        pgsql.SQL("INSERT INTO {}(version, name, sm3) VALUES (%s, %s, %s)").format(
                            table
                        ),
                        (migration.version, migration.name, migration.sm3),
                    )
                done.append(migration)
        return done


LEDGER = Migrator(LEDGER_MIGRATIONS_DIR, LEDGER_LOCK, LEDGER_TABLE)


def migrate_ledger(conn: psycopg.Connection) -> list[Migration]:
    """Bring the ledger's tables (``ledger/pg/schema``) up to date on ``conn`` (autocommit)."""
    return LEDGER.migrate(conn)
