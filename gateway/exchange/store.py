"""The gateway's own rows: exchanges, sender nonces and the delivery outbox, in ``gateway.db``.

The log keeps its own file (``log.db``) and writes only its own tables. An exchange's rows
and its log entry are made durable together by the gateway's unit of work
(``gateway.exchange.unit``): the exchange row is staged with ``leaf_index`` -1 beside its
nonce and the entry waiting to be logged (``log_pending``), the entry is appended to the log
with the exchange id as key, then the row gets its index and the outbox row is written. The
reads here see only logged exchanges (``leaf_index`` >= 0), except the pre-commit lookup.
Everything else (acks, retries) is written through this module's own connection.

An answer's row names its request in ``in_reply_to`` ('' for a request); a UNIQUE partial
index keeps a request to one answer even if two commits race. A ``rejected`` outbox row says
why in ``failure`` (``translation``, ``refused_by_partner``, ``undeliverable``); a
``delivered`` one says when in ``delivered_at``. Files written before these columns get them
on open (``ALTER TABLE ... ADD COLUMN``).
"""

from __future__ import annotations

import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import storage_boundary
from gateway.exchange.loopguard import OffLoop, assert_off_loop
from gateway.storage import is_postgres_url, migrate, pg_boundary
from gateway.storage.sql import SqlConnection, ThreadConnections

