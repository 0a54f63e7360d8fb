"""gateway.storage on a throwaway PostgreSQL cluster (tests/pg.py): migrations applied in
order and recorded with the SM3 of their file, once, even when several processes start at
once; a changed applied file, a missing one or a bad file name refused before anything is
applied; the pool refuses a non-PostgreSQL URL and a server that does not answer, by name."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import psycopg
import pytest

from gateway.errors import ConfigError, StorageError
from gateway.storage import (
    MIGRATIONS_DIR,
    MigrationError,
    PoolSettings,
    is_postgres_url,
    load,
    migrate,
    open_pool,
    pending,
)
from ledger.crypto import sm3


def _write(directory: Path, name: str, sql: str) -> None:
    (directory / name).write_text(sql, encoding="utf-8")


def _tables(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def test_the_shipped_migrations_apply_once_and_are_recorded(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        files = load()
        assert [m.version for m in files] == list(range(1, len(files) + 1))
        assert [m.version for m in pending(conn)] == [m.version for m in files]
        applied = migrate(conn)
        assert [m.file for m in applied] == [m.file for m in files]
        assert "seen_assertions" in _tables(conn)
        rows = conn.execute(
            "SELECT version, name, sm3, applied_at FROM schema_migrations ORDER BY version"
        ).fetchall()
        first = rows[0]
        assert first[:2] == (1, "seen_assertions")
        assert first[2] == sm3((MIGRATIONS_DIR / "0001_seen_assertions.sql").read_bytes()).hex()
        assert first[3] is not None
        assert migrate(conn) == [] and pending(conn) == []


def test_applied_in_version_order_and_a_new_file_is_applied_later(pg_url, tmp_path):
    _write(tmp_path, "0002_b.sql", "INSERT INTO t(step) VALUES ('b');")
    _write(tmp_path, "0001_a.sql", "CREATE TABLE t (n SERIAL PRIMARY KEY, step TEXT);")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert [m.version for m in migrate(conn, tmp_path)] == [1, 2]
        _write(tmp_path, "0003_c.sql", "INSERT INTO t(step) VALUES ('c');")
        assert [m.name for m in migrate(conn, tmp_path)] == ["c"]
        steps = conn.execute("SELECT step FROM t ORDER BY n").fetchall()
        assert [s[0] for s in steps] == ["b", "c"]


def test_a_changed_applied_file_is_refused_and_nothing_is_applied(pg_url, tmp_path):
    _write(tmp_path, "0001_a.sql", "CREATE TABLE a (x INT);")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate(conn, tmp_path)
        _write(tmp_path, "0001_a.sql", "CREATE TABLE a (x BIGINT);")
        _write(tmp_path, "0002_b.sql", "CREATE TABLE b (x INT);")
        with pytest.raises(MigrationError) as info:
            migrate(conn, tmp_path)
        assert "0001_a.sql changed after it was applied" in str(info.value)
        assert info.value.code == "storage"
        assert "b" not in _tables(conn)
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
        assert count == (1,)


def test_a_missing_applied_file_is_refused(pg_url, tmp_path):
    _write(tmp_path, "0001_a.sql", "CREATE TABLE a (x INT);")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate(conn, tmp_path)
        (tmp_path / "0001_a.sql").unlink()
        with pytest.raises(MigrationError, match=r"version 1 \(a\) is applied .* file is missing"):
            migrate(conn, tmp_path)


def test_a_failing_file_names_itself_and_applies_nothing(pg_url, tmp_path):
    _write(tmp_path, "0001_a.sql", "CREATE TABLE a (x INT);")
    _write(tmp_path, "0002_b.sql", "CREATE TABLE b (x NOSUCHTYPE);")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        with pytest.raises(MigrationError, match=r"0002_b.sql failed: ") as info:
            migrate(conn, tmp_path)
        assert isinstance(info.value.__cause__, psycopg.Error)
        assert "a" not in _tables(conn) and "schema_migrations" not in _tables(conn)


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["1_a.sql"], "is not NNNN_name.sql"),
        (["0001_a.sql", "0001_b.sql"], "version 1 used twice"),
    ],
)
def test_bad_file_names_are_refused(tmp_path, names, message):
    for name in names:
        _write(tmp_path, name, "SELECT 1;")
    with pytest.raises(MigrationError, match=message):
        load(tmp_path)


def test_concurrent_migrators_apply_each_file_once(pg_url, tmp_path):
    """Several front ends starting at once: the advisory lock lets one apply, the others
    wait and find nothing to do (without it, the second CREATE TABLE would fail)."""
    shutil.copy(MIGRATIONS_DIR / "0001_seen_assertions.sql", tmp_path)
    _write(tmp_path, "0002_slow.sql", "SELECT pg_sleep(0.3); CREATE TABLE slow (x INT);")
    results: list[object] = []
    start = threading.Barrier(4)

    def run() -> None:
        try:
            with psycopg.connect(pg_url, autocommit=True) as conn:
                start.wait(30)
                results.append(len(migrate(conn, tmp_path)))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results, key=str) == [0, 0, 0, 2], results


def test_pool_refuses_what_is_not_a_postgresql_url(tmp_path):
    assert not is_postgres_url(str(tmp_path / "gateway.db"))
    assert not is_postgres_url(tmp_path / "gateway.db")
    with pytest.raises(ConfigError, match="not a postgresql:// url"):
        open_pool(str(tmp_path / "gateway.db"))
    with pytest.raises(ConfigError, match="min_size <= max_size"):
        open_pool("postgresql://x@/db", PoolSettings(min_size=4, max_size=2))


def test_pool_names_a_server_that_does_not_answer_within_its_timeout(tmp_path):
    url = f"postgresql://u:secret@/db?host={tmp_path}&port=1"  # no socket there
    with pytest.raises(StorageError, match=r"no connection to .* within 1.0 s") as info:
        open_pool(url, PoolSettings(timeout=1.0, connect_timeout=1.0))
    assert "secret" not in str(info.value)


def test_pool_connections_autocommit_with_a_statement_timeout(pg_url):
    pool = open_pool(pg_url, PoolSettings(max_size=2, statement_timeout=0.2))
    try:
        with pool.connection() as conn:
            assert conn.autocommit
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute("SELECT pg_sleep(2)")
    finally:
        pool.close()


def test_without_server_binaries_the_cluster_says_why(monkeypatch):
    """The PostgreSQL tests skip with this message (never silently) on a machine without
    initdb where bootstrap could not install it (not root)."""
    import tests.pg as pg

    monkeypatch.setattr(pg, "find_bin_dir", lambda: None)
    with pytest.raises(pg.Unavailable, match=r"initdb not found .* PostgreSQL tests skipped"):
        with pg.throwaway_cluster():
            pass
