"""Fixtures for every test directory: the throwaway PostgreSQL cluster of tests/pg.py (one
per session, started only when a test asks for it)."""

from __future__ import annotations

from tests.pg import pg_cluster, pg_url

__all__ = ["pg_cluster", "pg_url"]
