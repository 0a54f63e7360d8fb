"""Versioned schema migrations for PostgreSQL: plain SQL files ``NNNN_name.sql`` in
``gateway/storage/schema/``, applied in version order in one transaction, each file with its
row in ``schema_migrations`` (version, name, SM3 of the file, applied_at): all or nothing.

Several front ends may start at once: the whole run holds a transaction-level advisory lock,
so exactly one applies a migration and the others then see it recorded. An applied file that
has changed since (its SM3 differs), a recorded version whose file is gone, or two files
with one version are refused with :class:`MigrationError` before anything is applied: a
schema is never silently different from the files that describe it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from gateway.errors import StorageError
from ledger.crypto import sm3

__all__ = ["MIGRATIONS_DIR", "Migration", "MigrationError", "load", "migrate", "pending"]

MIGRATIONS_DIR = Path(__file__).with_name("schema")

# One lock id for every migrating process of every deployment on this database ("yrdmigr").
_LOCK = 0x7972646D69677272
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    sm3 TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


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


def load(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in ``directory`` by version; a stray ``.sql`` name or a version used
    twice is a :class:`MigrationError`."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migrations: file name {path.name!r} is not NNNN_name.sql")
        data = path.read_bytes()
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"migrations: version {version} used twice ({found[version].file}, {path.name})"
            )
        found[version] = Migration(version, match.group(2), data.decode(), sm3(data).hex())
    return [found[v] for v in sorted(found)]


def _check(files: list[Migration], applied: dict[int, tuple[str, str]]) -> list[Migration]:
    """The files not yet applied, after checking the applied ones are unchanged."""
    by_version = {m.version: m for m in files}
    for version, (name, digest) in sorted(applied.items()):
        current = by_version.get(version)
        if current is None:
            raise MigrationError(
                f"migrations: version {version} ({name}) is applied in the database but its "
                "file is missing: this code is older than the database's schema"
            )
        if current.sm3 != digest:
            raise MigrationError(
                f"migrations: {current.file} changed after it was applied (sm3 recorded "
                f"{digest[:16]}…, file {current.sm3[:16]}…): add a new migration instead"
            )
    return [m for m in files if m.version not in applied]


def _applied(conn: psycopg.Connection) -> dict[int, tuple[str, str]]:
    rows = conn.execute("SELECT version, name, sm3 FROM schema_migrations").fetchall()
    return {int(v): (str(n), str(d)) for v, n, d in rows}


def pending(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations ``migrate`` would apply now (checks the applied ones as it does)."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    applied = _applied(conn) if exists and exists[0] else {}
    return _check(load(directory), applied)


def migrate(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply the pending migrations of ``directory`` in order, each recorded in the same
    transaction; the ones applied (empty if the schema was up to date). ``conn`` must be in
    autocommit mode (no transaction of the caller's open)."""
    files = load(directory)
    done: list[Migration] = []
    with conn.transaction():
        # Held to the end of this transaction: concurrent migrators wait, then find nothing to do.
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        conn.execute(_TABLE)
        todo = _check(files, _applied(conn))
        for migration in todo:
            with conn.transaction():  # a savepoint: a failing file names itself
                try:
                    conn.execute(migration.sql.encode())
                except psycopg.Error as exc:
                    raise MigrationError(f"migrations: {migration.file} failed: {exc}") from exc
                conn.execute(
                    "INSERT INTO schema_migrations(version, name, sm3) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.sm3),
                )
            done.append(migration)
    return done
