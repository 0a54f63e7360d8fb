"""PostgreSQL groundwork of the ledger: the versioned migration runner (shared with the
gateway, which may not be imported from here) and the log's own schema files.

psycopg is an optional dependency (``yrd-ledger[postgres]``): importing this package does
not import it; :mod:`ledger.pg.migrations` does.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["LEDGER_LOCK", "LEDGER_MIGRATIONS_DIR", "LEDGER_TABLE"]

LEDGER_MIGRATIONS_DIR = Path(__file__).with_name("schema")
LEDGER_TABLE = "ledger_schema_migrations"
"""The ledger's record table: not the gateway's ``schema_migrations``, so the two version
sequences never collide on one database."""
LEDGER_LOCK = 0x7972646C65646772  # "yrdledgr": not the gateway's migration lock id
