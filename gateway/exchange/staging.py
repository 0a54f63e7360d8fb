"""The rows of the unit of work (``gateway.exchange.unit``): what one writer transaction does
for each operation on the gateway's database, either backend. ``stage`` writes the exchange
row (``leaf_index`` -1), the nonce and the pending entry, and lets the unique constraints
decide; ``finish`` gives the row its index, writes the outbox row and drops the pending
entry; ``unstage`` takes a staged exchange back when the log refused it."""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from gateway.errors import Refusal
from gateway.exchange.store import MIGRATIONS, PENDING, REJECTED
from gateway.storage.sql import SqlConnection
from ledger.log import AppendResult

__all__ = ["FINISH", "Landed", "Op", "Staged", "apply", "finish_params", "pending_entry"]

_INSERT_EXCHANGE = (  # OR IGNORE: a used id or an answered request inserts nothing
    "INSERT OR IGNORE INTO exchanges(exchange_id, envelope, signature, key_id, envelope_sm3,"
    " sender, recipient, kind, matter, canonical, leaf_index, tree_size, received_at,"
    " in_reply_to, delivered, delivered_dialect, delivered_content_type,"
    " attestation_statement, attestation_signature, attestation_key_id)"
    " VALUES (:exchange_id, :envelope, :signature, :key_id, :envelope_sm3, :sender,"
    " :recipient, :kind, :matter, :canonical, -1, 0, :received_at,"
    " :in_reply_to, :delivered, :delivered_dialect, :delivered_content_type,"
    " :attestation_statement, :attestation_signature, :attestation_key_id)"
)
FINISH = (
    (
        "UPDATE exchanges SET leaf_index = :index, tree_size = :size"
        " WHERE exchange_id = :id AND leaf_index < 0"
    ),
    (
        "INSERT OR IGNORE INTO outbox(exchange_id, recipient, mode, status, next_attempt_at,"
        " last_error, failure, updated_at)"
        " SELECT e.exchange_id, e.recipient, p.mode, CASE WHEN p.failure IS NULL"
        " THEN :pending ELSE :rejected END, 0.0, p.error, p.failure, e.received_at"
        " FROM exchanges e JOIN log_pending p ON p.exchange_id = e.exchange_id"
        " WHERE e.exchange_id = :id"
    ),
    "DELETE FROM log_pending WHERE exchange_id = :id",
)


@dataclass(frozen=True)
class Staged:
    """One verified exchange to make durable: its ``exchanges`` row (without the leaf
    index), the sender's nonce, its log entry, and its outbox row's mode; with ``failure``
    (e.g. ``translation``) the outbox row is born ``rejected`` with ``error``."""

    row: dict[str, Any]
    nonce: bytes
    entry: bytes
    mode: str
    failure: str | None = None
    error: str | None = None

    @property
    def exchange_id(self) -> str:
        return str(self.row["exchange_id"])


@dataclass(frozen=True)
class Landed:
    """A durable, logged exchange. ``result`` is the log's answer when this call appended
    (with the inclusion proof), None when the exchange had been logged before; ``known``:
    the exchange id was stored before this call (an idempotent retry)."""

    result: AppendResult | None
    known: bool


@dataclass
class Op:
    """One operation of the writer: ``stage``, ``resume``, ``finish`` or ``unstage``."""

    kind: str
    exchange_id: str
    future: Future[Landed]
    staged: Staged | None = None
    result: AppendResult | None = None
    known: bool = False
    error: BaseException | None = None


def apply(conn: SqlConnection, op: Op) -> bytes | Landed | BaseException | None:
    """One stage, resume or unstage inside the batch transaction: an entry to append,
    or the answer."""
    if op.kind == "unstage":
        staged = op.staged
        error = op.error
        if op.known:  # resumed or retried: the rows stay pending for the next attempt
            return Refusal("unavailable", f"the log could not commit the exchange: {error}")
        conn.execute(
            "DELETE FROM exchanges WHERE exchange_id = ? AND leaf_index < 0", (op.exchange_id,)
        )
        conn.execute("DELETE FROM log_pending WHERE exchange_id = ?", (op.exchange_id,))
        if staged is not None:
            conn.execute(
                "DELETE FROM nonces WHERE sender = ? AND nonce = ?",
                (staged.row["sender"], staged.nonce),
            )
        return Refusal("unavailable", f"the log could not commit the exchange: {error}")
    if op.kind == "resume":
        return pending_entry(conn, op)
    return _stage(conn, op)


def pending_entry(conn: SqlConnection, op: Op) -> bytes | Landed:
    found = conn.execute(
        "SELECT entry FROM log_pending WHERE exchange_id = ?", (op.exchange_id,)
    ).fetchone()
    if found is None:  # logged and finished already (or never staged)
        return Landed(None, known=True)
    return bytes(found[0])


def _stage(conn: SqlConnection, op: Op) -> bytes | Landed | BaseException:
    """The rows of one exchange, or why not. The common case is three inserts; the
    unique constraints decide (inside the write transaction, so race-free), and only a
    refused insert reads why."""
    staged = op.staged
    assert staged is not None
    row = staged.row
    sender = row["sender"]
    fresh_nonce = conn.execute(
        "INSERT OR IGNORE INTO nonces(sender, nonce, seen_at) VALUES (?, ?, ?)",
        (sender, staged.nonce, row["received_at"]),
    ).rowcount
    if not fresh_nonce:  # a retry of a stored exchange carries its nonce too
        known = _known(conn, op, row)
        if known is not None:
            return known
        return Refusal("replay", f"nonce {staged.nonce.hex()} was already used by {sender}")
    values: dict[str, Any] = {key: None for key, _ in MIGRATIONS["exchanges"]}
    values.update(in_reply_to="")
    values.update(row)
    if not conn.execute(_INSERT_EXCHANGE, values).rowcount:
        conn.execute("DELETE FROM nonces WHERE sender = ? AND nonce = ?", (sender, staged.nonce))
        known = _known(conn, op, row)
        if known is not None:
            return known
        request_id = row.get("in_reply_to") or ""
        answer = conn.execute(
            "SELECT exchange_id FROM exchanges WHERE in_reply_to = ? AND in_reply_to != ''",
            (request_id,),
        ).fetchone()
        if answer is not None:
            return Refusal(
                "already_answered",
                f"exchange {request_id} was already answered by {answer[0]}",
            )
        return Refusal("conflict", f"exchange {op.exchange_id} conflicts with a stored row")
    conn.execute(
        "INSERT INTO log_pending(exchange_id, entry, mode, failure, error, staged_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (op.exchange_id, staged.entry, staged.mode, staged.failure, staged.error, time.time()),
    )
    return staged.entry


def _known(
    conn: SqlConnection, op: Op, row: dict[str, Any]
) -> bytes | Landed | BaseException | None:
    """For an exchange id already stored: ``conflict`` if its bytes differ, else the
    stored exchange (its pending entry to append again, or logged); None if unknown."""
    known = conn.execute(
        "SELECT envelope_sm3 FROM exchanges WHERE exchange_id = ?", (op.exchange_id,)
    ).fetchone()
    if known is None:
        return None
    if bytes(known[0]) != row["envelope_sm3"]:
        return Refusal(
            "conflict",
            f"exchange id {op.exchange_id} was already used for different envelope bytes",
        )
    op.known = True
    return pending_entry(conn, op)


def finish_params(op: Op) -> dict[str, Any]:
    assert op.result is not None
    return {
        "id": op.exchange_id,
        "index": op.result.index,
        "size": op.result.tree_size,
        "pending": PENDING,
        "rejected": REJECTED,
    }
