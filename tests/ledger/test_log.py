"""The durable log gives the same roots and proofs as ledger.merkle, and signs honestly."""

from __future__ import annotations

import sqlite3
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.checkpoint import Checkpoint, verify_checkpoint
from ledger.crypto import PrivateKey
from ledger.errors import CheckpointError, IntegrityError, StorageError
from ledger.log import CheckpointSigner, MerkleLog, SQLiteStore

KEY = PrivateKey.generate()
ORIGIN = "test.yrd/log"


def open_log(path, **kwargs) -> MerkleLog:
    return MerkleLog(SQLiteStore(path / "log.db"), KEY, ORIGIN, **kwargs)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    entries=st.lists(st.binary(min_size=1, max_size=12), min_size=1, max_size=70),
    cuts=st.lists(st.integers(1, 20), min_size=1, max_size=8),
    data=st.data(),
)
def test_durable_log_matches_merkle(tmp_path_factory, entries, cuts, data):
    path = tmp_path_factory.mktemp("log")
    log = open_log(path)
    position, sizes = 0, []
    for cut in cuts * 10:
        if position >= len(entries):
            break
        chunk = entries[position : position + cut]
        log.append_many(chunk)
        position += len(chunk)
        sizes.append(position)
    log.close()
    log = open_log(path)  # everything below comes from disk
    try:
        n = log.size
        assert n == position
        prefix = entries[:n]
        for size in sizes:
            assert log.root(size) == merkle.root_hash(prefix[:size])
            assert log.checkpoint(size).root == log.root(size)
        index = data.draw(st.integers(0, n - 1))
        size = data.draw(st.integers(index + 1, n))
        assert log.inclusion_proof(index, size) == merkle.inclusion_proof(prefix[:size], index)
        old = data.draw(st.integers(0, n))
        assert log.consistency_proof(old, n) == merkle.consistency_proof(prefix, old)
    finally:
        log.close()


def test_every_acknowledged_batch_has_a_signed_checkpoint(tmp_path):
    with open_log(tmp_path) as log:
        results = log.append_many([b"a", b"b", b"c"])
        for result in results:
            signed = verify_checkpoint(result.checkpoint.text, KEY.public_key, ORIGIN)
            assert signed.size > result.index
            assert log.checkpoint(signed.size).text == result.checkpoint.text


def test_idempotency_key_returns_original_index(tmp_path):
    with open_log(tmp_path) as log:
        first = log.append(b"exchange-1", key="x1")
        log.append(b"other")
        again = log.append(b"exchange-1 retried", key="x1")
        assert (again.index, again.duplicate) == (first.index, True)
        assert log.size == 2
        assert log.entry(first.index) == b"exchange-1"


def test_same_key_twice_in_one_batch(tmp_path):
    """Two callers with one key in the same batch: the second is answered from the batch
    itself (the store has not seen the key yet), so one entry is written, once."""
    # batch_max=2 and a long batch_wait: the sequencer holds the batch open for a second entry
    with open_log(tmp_path, batch_max=2, batch_wait=30) as log:
        first = log.append_async(b"e", key="dup")
        time.sleep(0.2)
        assert not first.done(), "the first append must wait for its batch to fill"
        second = log.append_async(b"e", key="dup")
        one, two = first.result(timeout=30), second.result(timeout=30)
        assert (one.index, one.duplicate) == (0, False)
        assert (two.index, two.duplicate) == (0, True)
        assert one.checkpoint == two.checkpoint
        assert (log.size, log.batches, log.batch_sizes) == (1, 1, [1])


def test_signer_refuses_inconsistent_checkpoint():
    signer = CheckpointSigner(KEY, ORIGIN)
    entries = [b"%d" % i for i in range(8)]
    signer.sign(5, merkle.root_hash(entries[:5]), [])
    forged = [*entries[:5], b"x", b"y", b"z"]
    honest_proof = merkle.consistency_proof(entries, 5)
    with pytest.raises(CheckpointError, match="inconsistent"):
        signer.sign(8, merkle.root_hash(forged), honest_proof)
    with pytest.raises(CheckpointError, match="smaller"):
        signer.sign(4, merkle.root_hash(entries[:4]), [])
    signer.sign(8, merkle.root_hash(entries), honest_proof)  # the honest one still goes through
    assert signer.last == Checkpoint(ORIGIN, 8, merkle.root_hash(entries))


def test_rewritten_history_is_refused_on_open(tmp_path):
    with open_log(tmp_path) as log:
        log.append_many([b"%d" % i for i in range(6)])
    conn = sqlite3.connect(tmp_path / "log.db")
    conn.execute("UPDATE nodes SET hash = zeroblob(32) WHERE id = (SELECT MAX(id) FROM nodes)")
    conn.commit()
    conn.close()
    with pytest.raises(IntegrityError, match=r"subtree hash of leaves \[0, 4\) differs"):
        open_log(tmp_path)


def test_out_of_range_reads_are_refused(tmp_path):
    with open_log(tmp_path) as log:
        log.append(b"only")
        with pytest.raises(StorageError, match="out of range"):
            log.inclusion_proof(0, 2)
        with pytest.raises(StorageError, match="out of range"):
            log.entry(1)
        with pytest.raises(ValueError, match="non-empty"):
            log.append(b"")
        with pytest.raises(CheckpointError, match="no checkpoint"):
            log.checkpoint(99)
