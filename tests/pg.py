"""A throwaway PostgreSQL cluster for the tests: ``initdb`` in a temporary directory, the
server on a free port with its unix socket in that directory and fsync off (the data is
thrown away), stopped and removed at the end of the session.

tests/conftest.py provides the fixtures to every test.
``pg_url`` is a fresh, empty database per test. With no server binaries (scripts/bootstrap.sh
installs Debian's ``postgresql`` as root), the PostgreSQL tests skip and say why. As root
the server runs as ``nobody``: PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

__all__ = [
    "Cluster",
    "Unavailable",
    "database_for_tests",
    "find_bin_dir",
    "pg_cluster",
    "pg_url",
    "shared_cluster",
    "throwaway_cluster",
]

START_SECONDS = 60  # pg_ctl -w -t: the deadline for the server to accept connections
_names = itertools.count(1)


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin with initdb (Debian's layout), else PATH's."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A running throwaway cluster: superuser ``postgres``, no password (trust), reached
    through the unix socket in ``socket_dir``."""

    socket_dir: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def create_database(self) -> str:
        name = f"t{next(_names)}_{os.getpid()}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Unavailable(Exception):
    """No PostgreSQL server can be started here; the message says why."""


def _runner() -> list[str]:
    """The command prefix that runs the server's tools as a non-root user."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise Unavailable(
            "postgresql: running as root and runuser is missing (postgres refuses root)"
        )
    return ["runuser", "-u", "nobody", "--"]


@contextlib.contextmanager
def throwaway_cluster(*, durable: bool = False) -> Iterator[Cluster]:
    """Start a cluster in a temporary directory; stop it and remove the directory on exit.
    ``durable`` keeps fsync and synchronous commit on (for benchmarks against SQLite's
    synchronous=FULL); the tests leave them off."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise Unavailable(
            "postgresql: initdb not found under /usr/lib/postgresql/*/bin or on PATH "
            "(scripts/bootstrap.sh installs it as root): PostgreSQL tests skipped"
        )
    run_as = _runner()
    root = Path(tempfile.mkdtemp(prefix="yrd-pg-"))
    if run_as:
        os.chmod(root, 0o755)
        shutil.chown(root, "nobody")
    data, log = root / "data", root / "server.log"
    port = _free_port()

    def tool(*args: str, timeout: float) -> None:
        out = subprocess.run(
            [*run_as, *args], cwd=root, capture_output=True, text=True, timeout=timeout
        )
        if out.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {out.stderr.strip()[-2000:]}\n{tail}")

    options = f"-p {port} -k {root} -c listen_addresses='' -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    started = False
    try:
        tool(
            str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "--no-sync", "-E", "UTF8", "--locale=C", timeout=120,
        )  # fmt: skip
        tool(
            str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
            "-w", "-t", str(START_SECONDS), "start", timeout=START_SECONDS + 30,
        )  # fmt: skip
        started = True
        yield Cluster(root, port)
    finally:
        try:
            if started:
                tool(
                    str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "-t",
                    "30", "stop", timeout=60,
                )  # fmt: skip
        finally:
            shutil.rmtree(root, ignore_errors=True)


_shared: list[Cluster] = []
_shared_exit: list[contextlib.ExitStack] = []


def shared_cluster() -> Cluster:
    """The process's one throwaway cluster, started on first use and stopped at exit: for
    code outside fixtures (the gateway harness when ``YRD_TEST_DATABASE=postgresql``)."""
    if not _shared:
        import atexit

        stack = contextlib.ExitStack()
        _shared.append(stack.enter_context(throwaway_cluster()))
        _shared_exit.append(stack)
        atexit.register(stack.close)
    return _shared[0]


def database_for_tests() -> str | None:
    """A fresh database URL when the suite runs on PostgreSQL (``YRD_TEST_DATABASE`` is
    ``postgresql``), else None (SQLite files in the data directory, the default)."""
    if os.environ.get("YRD_TEST_DATABASE", "") != "postgresql":
        return None
    cluster = shared_cluster()
    return cluster.url(cluster.create_database())


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway cluster for the session (the shared one when the suite runs on
    PostgreSQL); the PostgreSQL tests skip (saying why) when none can be started here."""
    if _shared:
        yield _shared[0]
        return
    try:
        with throwaway_cluster() as cluster:
            yield cluster
    except Unavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh database on the session's cluster, dropped after the test."""
    name = pg_cluster.create_database()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)
