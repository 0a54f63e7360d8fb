"""The Merkle log on PostgreSQL: the store round trip, the migrations, the head check at
open, the elected sequencer (in a thread here; as processes in test_sequencer_failover.py),
the front end's idempotent appends, and the fence (real cluster, tests/pg.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from ledger import merkle
from ledger.checkpoint import verify_checkpoint
from ledger.crypto import PrivateKey
from ledger.errors import IntegrityCode, IntegrityError, StorageError
from ledger.log import MerkleLog, verify_stored_log
from ledger.log.pg import PgLog, PgLogStore, Sequencer, lock_id
from ledger.pg import LEDGER_TABLE
from ledger.pg.migrations import LEDGER, migrate_ledger
from ledger.receipt import verify_receipt
from ledger.trust import TrustedLog, TrustStore
from tests.ledger.pg_log_helpers import DEADLINE, KEY, ORIGIN, migrated, sequencer_thread


def _store_log(url: str, conn: psycopg.Connection, **kw) -> MerkleLog:
    return MerkleLog(PgLogStore(conn, ORIGIN), KEY, ORIGIN, batch_wait=0, **kw)


def test_ledger_migrations_apply_once_in_their_own_record_table(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert [m.file for m in migrate_ledger(conn)] == ["0001_log.sql"]
        assert migrate_ledger(conn) == [] and LEDGER.pending(conn) == []
        rows = conn.execute(f"SELECT version, name FROM {LEDGER_TABLE}").fetchall()
        assert rows == [(1, "log")]
        # the gateway's record table is untouched: the two version sequences never collide
        assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,)


def test_store_round_trip_matches_merkle_and_verifies(pg_url):
    entries = [b"entry-%d" % i for i in range(37)]
    with psycopg.connect(migrated(pg_url), autocommit=True) as conn:
        log = _store_log(pg_url, conn)
        for start in range(0, len(entries), 10):
            log.append_batch_async(entries[start : start + 10]).result(DEADLINE)
        assert log.size == 37 and log.root(37) == merkle.root_hash(entries)
        assert log.root(13) == merkle.root_hash(entries[:13])
        assert log.inclusion_proof(5, 37) == merkle.inclusion_proof(entries, 5)
        assert log.consistency_proof(13, 37) == merkle.consistency_proof(entries, 13)
        log.close()
        store = PgLogStore(conn, ORIGIN)
        verified = verify_stored_log(store, KEY.public_key, ORIGIN, all_signatures=True)
        assert (verified.size, verified.root) == (37, merkle.root_hash(entries))
        assert store.head() == (37, merkle.root_hash(entries))
        assert store.entries(35, 40) == entries[35:]
        # another origin in the same tables is another, empty log
        assert PgLogStore(conn, "other.yrd/log").size() == 0


def test_open_checks_the_head_signature_and_frontier(pg_url):
    with psycopg.connect(migrated(pg_url), autocommit=True) as conn:
        log = _store_log(pg_url, conn, verify="head")
        log.append_many([b"a", b"b", b"c", b"d", b"e"])
        log.close()
        with pytest.raises(IntegrityError) as info:
            _store_log(pg_url, conn, verify="head").close()  # same key: opens
            MerkleLog(PgLogStore(conn, ORIGIN), PrivateKey.generate(), ORIGIN, verify="head")
        assert info.value.code is IntegrityCode.CHECKPOINT_SIGNATURE
        conn.execute("UPDATE ledger_nodes SET hash = %s WHERE origin = %s", (b"\0" * 32, ORIGIN))
        with pytest.raises(IntegrityError) as info:
            _store_log(pg_url, conn, verify="head")
        assert info.value.code is IntegrityCode.CHECKPOINT_ROOT_MISMATCH


def test_a_stale_writer_is_fenced_and_stores_nothing(pg_url):
    """Two writers open the same log (one wrongly believes it leads): the first commit moves
    the head; the second's batch starts at the old head, fails, and leaves no row."""
    with (
        psycopg.connect(migrated(pg_url), autocommit=True) as one,
        psycopg.connect(pg_url, autocommit=True) as two,
    ):
        first = _store_log(pg_url, one)
        first.append(b"seed")
        stale = _store_log(pg_url, two, verify="head")
        first.append(b"leader")
        with pytest.raises(StorageError, match="fenced: the head is at size 2"):
            stale.append(b"stale", timeout=DEADLINE)
        assert PgLogStore(one, ORIGIN).checkpoint_sizes() == [1, 2]
        assert PgLogStore(one, ORIGIN).entries(0, 5) == [b"seed", b"leader"]
        first.close()
        stale.close()


