"""The gateway's own rows: exchanges, sender nonces and the delivery outbox.

They live in the log's SQLite file and are written by the log's sequencer *inside the
batch transaction* of the entry they describe (``MerkleLog.append_async(side_write=...)``),
so an exchange, its nonce, its outbox row and its log entry are all in or all out.
Everything else (acks, retries) is written through this module's own connection.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import storage_boundary

__all__ = [
    "DELIVERED",
    "PENDING",
    "REJECTED",
    "TRANSLATION_FAILURE",
    "UNDELIVERABLE",
    "ExchangeRow",
    "GatewayStore",
    "OutboxRow",
    "insert_exchange",
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
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(recipient, status, next_attempt_at);
"""

# Columns added after the first release, added to older files on open (ALTER TABLE):
# the delivery in the recipient's dialect and its attestation (gateway.exchange.translation),
# and why an outbox row is rejected / when it was delivered.
MIGRATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "exchanges": (
        ("delivered", "BLOB"),
        ("delivered_dialect", "TEXT"),
        ("delivered_content_type", "TEXT"),
        ("attestation_statement", "BLOB"),
        ("attestation_signature", "BLOB"),
        ("attestation_key_id", "TEXT"),
    ),
    "outbox": (("failure", "TEXT"), ("delivered_at", "REAL")),
}

PENDING, DELIVERED, REJECTED = "pending", "delivered", "rejected"
# outbox.failure of a rejected row
TRANSLATION_FAILURE, UNDELIVERABLE = "translation", "undeliverable"


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
    delivered: bytes | None = None
    """The payload in the recipient's dialect; None if translation failed (or a row from
    before translation was stored)."""
    delivered_dialect: str | None = None
    delivered_content_type: str | None = None
    attestation_statement: bytes | None = None
    attestation_signature: bytes | None = None
    attestation_key_id: str | None = None


@dataclass(frozen=True)
class OutboxRow:
    exchange_id: str
    recipient: str
    mode: str
    status: str
    attempts: int
    next_attempt_at: float
    last_error: str | None


def insert_exchange(
    *,
    row: dict[str, Any],
    nonce: bytes,
    delivery_mode: str,
    index: int,
    tree_size: int,
    failure: str | None = None,
    error: str | None = None,
) -> list[tuple[str, Any]]:
    """The side write of one accepted exchange: statements run in the log batch transaction.

    With ``failure`` (e.g. ``translation``) the outbox row is born ``rejected`` with
    ``error``: the exchange is logged but will never be delivered."""
    values: dict[str, Any] = {key: None for key, _ in MIGRATIONS["exchanges"]}
    values.update(row, leaf_index=index, tree_size=tree_size)
    status = PENDING if failure is None else REJECTED
    return [
        (
            "INSERT INTO exchanges(exchange_id, envelope, signature, key_id, envelope_sm3, sender,"
            " recipient, kind, matter, canonical, leaf_index, tree_size, received_at, delivered,"
            " delivered_dialect, delivered_content_type, attestation_statement,"
            " attestation_signature, attestation_key_id)"
            " VALUES (:exchange_id, :envelope, :signature, :key_id, :envelope_sm3, :sender,"
            " :recipient, :kind, :matter, :canonical, :leaf_index, :tree_size, :received_at,"
            " :delivered, :delivered_dialect, :delivered_content_type, :attestation_statement,"
            " :attestation_signature, :attestation_key_id)",
            values,
        ),
        (
            "INSERT OR IGNORE INTO nonces(sender, nonce, seen_at) VALUES (?, ?, ?)",
            (row["sender"], nonce, row["received_at"]),
        ),
        (
            "INSERT INTO outbox(exchange_id, recipient, mode, status, next_attempt_at,"
            " last_error, failure, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row["exchange_id"],
                row["recipient"],
                delivery_mode,
                status,
                0.0,
                error,
                failure,
                row["received_at"],
            ),
        ),
    ]


@storage_boundary
class GatewayStore:
    """Reads of the gateway rows, and the delivery state changes (one connection per thread)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        conn = self._conn()
        conn.executescript(SCHEMA)
        for table, columns in MIGRATIONS.items():
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns:
                if name not in have:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=10000")
            self._local.conn = conn
        return conn

    def exchange(self, exchange_id: str) -> ExchangeRow | None:
        row = (
            self._conn()
            .execute(
                "SELECT exchange_id, envelope, signature, key_id, envelope_sm3, sender, recipient,"
                " kind, matter, canonical, leaf_index, tree_size, received_at, delivered,"
                " delivered_dialect, delivered_content_type, attestation_statement,"
                " attestation_signature, attestation_key_id"
                " FROM exchanges WHERE exchange_id = ?",
                (exchange_id,),
            )
            .fetchone()
        )
        return None if row is None else ExchangeRow(*row)

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
    ) -> None:
        now = time.time()
        self._conn().execute(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?,"
            " response = COALESCE(?, response), next_attempt_at = ?, updated_at = ?"
            " WHERE exchange_id = ?",
            (status, error, response, retry_at if retry_at is not None else now, now, exchange_id),
        )

    def reject(self, exchange_id: str, failure: str, error: str) -> None:
        """A pending row that can never be delivered (e.g. ``undeliverable``: too large for
        a message): ``rejected`` with why, kept for the sender to see."""
        self._conn().execute(
            "UPDATE outbox SET status = ?, failure = ?, last_error = ?, updated_at = ?"
            " WHERE exchange_id = ? AND status = ?",
            (REJECTED, failure, error, time.time(), exchange_id, PENDING),
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
        """Record an ack of a pull delivery: DELIVERED, REJECTED, or PENDING again from
        ``retry_at`` (a RETRY). Does not count an attempt; :meth:`claim_pull` did."""
        now = time.time()
        self._conn().execute(
            "UPDATE outbox SET status = ?, last_error = ?, next_attempt_at = ?, updated_at = ?"
            " WHERE exchange_id = ? AND status = ?",
            (status, error, retry_at if retry_at is not None else now, now, exchange_id, PENDING),
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
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
