"""Fixtures for every test directory: the throwaway PostgreSQL cluster of tests/pg.py (one
per session, started only when a test asks for it), and ``case_database`` (the case store's
two backends, tests/case_database.py)."""

from __future__ import annotations

from tests.case_database import case_database
from tests.pg import pg_cluster, pg_url

__all__ = ["case_database", "pg_cluster", "pg_url"]
