"""The gateway's rows for answers and status: a file written before ``in_reply_to``,
``failure`` and ``delivered_at`` gets them on open; a request has at most one answer in the
file itself; ``status`` reads exchange, outbox row and answer in one query."""

from __future__ import annotations

import sqlite3
import time

import pytest

from gateway.errors import StorageError
from gateway.exchange.store import (
    DELIVERED,
    FAILURE_REFUSED,
    MIGRATIONS,
    REJECTED,
    GatewayStore,
)
from gateway.pb.yrd.v1 import exchange_pb2 as X
from gateway.rpc.exchange_status import status_proto
from gateway.storage.sql import connect

OLD_SCHEMA = """
CREATE TABLE exchanges (
    exchange_id TEXT PRIMARY KEY, envelope BLOB NOT NULL, signature BLOB NOT NULL,
    key_id TEXT NOT NULL, envelope_sm3 BLOB NOT NULL, sender TEXT NOT NULL,
    recipient TEXT NOT NULL, kind TEXT NOT NULL, matter TEXT NOT NULL,
    canonical TEXT NOT NULL, leaf_index INTEGER NOT NULL, tree_size INTEGER NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE outbox (
    exchange_id TEXT PRIMARY KEY, recipient TEXT NOT NULL, mode TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL,
    last_error TEXT, response TEXT, updated_at REAL NOT NULL
);
"""


def _row(exchange_id: str, in_reply_to: str = "", **changes) -> dict:
    return {
        "exchange_id": exchange_id,
        "envelope": b"e",
        "signature": b"s",
        "key_id": "k",
        "envelope_sm3": b"\x00" * 32,
        "sender": "SH/A/x",
        "recipient": "ZJ/B/y",
        "kind": "case.submit",
        "matter": "",
        "canonical": "{}",
        "received_at": 100.0,
        "in_reply_to": in_reply_to,
    } | changes


def _write(store: GatewayStore, row: dict, index: int) -> None:
    """The rows a finished unit of work leaves (gateway.exchange.unit), written straight
    into the file: these tests hold the file's own constraints, not the writer's checks."""
    values = {key: None for key, _ in MIGRATIONS["exchanges"]} | row
    values |= {"leaf_index": index, "tree_size": 9}
    columns = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    conn = connect(store.path)
    try:
        conn.begin()
        conn.execute(f"INSERT INTO exchanges({columns}) VALUES ({marks})", values)
        conn.execute(
            "INSERT INTO outbox(exchange_id, recipient, mode, status, next_attempt_at,"
            " updated_at) VALUES (?, ?, 'push', 'pending', 0, ?)",
            (row["exchange_id"], row["recipient"], row["received_at"]),
        )
        conn.commit()
    finally:
        conn.close()


def test_an_old_file_gets_the_new_columns_and_keeps_its_rows(tmp_path):
    path = tmp_path / "gateway.db"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.execute(
        "INSERT INTO exchanges VALUES ('old', x'00', x'00', 'k', x'00', 'SH/A/x', 'ZJ/B/y',"
        " 'case.submit', '', '{}', 0, 1, 50.0)"
    )
    conn.execute(
        "INSERT INTO outbox VALUES ('old', 'ZJ/B/y', 'push', 'rejected', 3, 0, 'http 400',"
        " NULL, 60.0)"
    )
    conn.commit()
    conn.close()

    store = GatewayStore(path)
    assert store.exchange("old").in_reply_to == ""
    status = store.status("old")
    assert (status.outbox_status, status.failure, status.delivered_at) == (REJECTED, None, None)
    # a row rejected before ``failure`` existed reads as refused by the partner
    proto = status_proto(status)
    assert proto.state == X.EXCHANGE_STATE_FAILED
    assert proto.failure == X.FAILURE_REASON_REFUSED_BY_PARTNER and proto.detail == "http 400"
    GatewayStore(path).close()  # opening again migrates nothing twice
    store.close()


def test_a_request_has_at_most_one_answer_in_the_file(gateway_database):
    store = GatewayStore(gateway_database)
    _write(store, _row("req"), 0)
    _write(store, _row("ans-1", "req", kind="case.status"), 1)
    with pytest.raises(connect(gateway_database).integrity_errors):
        _write(store, _row("ans-2", "req", kind="case.status"), 2)
    _write(store, _row("other"), 3)  # many requests share the empty in_reply_to
    assert store.answer_to("req").exchange_id == "ans-1"
    assert store.request_of("req") == ("SH/A/x", "ZJ/B/y", "case.submit", "", "ans-1")
    assert store.request_of("ans-1")[3] == "req"
    status = store.status("req")
    assert status.answer_exchange_id == "ans-1"
    assert status_proto(status).state == X.EXCHANGE_STATE_ANSWERED
    assert set(store.statuses(["req", "other", "nope"])) == {"req", "other"}
    store.close()


def test_outcomes_stamp_delivered_at_and_failure(gateway_database):
    store = GatewayStore(gateway_database)
    _write(store, _row("a"), 0)
    _write(store, _row("b"), 1)
    store.mark("a", DELIVERED)
    store.mark("b", REJECTED, error="x" * 2000, failure=FAILURE_REFUSED)
    a, b = store.status("a"), store.status("b")
    assert a.delivered_at is not None and a.failure is None
    assert status_proto(a).state == X.EXCHANGE_STATE_DELIVERED
    assert b.failure == FAILURE_REFUSED and b.delivered_at is None
    assert len(status_proto(b).detail) == 512
    store.close()


def test_a_broken_file_is_a_storage_error(tmp_path):
    path = tmp_path / "gateway.db"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(StorageError):
        GatewayStore(path)


def test_a_push_row_is_leased_to_one_front_end_at_a_time(gateway_database):
    one, other = GatewayStore(gateway_database), GatewayStore(gateway_database)
    _write(one, _row("a"), 0)
    _write(one, _row("b"), 1)
    due = [r.exchange_id for r in one.due(None, "push", 10)]
    assert sorted(due) == ["a", "b"]
    assert one.claim_push(due, until=time.time() + 60) == {"a", "b"}
    assert other.claim_push(due, until=time.time() + 60) == set()  # leased elsewhere
    assert other.due(None, "push", 10) == []
    one.mark("a", DELIVERED)
    assert other.claim_push(["a"], until=time.time() + 60) == set()  # delivered: never again
    one.close()
    other.close()
