"""The elected sequencer of one log origin on PostgreSQL.

Any number of sequencer processes may run per origin; one leads. A candidate takes a
session-level advisory lock derived from the origin (:func:`lock_id`) on one dedicated
connection and, only while it holds it, opens the log (``MerkleLog(verify="head")``: the
latest checkpoint's signature and the frontier, O(log n)) and loops: claim up to
``batch_max`` queued rows in queue order, hand them with their keys to the MerkleLog (which
hashes, signs and commits them through :class:`PipelinedPgLogStore`, the claimed rows deleted
in the same transaction; the next batch is hashed while this one is written), then the next
claim: rows after those still being written, and every ``FULL_CLAIM_EVERY`` batches, once
the writes are done, from the start of the queue (a row whose transaction committed late,
with a lower id than rows already taken, waits at most that long). The others wait on the
lock (standby) and poll it every ``standby_poll`` seconds.

The lock and every commit use that one connection (claims and lookups a second one): if it
drops, the lock is gone and the next commit fails, so the leader stops at once. Every commit
first checks the lock is still held and moves the head from the batch's first index
(:class:`FencedError` otherwise): a writer that wrongly believes it leads writes nothing, and
its signature is never stored. On any failed batch the leader steps down (closes its log and
connection) and becomes a candidate again, so it re-reads the head before it signs anything
else.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import psycopg

from ..crypto import PrivateKey, sm3
from ..errors import Error, IntegrityError, StorageError
from ._log import MerkleLog
from ._pg_pipeline import PipelinedPgLogStore
from ._pg_store import QUEUE_CHANNEL, FencedError, PgLogStore

__all__ = ["Sequencer", "lock_id"]

log = logging.getLogger("ledger.sequencer")

FULL_CLAIM_EVERY = 16


def lock_id(origin: str) -> int:
    """The origin's advisory lock key: 64 bits of SM3 over a fixed label and the origin."""
    return int.from_bytes(sm3(b"yrd-sequencer\x00" + origin.encode())[:8], "big", signed=True)


class Sequencer:
    """Candidate, then leader, for ``origin``'s log in the database at ``url``."""

    def __init__(
        self,
        url: str,
        key: PrivateKey,
        origin: str,
        *,
        batch_max: int = 4096,
        standby_poll: float = 0.5,
        idle_wait: float = 0.1,
        connect_timeout: float = 10.0,
        pipelined: bool = True,
    ) -> None:
        self.url = url
        self.key = key
        self.origin = origin
        self.batch_max = batch_max
        self.standby_poll = standby_poll
        self.idle_wait = idle_wait
        self.connect_timeout = connect_timeout
        self.pipelined = pipelined
        self.lock = lock_id(origin)
        self.leading = threading.Event()
        self.batches = 0
        self.sequenced = 0

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self.url, autocommit=True, connect_timeout=max(1, round(self.connect_timeout))
        )

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``: wait for the lock, lead while holding it, and again after a
        lost connection or a fenced batch. IntegrityError (the stored log does not verify
        with this key) ends the run: this process must not sequence that log."""
        conn: psycopg.Connection[Any] | None = self.connect()  # a bad URL fails here, loudly
        while not stop.is_set():
            try:
                if conn is None:
                    conn = self.connect()
                if self._acquire(conn, stop):
                    self._lead(conn, stop)
            except IntegrityError:
                raise
            except (psycopg.Error, Error) as exc:
                log.warning("sequencer for %s: stepping down: %s", self.origin, _one_line(exc))
                stop.wait(self.standby_poll)
            finally:
                self.leading.clear()
                if conn is not None:
                    conn.close()  # the session lock goes with it
                conn = None

    def _acquire(self, conn: psycopg.Connection[Any], stop: threading.Event) -> bool:
        said = False
        while not stop.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.lock,)).fetchone()
            if row and row[0]:
                log.info("sequencer for %s: leader", self.origin)
                return True
            if not said:
                log.info("sequencer for %s: standby", self.origin)
                said = True
            stop.wait(self.standby_poll)
        return False

    def _fence(self, conn: psycopg.Connection[Any]) -> None:
        """In the commit transaction: this session still holds the origin's lock."""
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND pid = pg_backend_pid() AND objsubid = 1 "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            (self.lock,),
        ).fetchone()
        if not row or row[0] != 1:
            raise FencedError(f"log {self.origin}: fenced: this session no longer holds the lock")

    def _lead(self, conn: psycopg.Connection[Any], stop: threading.Event) -> None:
        with contextlib.ExitStack() as stack:
            store: PgLogStore
            if self.pipelined:  # claims, lookups and LISTEN on a second connection
                reader = stack.enter_context(self.connect())
                store = PipelinedPgLogStore(conn, self.origin, reader=reader, fence=self._fence)
            else:
                store = PgLogStore(conn, self.origin, fence=self._fence)
            started = time.monotonic()
            try:
                mlog = MerkleLog(store, self.key, self.origin, batch_max=self.batch_max,
                                 batch_wait=0.0, verify="head")  # fmt: skip
            except BaseException:
                store.close()
                raise
            log.info(
                "sequencer for %s: opened the log at size %d in %.3f s",
                self.origin,
                mlog.size,
                time.monotonic() - started,
            )
            self.leading.set()
            try:
                self._loop(store, mlog, stop)
            finally:
                self.leading.clear()
                mlog.close()  # writes what was handed over, in order

    def _loop(self, store: PgLogStore, mlog: MerkleLog, stop: threading.Event) -> None:
        with store.read_session() as c:
            c.execute(f"LISTEN {QUEUE_CHANNEL}")
        claims = 0
        while not stop.is_set():
            claims += 1
            if claims % FULL_CLAIM_EVERY == 0:
                store.flush()  # nothing in flight: this claim starts at the queue's head
            after = max(store.inflight(), default=-1)
            with store.read_session() as c:
                rows = c.execute(
                    "SELECT id, key, entry FROM ledger_queue WHERE origin = %s AND id > %s "
                    "ORDER BY id LIMIT %s",
                    (self.origin, after, self.batch_max),
                    binary=True,  # the entries as bytes, not hex text
                ).fetchall()
                if not rows:
                    for _ in c.notifies(timeout=self.idle_wait, stop_after=1):
                        pass
            if store.broken is not None:
                raise StorageError(f"log store writer failed: {store.broken}")
            if not rows:
                continue
            store.consume({r[1]: r[0] for r in rows})
            mlog.append_batch_async([r[2] for r in rows], [r[1] for r in rows]).result()
            store.delete_unconsumed()  # a batch of duplicates only: no commit took them
            self.batches += 1
            self.sequenced += len(rows)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}"