def test_fence_refuses_a_session_without_the_lock(pg_url):
    seq = Sequencer(pg_url, KEY, ORIGIN)
    with psycopg.connect(migrated(pg_url), autocommit=True) as conn:
        log = MerkleLog(PgLogStore(conn, ORIGIN, fence=seq._fence), KEY, ORIGIN, batch_wait=0)
        with pytest.raises(StorageError, match="no longer holds the lock"):
            log.append(b"x")
        conn.execute("SELECT pg_advisory_lock(%s)", (lock_id(ORIGIN),))
        assert log.append(b"x").index == 0
        log.close()


def test_front_end_appends_are_sequenced_with_receipts(pg_url):
    migrated(pg_url)
    with sequencer_thread(pg_url), PgLog(pg_url, KEY.public_key, ORIGIN, poll=0.1) as front:
        futures = [front.append_async(b"entry-%d" % i, want_proof=i % 2 == 0) for i in range(50)]
        results = [f.result(DEADLINE) for f in futures]
        assert sorted(r.index for r in results) == list(range(50))
        for i, r in enumerate(results):
            assert front.entry(r.index) == b"entry-%d" % i
            assert verify_checkpoint(r.checkpoint.text, KEY.public_key, ORIGIN).size > r.index
            if i % 2 == 0:
                assert r.proof == front.inclusion_proof(r.index, r.checkpoint.size)
        receipt = front.receipt(results[3].index, exchange_id="ex-3")
        trust = TrustStore([TrustedLog(ORIGIN, ORIGIN, KEY.public_key)])
        assert verify_receipt(receipt, trust).leaf_index == results[3].index
        assert front.healthy and front.size == 50


def test_idempotent_keys_across_two_clients_racing(pg_url):
    """Two front ends append the same 40 keys at once: each key is one leaf, both clients get
    its index, and exactly one of each pair is not a duplicate."""
    migrated(pg_url)
    keys = [f"exchange-{i}" for i in range(40)]
    with (
        sequencer_thread(pg_url),
        PgLog(pg_url, KEY.public_key, ORIGIN, poll=0.1) as a,
        PgLog(pg_url, KEY.public_key, ORIGIN, poll=0.1) as b,
        ThreadPoolExecutor(8) as pool,
    ):
        start = threading.Barrier(2, timeout=DEADLINE)

        def run(front: PgLog):
            start.wait()
            return [front.append_async(k.encode(), key=k) for k in keys]

        fa, fb = pool.submit(run, a), pool.submit(run, b)
        ra = [f.result(DEADLINE) for f in fa.result(DEADLINE)]
        rb = [f.result(DEADLINE) for f in fb.result(DEADLINE)]
        assert [r.index for r in ra] == [r.index for r in rb]
        assert sorted(r.index for r in ra) == list(range(40))
        assert a.size == 40
        for x, y in zip(ra, rb, strict=True):
            assert x.duplicate or y.duplicate
        again = a.append(b"other bytes", key="exchange-7", timeout=DEADLINE)
        assert (again.index, again.duplicate) == (ra[7].index, True)
        assert a.entry(again.index) == b"exchange-7"


def test_enqueue_joins_the_callers_transaction(pg_url):
    """A queue row put in a transaction that rolls back is never sequenced."""
    migrated(pg_url)
    with sequencer_thread(pg_url), PgLog(pg_url, KEY.public_key, ORIGIN, poll=0.1) as front:
        with psycopg.connect(pg_url) as conn:
            assert front.enqueue(conn, b"rolled back", "k-rolled")
            conn.rollback()
            assert front.enqueue(conn, b"committed", "k-committed")
            conn.commit()
        done = front.append(b"after", key="k-after", timeout=DEADLINE)
        assert front.index_for_key("k-committed") is not None
        assert front.index_for_key("k-rolled") is None
        assert done.checkpoint.size == 2


def test_a_stalled_log_says_so(pg_url):
    migrated(pg_url)
    with PgLog(pg_url, KEY.public_key, ORIGIN, poll=0.1, stall_after=0.3) as front:
        future = front.append_async(b"waits")
        deadline = threading.Event()
        for _ in range(int(DEADLINE / 0.1)):
            if front.failure is not None:
                break
            deadline.wait(0.1)
        assert front.failure is not None
        assert front.failure.startswith("no sequencer has advanced the log for")
        assert not future.done()
    with pytest.raises(StorageError, match="closed before the append was sequenced"):
        future.result(0)