__all__ = [
    "DELIVERED",
    "FAILURE_REFUSED",
    "FAILURE_TRANSLATION",
    "FAILURE_UNDELIVERABLE",
    "PENDING",
    "REJECTED",
    "ExchangeRow",
    "GatewayStore",
    "OutboxRow",
    "StatusRow",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS exchanges (
    exchange_id TEXT PRIMARY KEY,
    envelope BLOB NOT NULL,
    signature BLOB NOT NULL,
    key_id TEXT NOT NULL,
    envelope_sm3 BLOB NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    matter TEXT NOT NULL,
    canonical TEXT NOT NULL,
    leaf_index INTEGER NOT NULL,
    tree_size INTEGER NOT NULL,
    received_at REAL NOT NULL,
    delivered BLOB,
    delivered_dialect TEXT,
    delivered_content_type TEXT,
    attestation_statement BLOB,
    attestation_signature BLOB,
    attestation_key_id TEXT
);
CREATE INDEX IF NOT EXISTS exchanges_sender ON exchanges(sender, received_at);
CREATE INDEX IF NOT EXISTS exchanges_recipient ON exchanges(recipient, received_at);
CREATE TABLE IF NOT EXISTS nonces (
    sender TEXT NOT NULL,
    nonce BLOB NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (sender, nonce)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    exchange_id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    response TEXT,
    updated_at REAL NOT NULL,
    failure TEXT,
    delivered_at REAL
);
CREATE TABLE IF NOT EXISTS log_pending (
    exchange_id TEXT PRIMARY KEY,
    entry BLOB NOT NULL,
    mode TEXT NOT NULL,
    failure TEXT,
    error TEXT,
    staged_at REAL NOT NULL
);
"""

# The outbox indexes, made on open (IF NOT EXISTS: an older file gets them once, a new one
# at creation). ``outbox_pending`` serves the push worker's due() over every recipient and
# the depth gauge; ``outbox_recipient_due`` a pull stream's due() (it replaces
# ``outbox_due``, which lacked ``mode``: with both, SQLite picked the wrong one for pulls).
# Without them each due() reads the whole outbox, which never shrinks
# (tests/gateway/test_query_plans.py holds every hot-path query to an index).
INDEXES = (
    "DROP INDEX IF EXISTS outbox_due",
    "CREATE INDEX IF NOT EXISTS outbox_recipient_due"
    " ON outbox(recipient, status, mode, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(status, mode, next_attempt_at)",
)

# Columns added after the first release, added to older files on open (ALTER TABLE): the
# request an answer answers; the delivery in the recipient's dialect and its attestation
# (gateway.exchange.translation); why an outbox row is rejected and when it was delivered.
# The answer index needs in_reply_to, so it is made after the migration.
MIGRATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "exchanges": (
        ("in_reply_to", "TEXT NOT NULL DEFAULT ''"),
        ("delivered", "BLOB"),
        ("delivered_dialect", "TEXT"),
        ("delivered_content_type", "TEXT"),
        ("attestation_statement", "BLOB"),
        ("attestation_signature", "BLOB"),
        ("attestation_key_id", "TEXT"),
    ),
    "outbox": (("failure", "TEXT"), ("delivered_at", "REAL")),
}
ANSWER_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS exchanges_answer ON exchanges(in_reply_to)"
    " WHERE in_reply_to != ''"
)

_STATUS_SQL = (
    "SELECT e.exchange_id, e.kind, e.sender, e.recipient, e.received_at, o.status,"
    " COALESCE(o.attempts, 0), o.last_error, o.failure, o.delivered_at, o.updated_at,"
    " a.exchange_id, a.received_at"
    " FROM exchanges e LEFT JOIN outbox o ON o.exchange_id = e.exchange_id"
    " LEFT JOIN exchanges a ON a.in_reply_to = e.exchange_id AND a.in_reply_to != ''"
    " AND a.leaf_index >= 0"  # an answer counts once logged, not while staged
)

PENDING, DELIVERED, REJECTED = "pending", "delivered", "rejected"
# outbox.failure of a rejected row
FAILURE_TRANSLATION = "translation"
FAILURE_REFUSED = "refused_by_partner"
FAILURE_UNDELIVERABLE = "undeliverable"


@dataclass(frozen=True)
class ExchangeRow:
    exchange_id: str
    envelope: bytes
    signature: bytes
    key_id: str
    envelope_sm3: bytes
    sender: str
    recipient: str
    kind: str
    matter: str
    canonical: str
    leaf_index: int
    tree_size: int
    received_at: float
    in_reply_to: str = ""
    delivered: bytes | None = None
    """The payload in the recipient's dialect; None if translation failed (or a row from
    before translation was stored)."""
    delivered_dialect: str | None = None
    delivered_content_type: str | None = None
    attestation_statement: bytes | None = None
    attestation_signature: bytes | None = None
    attestation_key_id: str | None = None


@dataclass(frozen=True)
class StatusRow:
    """Where one exchange is (``GatewayStore.status``): its row, its outbox row and the id
    and time of its answer, if any."""

    exchange_id: str
    kind: str
    sender: str
    recipient: str
    received_at: float
    outbox_status: str | None
    attempts: int
    last_error: str | None
    failure: str | None
    delivered_at: float | None
    updated_at: float | None
    answer_exchange_id: str | None
    answered_at: float | None


@dataclass(frozen=True)
class OutboxRow:
    exchange_id: str
    recipient: str
    mode: str
    status: str
    attempts: int
    next_attempt_at: float
    last_error: str | None


@pg_boundary
@storage_boundary
class GatewayStore(OffLoop):
    """Reads of the gateway rows, and the delivery state changes (one connection per
    thread). ``database``: the SQLite file (``gateway.db``) or a ``postgresql://`` URL,
    whose schema comes from the versioned migrations (``gateway/storage/schema``)."""

    def __init__(self, database: str | Path) -> None:
        self.path = str(database)
        self.postgres = is_postgres_url(self.path)
        self._connections = ThreadConnections(self.path)
        conn = self._open()
        if self.postgres:
            migrate(conn.raw)
            return
        conn.raw.executescript(SCHEMA)
        for table, columns in MIGRATIONS.items():
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns:
                if name not in have:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        conn.execute(ANSWER_INDEX)
        for index in INDEXES:
            conn.execute(index)

    def _conn(self) -> SqlConnection:
        assert_off_loop("GatewayStore")  # async callers: ``await store.run(...)``
        return self._open()

    def _open(self) -> SqlConnection:
        """This thread's connection (unchecked: the constructor, before serving)."""
        return self._connections.get()

    def exchange(self, exchange_id: str) -> ExchangeRow | None:
        row = (
            self._conn()
            .execute(
                "SELECT exchange_id, envelope, signature, key_id, envelope_sm3, sender, recipient,"
                " kind, matter, canonical, leaf_index, tree_size, received_at, in_reply_to,"
                " delivered, delivered_dialect, delivered_content_type, attestation_statement,"
                " attestation_signature, attestation_key_id"
                " FROM exchanges WHERE exchange_id = ? AND leaf_index >= 0",
                (exchange_id,),
            )
            .fetchone()
        )
        return None if row is None else ExchangeRow(*row)

    def answer_to(self, request_id: str) -> ExchangeRow | None:
        """The logged answer to exchange ``request_id`` (the row whose in_reply_to names it)."""
        row = (
            self._conn()
            .execute(
                "SELECT exchange_id, envelope, signature, key_id, envelope_sm3, sender, recipient,"
                " kind, matter, canonical, leaf_index, tree_size, received_at, in_reply_to"
                " FROM exchanges WHERE in_reply_to = ? AND in_reply_to != '' AND leaf_index >= 0",
                (request_id,),
            )
            .fetchone()
        )
        return None if row is None else ExchangeRow(*row)

    def request_of(self, request_id: str) -> tuple[str, str, str, str, str | None] | None:
        """For the in_reply_to check: (sender, recipient, kind, in_reply_to, id of its answer
        or None) of exchange ``request_id``, None if unknown. One round trip."""
        return (
            self._conn()
            .execute(
                "SELECT e.sender, e.recipient, e.kind, e.in_reply_to, a.exchange_id"
                " FROM exchanges e LEFT JOIN exchanges a"
                " ON a.in_reply_to = e.exchange_id AND a.in_reply_to != ''"
                " WHERE e.exchange_id = ?",
                (request_id,),
            )
            .fetchone()
        )

    def status(self, exchange_id: str) -> StatusRow | None:
        """Where exchange ``exchange_id`` is: one query over the exchange, its outbox row and
        its answer; None if unknown."""
        row = self._conn().execute(_STATUS_SQL + " WHERE e.exchange_id = ?", (exchange_id,))
        found = row.fetchone()
        return None if found is None else StatusRow(*found)

    def statuses(self, exchange_ids: list[str]) -> dict[str, StatusRow]:
        """:meth:`status` of many exchanges (unknown ones left out), 500 per query."""
        out: dict[str, StatusRow] = {}
        for start in range(0, len(exchange_ids), 500):
            chunk = exchange_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for found in self._conn().execute(
                _STATUS_SQL + f" WHERE e.exchange_id IN ({marks})", chunk
            ):
                out[found[0]] = StatusRow(*found)
        return out

    def sent_since(self, sender: str, after_rowid: int, limit: int = 1000) -> list[tuple[int, str]]:
        """(rowid, exchange id) of exchanges ``sender`` sent after ``after_rowid``, in order
        (WatchStatus with no ids follows a member's new exchanges this way)."""
        return (
            self._conn()
            .execute(
                "SELECT rowid, exchange_id FROM exchanges WHERE sender = ? AND rowid > ?"
                " ORDER BY rowid LIMIT ?",
                (sender, after_rowid, limit),
            )
            .fetchall()
        )

    def last_rowid(self) -> int:
        return self._conn().execute("SELECT COALESCE(MAX(rowid), 0) FROM exchanges").fetchone()[0]

    def lookup(self, exchange_id: str, sender: str, nonce: bytes) -> tuple[bytes | None, bool]:
        """One round trip for the two pre-commit checks: (envelope_sm3 of a known exchange
        id or None, whether the sender's nonce was seen)."""
        row = (
            self._conn()
            .execute(
                "SELECT (SELECT envelope_sm3 FROM exchanges WHERE exchange_id = ?),"
                " EXISTS(SELECT 1 FROM nonces WHERE sender = ? AND nonce = ?)",
                (exchange_id, sender, nonce),
            )
            .fetchone()
        )
        return row[0], bool(row[1])

    def nonce_seen(self, sender: str, nonce: bytes) -> bool:
        return (
            self._conn()
            .execute("SELECT 1 FROM nonces WHERE sender = ? AND nonce = ?", (sender, nonce))
            .fetchone()
            is not None
        )

    def purge_nonces(self, older_than: float) -> int:
        """Forget nonces older than the freshness window: the staleness check covers them."""
        cur = self._conn().execute("DELETE FROM nonces WHERE seen_at < ?", (older_than,))
        return cur.rowcount

    def exchange_count(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM exchanges").fetchone()[0]

    # -- outbox -------------------------------------------------------------------------
    def due(
        self,
        recipient: str | None,
        mode: str,
        limit: int,
        exclude: AbstractSet[str] = frozenset(),
    ) -> list[OutboxRow]:
        now = time.time()
        sql = (
            "SELECT exchange_id, recipient, mode, status, attempts, next_attempt_at, last_error"
            " FROM outbox WHERE status = ? AND mode = ? AND next_attempt_at <= ?"
        )
        params: list[Any] = [PENDING, mode, now]
        if recipient is not None:
            sql += " AND recipient = ?"
            params.append(recipient)
        sql += " ORDER BY rowid LIMIT ?"
        params.append(limit + len(exclude))
        rows = [OutboxRow(*r) for r in self._conn().execute(sql, params)]
        return [r for r in rows if r.exchange_id not in exclude][:limit]

    def mark(
        self,
        exchange_id: str,
        status: str,
        *,
        error: str | None = None,
        response: str | None = None,
        retry_at: float | None = None,
        failure: str | None = None,
    ) -> None:
        """Record one push attempt: ``delivered`` stamps ``delivered_at``; ``rejected``
        keeps ``failure`` (why it will never be delivered)."""
        now = time.time()
        self._conn().execute(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?,"
            " response = COALESCE(?, response), next_attempt_at = ?, updated_at = ?,"
            " failure = ?, delivered_at = ? WHERE exchange_id = ?",
            (
                status,
                error,
                response,
                retry_at if retry_at is not None else now,
                now,
                failure if status == REJECTED else None,
                now if status == DELIVERED else None,
                exchange_id,
            ),
        )

    def reject(self, exchange_id: str, failure: str, error: str) -> None:
        """A pending row that can never be delivered (e.g. ``undeliverable``: too large for
        a message): ``rejected`` with why, kept for the sender to see."""
        self._conn().execute(
            "UPDATE outbox SET status = ?, failure = ?, last_error = ?, updated_at = ?"
            " WHERE exchange_id = ? AND status = ?",
            (REJECTED, failure, error, time.time(), exchange_id, PENDING),
        )

    def claim_push(self, exchange_ids: list[str], until: float) -> set[str]:
        """Lease due push rows to this process until ``until`` (their ``next_attempt_at``
        moves there, so no other front end on a shared database picks them up meanwhile);
        the ids it got. A process that dies mid-push leaves the lease to expire: the row is
        pushed again (recipients deduplicate by exchange id)."""
        claimed: set[str] = set()
        now = time.time()
        for start in range(0, len(exchange_ids), 500):
            chunk = exchange_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = (
                "UPDATE outbox SET next_attempt_at = ? WHERE status = ? AND mode = 'push'"  # noqa: S608
                f" AND next_attempt_at <= ? AND exchange_id IN ({marks}) RETURNING exchange_id"
            )
            rows = self._conn().execute(sql, (until, PENDING, now, *chunk)).fetchall()
            claimed.update(r[0] for r in rows)
        return claimed

    def release_push(self, leases: dict[str, float]) -> None:
        """Give back leases (exchange id -> lease end) whose pushes never finished (the
        round failed): due again now, unless the row changed since."""
        now = time.time()
        self._conn().executemany(
            "UPDATE outbox SET next_attempt_at = ? WHERE exchange_id = ? AND status = ?"
            " AND next_attempt_at = ?",
            [(now, exchange_id, PENDING, until) for exchange_id, until in leases.items()],
        )

    # -- pull deliveries (gateway.rpc.exchange.Pull) --------------------------------------
    # For a pull row, ``attempts`` counts deliveries sent: claim_pull adds one as a delivery
    # goes out, settle_pull records the recipient's ack without counting again.
    def claim_pull(self, exchange_id: str) -> int | None:
        """Count one more delivery of a pending, due pull row; its attempt number, or None
        when the row is no longer pending or not yet due (another stream settled it)."""
        now = time.time()
        # fetchall: the statement runs to its end, so the autocommit UPDATE commits here
        rows = (
            self._conn()
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, updated_at = ?"
                " WHERE exchange_id = ? AND status = ? AND mode = 'pull' AND next_attempt_at <= ?"
                " RETURNING attempts",
                (now, exchange_id, PENDING, now),
            )
            .fetchall()
        )
        return rows[0][0] if rows else None

    def settle_pull(
        self,
        exchange_id: str,
        status: str,
        *,
        error: str | None = None,
        retry_at: float | None = None,
    ) -> None:
        """Record an ack of a pull delivery: DELIVERED (stamps ``delivered_at``), REJECTED
        (``failure`` refused_by_partner), or PENDING again from ``retry_at`` (a RETRY).
        Does not count an attempt; :meth:`claim_pull` did."""
        now = time.time()
        self._conn().execute(
            "UPDATE outbox SET status = ?, last_error = ?, next_attempt_at = ?, updated_at = ?,"
            " failure = ?, delivered_at = ? WHERE exchange_id = ? AND status = ?",
            (
                status,
                error,
                retry_at if retry_at is not None else now,
                now,
                FAILURE_REFUSED if status == REJECTED else None,
                now if status == DELIVERED else None,
                exchange_id,
                PENDING,
            ),
        )

    def outbox_row(self, exchange_id: str) -> tuple[str, int, str | None, str | None] | None:
        return (
            self._conn()
            .execute(
                "SELECT status, attempts, last_error, response FROM outbox WHERE exchange_id = ?",
                (exchange_id,),
            )
            .fetchone()
        )

    def outbox_depth(self) -> int:
        return (
            self._conn()
            .execute("SELECT COUNT(*) FROM outbox WHERE status = ?", (PENDING,))
            .fetchone()[0]
        )

    def close(self) -> None:
        """Close every thread's connection (the store is not used after)."""
        self._connections.close()
