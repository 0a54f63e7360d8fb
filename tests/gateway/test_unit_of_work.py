"""The gateway's unit of work (gateway.exchange.unit): rows in the gateway's database and the
entry in the log, all or nothing, with the log never running gateway code.

Real parts only: a real MerkleLog over its own SQLite file, real writers (two of them on one
database stand for two front ends), a real process killed between staging and appending, and
a real log store that cannot write. Every test runs on both backends of the gateway's rows:
the SQLite file gateway.db and a throwaway PostgreSQL database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from gateway.app.data_files import split_legacy_log
from gateway.errors import Refusal
from gateway.exchange.store import GatewayStore
from gateway.exchange.unit import ExchangeWriter, Staged
from gateway.storage.sql import connect
from ledger.crypto import PrivateKey
from ledger.log import MerkleLog, SQLiteStore, verify_log_files

REPO = Path(__file__).resolve().parents[2]
KEY = PrivateKey.generate()
ORIGIN = "unit.test/log"
WAIT = 30.0


def staged(exchange_id: str | None = None, *, nonce: bytes | None = None, **row) -> Staged:
    exchange_id = exchange_id or str(uuid.uuid4())
    values = {
        "exchange_id": exchange_id,
        "envelope": b"envelope " + exchange_id.encode(),
        "signature": b"s",
        "key_id": "k",
        "envelope_sm3": exchange_id.encode()[:32].ljust(32, b"\0"),
        "sender": "SH/A/x",
        "recipient": "ZJ/B/y",
        "kind": "case.submit",
        "matter": "",
        "canonical": "{}",
        "received_at": 100.0,
        "in_reply_to": "",
    } | row
    return Staged(
        row=values,
        nonce=nonce or uuid.uuid4().bytes,
        entry=b"entry " + exchange_id.encode(),
        mode="pull",
    )


def rows(db: Path | str, sql: str, *params) -> list[tuple]:
    conn = connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


@pytest.fixture
def parts(tmp_path, gateway_database):
    db = gateway_database
    store = GatewayStore(db)
    log = MerkleLog(SQLiteStore(tmp_path / "log.db"), KEY, ORIGIN)
    writer = ExchangeWriter(db, log)
    yield db, store, log, writer
    log.close()
    writer.close()
    store.close()


def test_a_commit_writes_the_row_the_entry_and_the_outbox_row(parts):
    db, store, log, writer = parts
    one = staged()
    landed = writer.commit(one).result(WAIT)
    assert not landed.known and landed.result is not None and landed.result.proof is not None
    row = store.exchange(one.exchange_id)
    assert row is not None and row.leaf_index == landed.result.index == 0
    assert log.entry(0) == one.entry and log.index_for_key(one.exchange_id) == 0
    assert store.outbox_row(one.exchange_id)[0] == "pending"
    assert rows(db, "SELECT COUNT(*) FROM log_pending") == [(0,)]
    # the log's file holds no gateway table
    tables = {r[0] for r in rows(log.store.path, "SELECT name FROM sqlite_master")}
    assert "exchanges" not in tables and "leaves" in tables


def test_the_checks_decide_inside_the_write_even_across_two_writers(parts):
    db, store, log, writer = parts
    other = ExchangeWriter(db, log)  # a second front end on the same files
    try:
        nonce = b"n" * 16
        a, b = staged(nonce=nonce), staged(nonce=nonce)
        outcomes = _race([(writer, a), (other, b)])
        assert sorted(type(o).__name__ for o in outcomes) == ["Landed", "Refusal"]
        refusal = next(o for o in outcomes if isinstance(o, Refusal))
        assert refusal.reason == "replay"
        # the same exchange twice at once: one append, the other answered with it
        same = staged()
        twice = _race([(writer, same), (other, same)])
        assert all(not isinstance(o, BaseException) for o in twice)
        assert sorted(o.known for o in twice) == [False, True]
        assert log.size == 2
        # other bytes under a used id: conflict; two answers to one request: one wins
        with pytest.raises(Refusal) as info:
            other.commit(staged(same.exchange_id, envelope_sm3=b"\1" * 32)).result(WAIT)
        assert info.value.reason == "conflict"
        answers = _race(
            [
                (writer, staged(in_reply_to=same.exchange_id, kind="case.status")),
                (other, staged(in_reply_to=same.exchange_id, kind="case.status")),
            ]
        )
        reasons = sorted(getattr(o, "reason", "landed") for o in answers)
        assert reasons == ["already_answered", "landed"]
        assert store.exchange_count() == 3 and log.size == 3
    finally:
        other.close()


def _race(pairs: list[tuple[ExchangeWriter, Staged]]) -> list[object]:
    start = threading.Barrier(len(pairs))
    out: list[object] = [None] * len(pairs)

    def go(i: int, writer: ExchangeWriter, one: Staged) -> None:
        start.wait(WAIT)
        try:
            out[i] = writer.commit(one).result(WAIT)
        except Refusal as exc:
            out[i] = exc

    threads = [threading.Thread(target=go, args=(i, *p)) for i, p in enumerate(pairs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    return out


def test_a_log_that_cannot_commit_leaves_no_row_behind(parts):
    db, store, log, writer = parts
    writer.commit(staged()).result(WAIT)

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    log.store.commit = full  # the log's own file is full; gateway.db is not
    doomed = staged()
    with pytest.raises(Refusal) as info:
        writer.commit(doomed).result(WAIT)
    assert info.value.reason == "unavailable" and "disk is full" in info.value.message
    del log.store.commit
    assert store.exchange_count() == 1
    assert rows(db, "SELECT COUNT(*) FROM nonces") == [(1,)]
    assert rows(db, "SELECT COUNT(*) FROM log_pending") == [(0,)]
    # nothing was burnt: the same exchange commits once the log can write again
    assert writer.commit(doomed).result(WAIT).result is not None


_CRASH = """
import os, sys
from pathlib import Path
from tests.gateway.test_unit_of_work import staged
from gateway.exchange.store import GatewayStore
from gateway.exchange.unit import ExchangeWriter