def test_a_sequencer_with_the_wrong_key_refuses(pg_url):
    migrated(pg_url)
    with sequencer_thread(pg_url), PgLog(pg_url, KEY.public_key, ORIGIN, poll=0.1) as front:
        front.append(b"signed by KEY", timeout=DEADLINE)
    stop = threading.Event()
    timer = threading.Timer(DEADLINE, stop.set)  # a run that does not refuse ends, and fails
    timer.start()
    try:
        with pytest.raises(IntegrityError) as info:
            Sequencer(pg_url, PrivateKey.generate(), ORIGIN, standby_poll=0.1).run(stop)
    finally:
        timer.cancel()
    assert info.value.code is IntegrityCode.CHECKPOINT_SIGNATURE
    with psycopg.connect(pg_url, autocommit=True) as conn:  # it let go of the lock
        assert conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_id(ORIGIN),)).fetchone()[0]


def test_a_queue_row_for_a_logged_key_is_answered_not_appended_twice(pg_url):
    """A row re-read after a crash (its key already sequenced) is a duplicate: the sequencer
    deletes it without a new leaf or checkpoint."""
    migrated(pg_url)
    with sequencer_thread(pg_url), PgLog(pg_url, KEY.public_key, ORIGIN, poll=0.1) as front:
        first = front.append(b"once", key="k-once", timeout=DEADLINE)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO ledger_queue (origin, key, entry) VALUES (%s, 'k-once', 'x')",
                (ORIGIN,),
            )
            after = front.append(b"next", key="k-next", timeout=DEADLINE)
            left = conn.execute("SELECT count(*) FROM ledger_queue").fetchone()
        assert left == (0,)
        assert (first.index, after.index, front.size) == (0, 1, 2)
        assert PgLogStore(front.pool, ORIGIN).checkpoint_sizes() == [1, 2]


def test_a_row_committed_after_later_ids_were_sequenced_is_still_sequenced(pg_url):
    """Queue ids are taken at insert, rows become visible at commit: a row with a lower id
    that commits late is not skipped by claims that start after the ids already taken."""
    migrated(pg_url)
    with (
        sequencer_thread(pg_url),
        PgLog(pg_url, KEY.public_key, ORIGIN, poll=0.1) as front,
        psycopg.connect(pg_url) as slow,
    ):
        assert front.enqueue(slow, b"late", "k-late") is not None  # id taken, not committed
        later = [front.append_async(b"later-%d" % i, key=f"k-{i}") for i in range(20)]
        assert [f.result(DEADLINE).index for f in later] == list(range(20))
        slow.commit()
        result = front.append_async(b"late", key="k-late").result(DEADLINE)  # same key
        assert (result.index, result.duplicate) == (20, True)


def test_pipelined_store_stops_at_the_first_failed_write(pg_url):
    """A write that fails (here: fenced, another writer moved the head) breaks the store: the
    batches behind it are not written, later commits raise, and nothing of them is stored."""
    with (
        psycopg.connect(migrated(pg_url), autocommit=True) as conn,
        psycopg.connect(pg_url, autocommit=True) as reader,
        psycopg.connect(pg_url, autocommit=True) as other,
    ):
        from ledger.log._pg_pipeline import PipelinedPgLogStore

        store = PipelinedPgLogStore(conn, ORIGIN, reader=reader)
        log = MerkleLog(store, KEY, ORIGIN, batch_wait=0, verify="head")
        log.append_many([b"a", b"b"])
        store.flush()
        stale = MerkleLog(PgLogStore(other, ORIGIN), KEY, ORIGIN, batch_wait=0, verify="head")
        stale.append(b"moves the head")
        stale.close()
        log.append(b"fenced")  # handed to the writer: the MerkleLog cannot know yet
        with pytest.raises(StorageError, match="fenced: the head is at size 3"):
            store.flush()
        with pytest.raises(StorageError, match="log store writer failed"):
            log.append(b"after", timeout=DEADLINE)
        log.close()
        assert PgLogStore(other, ORIGIN).entries(0, 10) == [b"a", b"b", b"moves the head"]


def test_keys_with_quotes_backslashes_and_braces_are_found(pg_url):
    """Key lookups pass the keys as one text[] literal: every character must survive."""
    keys = ['a"b', "c\\d", "{e,f}", "g h", "NULL", "", "交换-1", '\\"', "x'y"]
    with psycopg.connect(migrated(pg_url), autocommit=True) as conn:
        log = _store_log(pg_url, conn)
        results = log.append_batch_async([k.encode() + b"!" for k in keys], list(keys))
        indexes = [r.index for r in results.result(DEADLINE)]
        store = PgLogStore(conn, ORIGIN)
        assert store.indexes_for_keys(keys) == dict(zip(keys, indexes, strict=True))
        again = log.append_batch_async([b"again"] * len(keys), list(keys)).result(DEADLINE)
        assert [r.index for r in again] == indexes and all(r.duplicate for r in again)
        assert store.indexes_for_keys(["NULL", "missing"]) == {"NULL": indexes[4]}
        log.close()
