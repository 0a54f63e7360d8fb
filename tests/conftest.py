"""Fixtures for every test directory: the throwaway PostgreSQL cluster of tests/pg.py (one
per session, started only when a test asks for it); ``gateway_database``: a test that takes
it runs twice, once on each backend of the gateway's rows; and ``case_database`` (the case
store's two backends, tests/case_database.py)."""

from __future__ import annotations

import os

import pytest

from tests.case_database import case_database
from tests.pg import pg_cluster, pg_url

__all__ = ["case_database", "gateway_database", "pg_cluster", "pg_url"]


@pytest.fixture(params=["sqlite", "postgresql"])
def gateway_database(request: pytest.FixtureRequest, tmp_path) -> str:
    """Where the gateway's rows live: the SQLite file ``gateway.db`` in the test's directory,
    or a fresh database of the throwaway PostgreSQL cluster (a ``postgresql://`` URL)."""
    if request.param == "sqlite":
        return str(tmp_path / "gateway.db")
    url: str = request.getfixturevalue("pg_url")
    return url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``YRD_TEST_DATABASE=postgresql`` (the suite's second pass, on a shared
    database) a test marked ``embedded_log`` is skipped, saying why it needs SQLite."""
    if os.environ.get("YRD_TEST_DATABASE", "") != "postgresql":
        return
    for item in items:
        marker = item.get_closest_marker("embedded_log")
        if marker is not None:
            why = marker.args[0] if marker.args else "needs the embedded SQLite log"
            item.add_marker(pytest.mark.skip(reason=f"embedded log only: {why}"))
