"""The gateway's unit of work for an exchange: its rows and its log entry, all or nothing.

The log (``ledger``) writes only its own tables, in its own file (``log.db``); the gateway's
rows (exchange, sender nonce, outbox) live in ``gateway.db``. Atomicity across the two comes
from a transactional outbox the gateway owns, never from the log running gateway SQL:

1. **stage** -- one transaction in gateway.db: the exchange row with ``leaf_index`` -1 (not
   yet logged), the sender's nonce, and the entry to append (``log_pending``). The checks
   that must be race-free decide here, inside the write transaction: an exchange id already
   used (the stored exchange is answered, or ``conflict`` when its bytes differ), a nonce
   already used (``replay``), a request already answered (``already_answered``);
2. **append** the entry to the log with the exchange id as its key: a second append of the
   key returns the first one's index, so (2) is safe to repeat;
3. **finish** -- one transaction: the row gets its leaf index and tree size, the outbox row
   is written (only now can the exchange be delivered), the pending entry is deleted.

A crash after (1) leaves a pending entry: :meth:`ExchangeWriter.recover` (before serving)
and a retry of the same exchange id append it and finish it. When the log refuses (2) and
does not hold the key, the rows are unstaged and the caller is refused ``unavailable``:
nothing is written. (If unstaging fails too, e.g. a full disk, the rows stay pending and
the next start finishes them; an exchange is never delivered before it is logged.)

One writer thread runs (1) and (3) for everything waiting, in one transaction each time it
wakes (group commit: one fsync for many exchanges), and hands the entries straight to the
log's sequencer: the caller's future resolves once, when (3) is durable.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from concurrent.futures import Future, InvalidStateError
from pathlib import Path
from typing import Protocol

from gateway.errors import Refusal
from gateway.exchange.staging import FINISH, Landed, Op, Staged, apply, finish_params
from gateway.storage.sql import SqlConnection, connect
from ledger.log import AppendResult

__all__ = ["ExchangeWriter", "Landed", "LogAppender", "Staged"]

log = logging.getLogger("gateway.exchange.unit")

BATCH_MAX = 512
"""Operations per writer transaction, at most."""


class LogAppender(Protocol):
    """What the writer needs of the log (``ledger.log.MerkleLog``)."""

    def append_async(
        self, entry: bytes, key: str | None = None, want_proof: bool = False
    ) -> Future[AppendResult]: ...

    def index_for_key(self, key: str) -> int | None: ...


class ExchangeWriter:
    """The writer thread of the unit of work (module docstring). Thread-safe."""

    def __init__(
        self,
        path: str | Path,
        log: LogAppender,
        *,
        batch_wait: float = 0.001,
        probe_interval: float = 2.0,
    ) -> None:
        self.path = str(path)
        self._log = log
        self.batch_wait = batch_wait
        self.probe_interval = probe_interval
        """While failing and idle, a scratch write is tried this often: health comes back
        when the disk does, not only when a partner dares to send again."""
        self._queue: queue.SimpleQueue[Op | None] = queue.SimpleQueue()
        self._conn: SqlConnection = connect(path)
        self._failure: str | None = None
        self._dead: BaseException | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="exchange-writer", daemon=True)
        self._thread.start()

    # -- callers ----------------------------------------------------------------------
    def commit(self, staged: Staged) -> Future[Landed]:
        """Stage, append and finish ``staged``; the future fails with :class:`Refusal`
        (``conflict``, ``replay``, ``already_answered``, ``unavailable``)."""
        return self._put(Op("stage", staged.exchange_id, Future(), staged=staged))

    def resume(self, exchange_id: str) -> Future[Landed]:
        """Finish exchange ``exchange_id`` if it is staged but not yet logged (a crash, or
        a retry racing the first attempt); resolves at once if it is already logged."""
        return self._put(Op("resume", exchange_id, Future(), known=True))

    def recover(self, min_age: float = 0.0, timeout: float = 60.0) -> int:
        """Finish every exchange staged at least ``min_age`` seconds ago and not finished
        (a crash: before serving; with other front ends on the same database, only rows
        older than any commit in flight); how many."""
        conn = connect(self.path)
        try:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT exchange_id FROM log_pending WHERE staged_at <= ?",
                    (time.time() - min_age,),
                ).fetchall()
            ]
        finally:
            conn.close()
        futures = [self.resume(exchange_id) for exchange_id in ids]
        for future in futures:
            future.result(timeout)
        if ids:
            log.warning("finished %d exchange(s) staged before the last stop", len(ids))
        return len(ids)

    def _put(self, op: Op) -> Future[Landed]:
        with self._lock:
            if self._closed or self._dead is not None:
                raise Refusal("unavailable", f"the exchange writer is not running: {self.failure}")
            self._queue.put(op)
        return op.future

    @property
    def failure(self) -> str | None:
        """Why exchanges cannot be committed now (None when healthy)."""
        if self._dead is not None:
            return f"exchange writer died: {type(self._dead).__name__}: {self._dead}"
        if not self._closed and not self._thread.is_alive():
            return "exchange writer is not running"
        return self._failure

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(30)
        self._conn.close()
        self._fail_queued("the exchange writer stopped")

    def _fail_queued(self, why: str) -> None:
        """Fail whatever is still queued (after a stop or the thread's death)."""
        while True:
            try:
                op = self._queue.get_nowait()
            except queue.Empty:
                return
            if op is not None:
                _fail(op.future, Refusal("unavailable", why))

    # -- the writer thread -------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                first = self._next()
                if first is None:
                    return
                batch = [first]
                deadline = time.monotonic() + self.batch_wait
                stop = False
                while len(batch) < BATCH_MAX:
                    try:
                        op = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    if op is None:
                        stop = True
                        break
                    batch.append(op)
                self._write(batch)
                if stop:
                    return
        except BaseException as exc:  # a bug: fail every waiting caller at once
            log.critical("exchange writer died: %s", exc, exc_info=exc)
            self._dead = exc
            self._fail_queued(f"exchange writer died: {exc}")

    def _next(self) -> Op | None:
        """The next operation; while failing and idle, probe the file now and then."""
        while self._failure is not None:
            try:
                return self._queue.get(timeout=self.probe_interval)
            except queue.Empty:
                self._probe()
        return self._queue.get()

    def _probe(self) -> None:
        conn = self._conn
        blob = "BYTEA" if conn.postgres else "BLOB"
        try:
            conn.begin()
            conn.execute(f"CREATE TABLE IF NOT EXISTS write_probe (x {blob})")
            conn.execute("INSERT INTO write_probe VALUES (?)", (os.urandom(16384),))
            conn.execute("DELETE FROM write_probe")
            conn.commit()
        except conn.errors as exc:
            conn.rollback()
            self._failure = f"write probe failed: {type(exc).__name__}: {exc}"
            return
        log.info("exchange writer: the gateway's database takes writes again; healthy")
        self._failure = None

    def _write(self, batch: list[Op]) -> None:
        """One transaction for the whole batch; then hand staged entries to the log."""
        for op in batch:
            if op.kind == "unstage" and self._log.index_for_key(op.exchange_id) is not None:
                op.kind, op.known = "resume", True  # the log has it after all: finish it
        to_append: list[tuple[Op, bytes]] = []
        done: list[tuple[Op, Landed | BaseException]] = []
        conn = self._conn
        try:
            # fsync a transaction that stages or unstages, not one that only finishes: a
            # finish lost to a power cut loses only itself and what came after it; its
            # pending entry is still there (staged durably) and the next start finishes it
            # again, the log key answering the same index. A stage must be durable before
            # its entry reaches the log: a log entry without its row is what this prevents.
            conn.durable(any(op.kind in ("stage", "unstage") for op in batch))
            conn.begin()
            finishing = [op for op in batch if op.kind == "finish"]
            if finishing:  # one executemany per statement for the whole batch
                params = [finish_params(op) for op in finishing]
                for sql in FINISH:
                    conn.executemany(sql, params)
                done.extend((op, Landed(op.result, op.known)) for op in finishing)
            for op in batch:
                if op.kind == "finish":
                    continue
                outcome = apply(conn, op)
                if isinstance(outcome, bytes):
                    to_append.append((op, outcome))
                elif outcome is not None:
                    done.append((op, outcome))
            conn.commit()
        except conn.errors as exc:
            conn.rollback()
            cause = f"{type(exc).__name__}: {exc}"
            if self._failure != cause:
                log.error("exchange writer transaction of %d failed: %s", len(batch), cause)
            self._failure = cause
            refusal = Refusal("unavailable", f"the gateway could not write the exchange: {exc}")
            for op in batch:
                _fail(op.future, refusal)
            return
        if self._failure is not None:
            log.info("exchange writer committed again; healthy")
        self._failure = None
        for op, answer in done:
            if isinstance(answer, BaseException):
                _fail(op.future, answer)
            else:
                _answer(op.future, answer)
        for op, entry in to_append:
            self._append(op, entry)

    def _append(self, op: Op, entry: bytes) -> None:
        """Hand ``entry`` to the log's sequencer; its answer comes back as a finish (or an
        unstage) through this thread's queue, never through the event loop."""
        try:
            appended = self._log.append_async(entry, key=op.exchange_id, want_proof=True)
        except Exception as exc:
            self._queue.put(Op("unstage", op.exchange_id, op.future, op.staged, error=exc))
            return

        def logged(done: Future[AppendResult]) -> None:
            error = done.exception()
            if error is not None:
                follow = Op("unstage", op.exchange_id, op.future, op.staged, error=error)
            else:
                follow = Op("finish", op.exchange_id, op.future, result=done.result())
            follow.known = op.known
            with self._lock:
                if self._closed or self._dead is not None:
                    _fail(op.future, Refusal("unavailable", "the exchange writer stopped"))
                    return
                self._queue.put(follow)

        appended.add_done_callback(logged)


def _answer(future: Future[Landed], landed: Landed) -> None:
    try:
        future.set_result(landed)
    except InvalidStateError:
        pass


def _fail(future: Future[Landed], error: BaseException) -> None:
    try:
        future.set_exception(error)
    except InvalidStateError:
        pass
