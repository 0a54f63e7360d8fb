"""The case store's two backends as one fixture: ``case_database`` is the path of a fresh
SQLite ``cases.db`` or the URL of a fresh PostgreSQL database (tests/pg.py; those runs skip,
saying why, where no PostgreSQL server can be started). A test module imports it to run
its store-level tests against both."""

from __future__ import annotations

import pytest

__all__ = ["case_database"]


@pytest.fixture(params=["sqlite", "postgresql"])
def case_database(request: pytest.FixtureRequest, tmp_path) -> str:
    """Where a ``CaseStore`` keeps its tables in this run: a file or a ``postgresql://`` URL."""
    if request.param == "sqlite":
        return str(tmp_path / "cases.db")
    return str(request.getfixturevalue("pg_url"))
