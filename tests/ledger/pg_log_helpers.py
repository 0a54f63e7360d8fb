"""Shared pieces of the PostgreSQL log tests: a migrated database and a sequencer thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import psycopg

from ledger.crypto import PrivateKey
from ledger.log.pg import Sequencer
from ledger.pg.migrations import migrate_ledger

KEY = PrivateKey.generate()
ORIGIN = "test.yrd/pglog"
DEADLINE = 60.0  # s: every wait in these tests ends by then


def migrated(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        migrate_ledger(conn)
    return url


@contextlib.contextmanager
def sequencer_thread(
    url: str, key: PrivateKey = KEY, origin: str = ORIGIN, **kwargs: object
) -> Iterator[Sequencer]:
    """A real Sequencer (real lock, real connection) in a thread of this process, stopped and
    joined on exit; an exception from its run is raised there."""
    seq = Sequencer(url, key, origin, standby_poll=0.1, **kwargs)  # type: ignore[arg-type]
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            seq.run(stop)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield seq
    finally:
        stop.set()
        thread.join(DEADLINE)
        assert not thread.is_alive(), "sequencer thread did not stop"
    if errors:
        raise errors[0]
