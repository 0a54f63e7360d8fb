"""Witness cosignatures the gateway collected, in the gateway's database.

One row per (origin, tree size, witness): the ``cosignature/v1`` line a witness returned
for the log's checkpoint of that size, stored only after it verified against the witness's
registry key (``gateway.witness.collector``). SQLite (``gateway.db``, schema made on open)
or PostgreSQL (``gateway/storage/schema/0004_witness.sql``), through
:class:`~gateway.storage.sql.SqlConnection`. Every method blocks: async callers go through
``await store.run(...)`` (:class:`~gateway.exchange.loopguard.OffLoop`).

The reads each have their index (tests/gateway/test_witnesses.py): the lines of one size
and the newest size stored (the primary key), the newest size at or above N with a quorum
(the primary key's range, newest first), a witness's newest size
(``witness_cosignatures_witness``).

:meth:`WitnessStore.may_hold` answers without reading or blocking whether a size can have
cosignatures yet: a receipt just issued is for a checkpoint no witness has seen, and the
exchange path should not pay a thread hand-off and a read to learn that (bench/witness.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from gateway.errors import storage_boundary
from gateway.exchange.loopguard import OffLoop, assert_off_loop
from gateway.storage import is_postgres_url, migrate, pg_boundary
from gateway.storage.sql import SqlConnection, ThreadConnections

__all__ = ["HINT_SECONDS", "SCHEMA", "WitnessStore"]

HINT_SECONDS = 1.0
"""How old a read of the newest stored size may be for :meth:`WitnessStore.may_hold` to
trust it: other processes' writes (a PostgreSQL leader's collector) show up within this."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS witness_cosignatures (
    origin TEXT NOT NULL,
    tree_size INTEGER NOT NULL,
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    cosigned_at REAL NOT NULL,
    PRIMARY KEY (origin, tree_size, witness)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS witness_cosignatures_witness
    ON witness_cosignatures(origin, witness, tree_size);
"""


@pg_boundary
@storage_boundary
class WitnessStore(OffLoop):
    """The ``witness_cosignatures`` table (one connection per thread). ``database``: the
    SQLite file (``gateway.db``) or a ``postgresql://`` URL."""

    def __init__(
        self,
        database: str | Path,
        *,
        hint_seconds: float = HINT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = str(database)
        self.hint_seconds = hint_seconds
        self._clock = clock
        self._newest: dict[str, tuple[int, float]] = {}
        """origin -> (the newest size known stored, when the database last said so)."""
        self.postgres = is_postgres_url(self.path)
        self._connections = ThreadConnections(self.path)
        self._lock = threading.Lock()
        conn = self._open()
        if self.postgres:
            migrate(conn.raw)
        else:
            conn.raw.executescript(SCHEMA)

    def _conn(self) -> SqlConnection:
        assert_off_loop("WitnessStore")
        return self._open()

    def _open(self) -> SqlConnection:
        return self._connections.get()

    def add(self, origin: str, tree_size: int, witness: str, line: str) -> bool:
        """Keep ``witness``'s cosignature ``line`` of checkpoint ``tree_size``; False if it
        already had one for that size (the first is kept: both verified)."""
        cursor = self._conn().execute(
            "INSERT OR IGNORE INTO witness_cosignatures"
            " (origin, tree_size, witness, line, cosigned_at) VALUES (?, ?, ?, ?, ?)",
            (origin, tree_size, witness, line, time.time()),
        )
        self._learn(origin, tree_size, None)
        return bool(cursor.rowcount)

    def may_hold(self, origin: str, tree_size: int) -> bool:
        """Whether cosignatures of ``tree_size`` may be stored. False only when none of that
        size or above is: as of this process's own writes and a read of the newest size at
        most ``hint_seconds`` old (:meth:`lines` makes it). Reads nothing, never blocks."""
        known = self._newest.get(origin)
        return known is None or self._stale(known) or tree_size <= known[0]

    def _stale(self, known: tuple[int, float]) -> bool:
        return self._clock() - known[1] > self.hint_seconds

    def _learn(self, origin: str, newest: int, read_at: float | None) -> None:
        with self._lock:  # (a read that started before a write must not undo it)
            size, at = self._newest.get(origin, (0, float("-inf")))
            self._newest[origin] = (max(size, newest), at if read_at is None else max(at, read_at))

    def lines(self, origin: str, tree_size: int) -> dict[str, str]:
        """Each witness's cosignature line of checkpoint ``tree_size`` (and, at most once in
        ``hint_seconds``, the newest size stored, for :meth:`may_hold`)."""
        known = self._newest.get(origin)
        if known is None or self._stale(known):
            read_at = self._clock()
            row = (
                self._conn()
                .execute(
                    "SELECT MAX(tree_size) FROM witness_cosignatures WHERE origin = ?", (origin,)
                )
                .fetchone()
            )
            self._learn(origin, 0 if row is None or row[0] is None else int(row[0]), read_at)
        rows = (
            self._conn()
            .execute(
                "SELECT witness, line FROM witness_cosignatures WHERE origin = ? AND tree_size = ?",
                (origin, tree_size),
            )
            .fetchall()
        )
        return {str(w): str(line) for w, line in rows}

    def newest_with_quorum(
        self,
        origin: str,
        at_least: int,
        witnesses: Iterable[str],
        quorum: int,
        at_most: int | None = None,
    ) -> int | None:
        """The newest tree size in ``at_least..at_most`` cosigned by ``quorum`` of
        ``witnesses`` (names), or None. ``quorum`` must be at least 1."""
        names = sorted(set(witnesses))
        if quorum < 1 or len(names) < quorum:
            return None
        marks = ", ".join("?" for _ in names)
        ceiling = 2**62 if at_most is None else at_most
        row = (
            self._conn()
            .execute(
                "SELECT tree_size FROM witness_cosignatures"  # noqa: S608 - only ? marks
                " WHERE origin = ? AND tree_size >= ? AND tree_size <= ?"
                f" AND witness IN ({marks})"
                " GROUP BY tree_size HAVING COUNT(*) >= ? ORDER BY tree_size DESC LIMIT 1",
                (origin, at_least, ceiling, *names, quorum),
            )
            .fetchone()
        )
        return None if row is None else int(row[0])

    def newest_size(self, origin: str, witness: str) -> int | None:
        """The newest tree size ``witness`` cosigned, or None."""
        row = (
            self._conn()
            .execute(
                "SELECT MAX(tree_size) FROM witness_cosignatures WHERE origin = ? AND witness = ?",
                (origin, witness),
            )
            .fetchone()
        )
        return None if row is None or row[0] is None else int(row[0])

    def close(self) -> None:
        """Close every thread's connection (the store is not used after)."""
        self._connections.close()