class Stalled:  # the process dies before its entry reaches the log
    def append_async(self, entry, key=None, want_proof=False):
        print(key, flush=True)
        os._exit(9)
    def index_for_key(self, key):
        return None

db = sys.argv[1]
GatewayStore(db).close()
ExchangeWriter(db, Stalled()).commit(staged())
import time; time.sleep(30)
"""


def test_an_exchange_staged_before_a_crash_is_finished_at_start(tmp_path, gateway_database):
    db = gateway_database
    died = subprocess.run(
        [sys.executable, "-c", _CRASH, str(db)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert died.returncode == 9, died.stderr
    exchange_id = died.stdout.strip()
    assert rows(db, "SELECT leaf_index FROM exchanges") == [(-1,)]
    assert rows(db, "SELECT exchange_id FROM log_pending") == [(exchange_id,)]
    store = GatewayStore(db)
    assert store.exchange(exchange_id) is None  # not logged: no receipt can be given yet
    assert store.outbox_depth() == 0  # ... and nothing is delivered
    with MerkleLog(SQLiteStore(tmp_path / "log.db"), KEY, ORIGIN) as log:
        writer = ExchangeWriter(db, log)
        try:
            assert writer.recover() == 1
            assert writer.recover() == 0
        finally:
            writer.close()
        row = store.exchange(exchange_id)
        assert row is not None and log.entry(row.leaf_index) == b"entry " + exchange_id.encode()
        assert store.outbox_depth() == 1
    store.close()


def test_a_data_directory_from_before_the_split_is_split_once(tmp_path):
    old = tmp_path / "gateway.db"
    store = GatewayStore(old)  # the old layout: log tables and gateway rows in one file
    with MerkleLog(SQLiteStore(old), KEY, ORIGIN) as log:
        log.append_many([b"old entry %d" % i for i in range(5)])
        size, root = log.size, log.latest_root()
    store.close()
    rows(old, "SELECT 1")  # readable before
    assert split_legacy_log(tmp_path)
    assert not split_legacy_log(tmp_path)  # idempotent
    assert not (tmp_path / "gateway.db.signed").exists()
    assert (tmp_path / "log.db.signed").exists()
    verified = verify_log_files(tmp_path / "log.db", KEY.public_key, ORIGIN)
    assert (verified.size, verified.root) == (size, root)
    names = {r[0] for r in rows(old, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "leaves" not in names and "exchanges" in names
    log_names = {
        r[0] for r in rows(tmp_path / "log.db", "SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert log_names <= {"leaves", "nodes", "checkpoints", "write_probe"}
    with MerkleLog(SQLiteStore(tmp_path / "log.db"), KEY, ORIGIN) as log:
        assert log.append(b"new entry").index == size


def test_a_split_interrupted_after_the_rename_is_finished(tmp_path):
    old = tmp_path / "gateway.db"
    with MerkleLog(SQLiteStore(old), KEY, ORIGIN) as log:
        log.append_many([b"entry %d" % i for i in range(3)])
    # the crash came after log.db took its name, before the old tables were dropped
    conn = sqlite3.connect(old)
    conn.execute("VACUUM INTO ?", (str(tmp_path / "log.db"),))
    conn.close()
    assert split_legacy_log(tmp_path)
    assert not rows(old, "SELECT name FROM sqlite_master WHERE name = 'leaves'")
    assert (tmp_path / "log.db.signed").exists()
    assert verify_log_files(tmp_path / "log.db", KEY.public_key, ORIGIN).size == 3


def test_a_writer_that_is_closed_refuses_at_once(parts):
    _, _, _, writer = parts
    writer.close()
    with pytest.raises(Refusal) as info:
        writer.commit(staged())
    assert info.value.reason == "unavailable"
