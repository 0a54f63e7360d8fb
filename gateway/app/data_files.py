"""The files of a data directory, and the one-time split of a data directory written before
the log had a file of its own.

Since the unit of work (``gateway.exchange.unit``) the log lives in ``log.db`` (with its
signer history ``log.db.signed`` and verified-up-to marker ``log.db.verified``) and the
gateway's rows in ``gateway.db``: an auditor can be handed the log without any envelope.
Before, both were in ``gateway.db``. :func:`split_legacy_log` moves the log out, crash-safe:

1. copy ``gateway.db`` (SQLite's online backup) to ``log.db.partial`` and drop every table
   but the log's from the copy;
2. move the signer history and the marker to their ``log.db`` names;
3. rename ``log.db.partial`` to ``log.db`` (atomic) and fsync the directory;
4. drop the log's tables from ``gateway.db``.

A crash before (3) leaves ``gateway.db`` whole and the split starts again; after (3), the
next start finds ``log.db`` and only finishes (2) and (4).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from pathlib import Path

__all__ = ["GATEWAY_DB", "LOG_DB", "LOG_TABLES", "split_legacy_log"]

log = logging.getLogger("gateway.app.data_files")

GATEWAY_DB = "gateway.db"
"""The gateway's rows: exchanges, nonces, outbox, pending log entries, seen assertions."""
LOG_DB = "log.db"
"""The Merkle log alone (``ledger.log.SQLiteStore``): what an auditor may be handed."""
LOG_TABLES = ("leaves", "nodes", "checkpoints", "write_probe")
_SIDECARS = (".signed", ".verified")


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {r[0] for r in rows if not r[0].startswith("sqlite_")}


def split_legacy_log(data_dir: Path) -> bool:
    """Move the log out of an old ``gateway.db`` into ``log.db`` (module docstring);
    True if there was anything to do. Idempotent; safe to call on every start."""
    gateway_db, log_db = data_dir / GATEWAY_DB, data_dir / LOG_DB
    if not gateway_db.is_file():
        return False
    with contextlib.closing(sqlite3.connect(gateway_db)) as conn:
        if "leaves" not in _tables(conn):
            return False
    if not log_db.exists():
        _copy_log(gateway_db, data_dir / (LOG_DB + ".partial"))
    for suffix in _SIDECARS:  # (2)
        old, new = Path(str(gateway_db) + suffix), Path(str(log_db) + suffix)
        if old.exists() and not new.exists():
            os.replace(old, new)
    if not log_db.exists():  # (3)
        os.replace(data_dir / (LOG_DB + ".partial"), log_db)
        _fsync_dir(data_dir)
    with contextlib.closing(sqlite3.connect(gateway_db, isolation_level=None)) as conn:  # (4)
        conn.execute("BEGIN IMMEDIATE")
        for table in LOG_TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute("COMMIT")
    log.warning(
        "moved the Merkle log out of %s into %s (a data directory from before the split)",
        gateway_db,
        log_db,
    )
    return True


def _copy_log(source: Path, partial: Path) -> None:
    """(1): a consistent copy of ``source`` with only the log's tables, fsync'd."""
    partial.unlink(missing_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(partial, isolation_level=None)) as dst,
    ):
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        dst.execute("BEGIN IMMEDIATE")
        for table in sorted(_tables(dst) - set(LOG_TABLES)):
            dst.execute(f'DROP TABLE "{table}"')
        dst.execute("COMMIT")
        dst.execute("VACUUM")
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
