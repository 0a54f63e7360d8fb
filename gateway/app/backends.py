"""Where the gateway keeps its log and its rows, chosen by the ``database`` setting.

- **Embedded** (``database`` empty, the default): SQLite files in the data directory, the
  log sequenced in this process (``log.db``), the gateway's rows in ``gateway.db``. One
  process per data directory (``gateway.app.instance``).
- **PostgreSQL** (``database = "postgresql://..."``): the log, its queue of appends, the
  gateway's rows, identity replay claims and cases in one shared database, so several
  front-end processes on several hosts serve the same deployment. Each process is a front
  end (:class:`ledger.log.pg.PgLog`: it queues entries and reads the log, never signs) and,
  unless ``sequencer = false``, a candidate for the log's sequencer: one process holds the
  origin's advisory lock and integrates, signs and commits; if it dies another takes over
  (``ledger.log._sequencer``).

Either way the exchange path is the same: ``GatewayStore`` and the unit of work
(``ExchangeWriter``) over the database, the log behind :class:`GatewayLog`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.app.data_files import GATEWAY_DB, LOG_DB, split_legacy_log
from gateway.app.settings import Settings
from gateway.exchange.logview import GatewayLog
from gateway.exchange.store import GatewayStore
from gateway.exchange.unit import ExchangeWriter
from gateway.storage import is_postgres_url
from ledger.crypto import PrivateKey
from ledger.log import MerkleLog, SQLiteStore

if TYPE_CHECKING:
    from ledger.log.pg import Sequencer

__all__ = ["RECOVER_MIN_AGE_SHARED", "SequencerThread", "Storage", "open_storage"]

log = logging.getLogger("gateway.app.backends")

RECOVER_MIN_AGE_SHARED = 60.0
"""On a shared database, the unit of work finishes at start only what was staged at least
this long ago: younger rows may belong to a commit in flight in another front end."""


class SequencerThread:
    """This process's candidacy for the log's sequencer, in a thread of its own."""

    def __init__(self, sequencer: Sequencer) -> None:
        self.sequencer = sequencer
        self._stop = threading.Event()
        self._died: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="log-sequencer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.sequencer.run(self._stop)
        except BaseException as exc:  # a bug: say so; another process may lead meanwhile
            log.critical("the sequencer candidate died: %s", exc, exc_info=exc)
            self._died = exc

    @property
    def failure(self) -> str | None:
        if self._died is not None:
            return f"sequencer candidate died: {type(self._died).__name__}: {self._died}"
        if not self._stop.is_set() and not self._thread.is_alive():
            return "sequencer candidate is not running"
        return None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(30)


@dataclass
class Storage:
    """The opened log and rows; ``database`` is what the replay guard and the case store
    take (a SQLite path or the URL); ``close`` closes all of it, in ``closers`` order."""

    log: GatewayLog
    store: GatewayStore
    writer: ExchangeWriter
    database: str
    shared: bool
    sequencer: SequencerThread | None = None
    closers: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def role(self) -> str:
        """This process and the log's sequencer: ``embedded`` (SQLite, always sequences),
        ``leader`` or ``standby`` (a candidate on a shared database), ``off`` (not one)."""
        if not self.shared:
            return "embedded"
        if self.sequencer is None:
            return "off"
        return "leader" if self.sequencer.sequencer.leading.is_set() else "standby"

    @property
    def failure(self) -> str | None:
        """The log's health: its own failure, or this process's sequencer candidate's."""
        failure = self.log.failure
        if failure is None and self.sequencer is not None:
            failure = self.sequencer.failure
        return failure

    def close(self) -> None:
        for close in self.closers:
            try:
                close()
            except Exception:
                log.exception("closing the gateway's storage")
        self.closers.clear()


async def open_storage(s: Settings, log_key: PrivateKey, origin: str) -> Storage:
    """Open the log and the gateway's rows for ``s.database`` (module docstring), finish
    what the unit of work staged before the last stop, and return them; whatever was opened
    is closed again if a later step fails."""
    closers: list[Callable[[], Any]] = []
    try:
        if is_postgres_url(s.database):
            storage = await asyncio.to_thread(_open_shared, s, log_key, origin, closers)
        else:
            storage = await asyncio.to_thread(_open_embedded, s, log_key, origin, closers)
        min_age = RECOVER_MIN_AGE_SHARED if storage.shared else 0.0
        await asyncio.to_thread(storage.writer.recover, min_age)
        return storage
    except BaseException:
        for close in closers:
            try:
                close()
            except Exception:
                log.exception("closing the gateway's storage after a failed start")
        raise


def _open_embedded(
    s: Settings, log_key: PrivateKey, origin: str, closers: list[Callable[[], Any]]
) -> Storage:
    s.data_dir.mkdir(parents=True, exist_ok=True)
    split_legacy_log(s.data_dir)
    db = str(s.data_dir / GATEWAY_DB)
    merkle_log = MerkleLog(
        SQLiteStore(s.data_dir / LOG_DB),
        log_key,
        origin,
        batch_max=s.batch_max,
        batch_wait=s.batch_wait_seconds,
        anchors=s.data_dir / "anchors.db",
    )
    closers.append(merkle_log.close)  # first: it answers what it holds, finishes queue up
    store = GatewayStore(db)
    writer = ExchangeWriter(db, merkle_log)
    closers += [writer.close, store.close]  # ... and the writer drains them
    return Storage(merkle_log, store, writer, db, shared=False, closers=closers)


def _open_shared(
    s: Settings, log_key: PrivateKey, origin: str, closers: list[Callable[[], Any]]
) -> Storage:
    import psycopg

    from ledger.log.pg import PgLog, Sequencer
    from ledger.pg.migrations import migrate_ledger

    url = s.database
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        migrate_ledger(conn)  # the log's tables and queue (ledger/pg/schema), then ours
    # closed in this order: the writer drains, the front end stops waiting, the candidate
    # steps down (another process leads), the rows' connections last
    store = GatewayStore(url)  # first: it brings the gateway's schema up to date
    closers.append(store.close)
    sequencer = None
    if s.sequencer:
        sequencer = SequencerThread(Sequencer(url, log_key, origin, batch_max=s.batch_max))
        closers.insert(0, sequencer.close)
    front = PgLog(url, log_key.public_key, origin)
    closers.insert(0, front.close)
    writer = ExchangeWriter(url, front)
    closers.insert(0, writer.close)
    return Storage(front, store, writer, url, shared=True, sequencer=sequencer, closers=closers)
