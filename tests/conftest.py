"""Fixtures for every test directory: the throwaway PostgreSQL cluster of tests/pg.py (one
per session, started only when a test asks for it), and ``gateway_database``: a test that
takes it runs twice, once on each backend of the gateway's rows."""

from __future__ import annotations

import pytest

from tests.pg import pg_cluster, pg_url

__all__ = ["gateway_database", "pg_cluster", "pg_url"]


@pytest.fixture(params=["sqlite", "postgresql"])
def gateway_database(request: pytest.FixtureRequest, tmp_path) -> str:
    """Where the gateway's rows live: the SQLite file ``gateway.db`` in the test's directory,
    or a fresh database of the throwaway PostgreSQL cluster (a ``postgresql://`` URL)."""
    if request.param == "sqlite":
        return str(tmp_path / "gateway.db")
    url: str = request.getfixturevalue("pg_url")
    return url
