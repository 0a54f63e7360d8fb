"""Integrity of the stored log at open, the signer's durable history, the verified marker."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from ledger import merkle
from ledger.crypto import PrivateKey
from ledger.errors import CheckpointError, IntegrityCode, IntegrityError, StorageError
from ledger.log import MerkleLog, SignedHistory, SQLiteStore, verify_log_files, verify_stored_log
from ledger.log import _log as log_module

KEY = PrivateKey.generate()
ORIGIN = "verify.yrd/log"
BATCHES = [3, 5, 1, 7, 4]  # sizes 3, 8, 9, 16, 20
SIZE = sum(BATCHES)


def open_log(root: Path, **kwargs) -> MerkleLog:
    return MerkleLog(SQLiteStore(root / "log.db"), KEY, ORIGIN, **kwargs)


def entries(start: int, count: int) -> list[bytes]:
    return [b"entry-%d" % i for i in range(start, start + count)]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A log of SIZE entries written in BATCHES (one checkpoint each), closed."""
    with open_log(tmp_path) as log:
        done = 0
        for count in BATCHES:
            log.append_many(entries(done, count))
            done += count
    return tmp_path


def sql(root: Path, *statements: str, params: tuple = ()) -> None:
    conn = sqlite3.connect(root / "log.db")
    try:
        for statement in statements:
            conn.execute(statement, params)
        conn.commit()
    finally:
        conn.close()


def node_id(level: int, index: int) -> int:
    return (level << 56) | index


def refused(root: Path, **kwargs) -> IntegrityError:
    with pytest.raises(IntegrityError) as info:
        open_log(root, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message == message.strip()
    return info.value


# -- verification of a good log ------------------------------------------------------------


def test_good_log_verifies_in_full(root: Path):
    store = SQLiteStore(root / "log.db")
    verified = verify_stored_log(store, KEY.public_key, ORIGIN, all_signatures=True, chunk=4)
    store.close()
    assert verified.size == SIZE
    assert verified.root == merkle.root_hash(entries(0, SIZE))
    assert verified.checkpoints == len(BATCHES)
    assert verified.signatures == len(BATCHES)
    assert verify_log_files(root / "log.db", KEY.public_key).size == SIZE


def test_reopened_log_keeps_appending(root: Path):
    with open_log(root) as log:
        assert log.append(b"more").index == SIZE
    with open_log(root, verify="full") as log:
        assert log.size == SIZE + 1


# -- tampering the tables ---------------------------------------------------------------------


def test_changed_entry_names_first_bad_index(root: Path):
    sql(root, "UPDATE leaves SET entry = ? WHERE idx = 8", params=(b"forged",))
    error = refused(root)
    assert error.code is IntegrityCode.CHECKPOINT_ROOT_MISMATCH
    assert error.size == 9
    assert "first bad index in [8, 9)" in str(error)


def test_changed_entry_inside_a_batch_is_named_by_its_subtree(root: Path):
    sql(root, "UPDATE leaves SET entry = ? WHERE idx = 13", params=(b"forged",))
    error = refused(root)
    assert error.code is IntegrityCode.SUBTREE_MISMATCH
    assert "leaves [12, 16)" in str(error)
    assert error.expected != error.got


def test_changed_interior_subtree_hash(root: Path):
    sql(root, f"UPDATE nodes SET hash = zeroblob(32) WHERE id = {node_id(3, 0)}")
    error = refused(root)
    assert error.code is IntegrityCode.SUBTREE_MISMATCH
    assert "leaves [0, 8)" in str(error)
    assert error.got == "00" * 32


def test_missing_and_extra_subtree_hashes(root: Path, tmp_path_factory):
    sql(root, f"DELETE FROM nodes WHERE id = {node_id(2, 1)}")
    assert refused(root).code is IntegrityCode.SUBTREE_MISSING
    sql(root, "INSERT INTO nodes(id, hash) VALUES (?, zeroblob(32))", params=(node_id(2, 1),))
    with pytest.raises(IntegrityError):
        open_log(root)  # the re-added hash is wrong
    other = tmp_path_factory.mktemp("extra")
    with open_log(other) as log:
        log.append_many(entries(0, 5))
    sql(other, "INSERT INTO nodes(id, hash) VALUES (?, zeroblob(32))", params=(node_id(2, 1),))
    error = refused(other)
    assert error.code is IntegrityCode.SUBTREE_MISSING
    assert "should store 1 subtree hashes, got 2" in str(error)


def test_missing_interior_entry(root: Path):
    sql(root, "DELETE FROM leaves WHERE idx = 4")
    error = refused(root)
    assert error.code is IntegrityCode.MISSING_ENTRY
    assert error.size == 4
    assert "index 4 is missing" in str(error)


def test_missing_last_entry(root: Path):
    sql(root, f"DELETE FROM leaves WHERE idx = {SIZE - 1}")
    error = refused(root)
    assert error.code is IntegrityCode.SIZE_MISMATCH
    assert f"first missing index {SIZE - 1}" in str(error)


def test_changed_checkpoint_signature(root: Path):
    conn = sqlite3.connect(root / "log.db")
    (note,) = conn.execute("SELECT note FROM checkpoints WHERE size = ?", (SIZE,)).fetchone()
    conn.close()
    body, line = note.rstrip("\n").rsplit("\n", 1)
    forged = f"{body}\n{line[:-10]}{'A' if line[-10] != 'A' else 'B'}{line[-9:]}\n"
    sql(root, "UPDATE checkpoints SET note = ? WHERE size = ?", params=(forged, SIZE))
    error = refused(root)
    assert error.code is IntegrityCode.CHECKPOINT_SIGNATURE
    assert error.size == SIZE


def test_earlier_checkpoint_signature_is_checked_by_the_full_check(root: Path):
    conn = sqlite3.connect(root / "log.db")
    (note,) = conn.execute("SELECT note FROM checkpoints WHERE size = 8").fetchone()
    conn.close()
    other = PrivateKey.generate()
    from ledger.checkpoint import parse_checkpoint, sign_checkpoint

    forged = sign_checkpoint(parse_checkpoint(note).checkpoint, other, ORIGIN).text
    sql(root, "UPDATE checkpoints SET note = ? WHERE size = 8", params=(forged,))
    open_log(root).close()  # a start checks the last signature only
    with pytest.raises(IntegrityError) as info:
        verify_log_files(root / "log.db", KEY.public_key)
    assert info.value.code is IntegrityCode.CHECKPOINT_SIGNATURE
    assert info.value.size == 8
    assert refused(root, verify="full").size == 8


def test_checkpoint_note_must_say_its_row(root: Path):
    conn = sqlite3.connect(root / "log.db")
    (note,) = conn.execute("SELECT note FROM checkpoints WHERE size = 9").fetchone()
    conn.close()
    sql(root, "UPDATE checkpoints SET note = ? WHERE size = 3", params=(note,))
    error = refused(root)
    assert error.code is IntegrityCode.CHECKPOINT_MALFORMED
    assert "checkpoint of size 3" in str(error)


def test_changed_checkpoint_root_column(root: Path):
    sql(root, "UPDATE checkpoints SET root = zeroblob(32) WHERE size = 8")
    error = refused(root)
    assert error.code is IntegrityCode.CHECKPOINT_ROOT_MISMATCH
    assert error.size == 8


def test_wrong_log_key_is_refused(root: Path):
    with pytest.raises(IntegrityError) as info:
        MerkleLog(SQLiteStore(root / "log.db"), PrivateKey.generate(), ORIGIN)
    assert info.value.code is IntegrityCode.CHECKPOINT_SIGNATURE


def test_unreadable_database_is_a_storage_error(tmp_path: Path):
    (tmp_path / "log.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError):
        verify_log_files(tmp_path / "log.db", KEY.public_key)
    with pytest.raises(StorageError):
        verify_log_files(tmp_path / "absent.db", KEY.public_key)


# -- the signer's durable history ------------------------------------------------------------


def remove_last_batch(root: Path) -> None:
    """Leaves 16..19, the subtree (2, 4) they completed and checkpoint 20: consistent."""
    sql(
        root,
        f"DELETE FROM leaves WHERE idx >= {SIZE - BATCHES[-1]}",
        f"DELETE FROM nodes WHERE id = {node_id(2, 4)}",
        f"DELETE FROM checkpoints WHERE size = {SIZE}",
    )


def test_consistently_removed_last_batch_is_refused(root: Path):
    remove_last_batch(root)
    store = SQLiteStore(root / "log.db")
    assert verify_stored_log(store, KEY.public_key, ORIGIN).size == SIZE - BATCHES[-1]
    store.close()
    error = refused(root)
    assert error.code is IntegrityCode.SIGNER_HISTORY
    assert error.size == SIZE
    assert f"released size {SIZE}" in str(error)
    with pytest.raises(IntegrityError, match=f"released size {SIZE}"):
        verify_log_files(root / "log.db", KEY.public_key)


def test_signer_never_signs_below_or_beside_its_history(root: Path):
    history = SignedHistory(root / "log.db.signed")
    assert history.last == (SIZE, merkle.root_hash(entries(0, SIZE)))
    assert history.count == len(BATCHES)
    from ledger.log import CheckpointSigner

    signer = CheckpointSigner(KEY, ORIGIN, history=history)  # forgot its last checkpoint
    other_root = merkle.root_hash(entries(100, SIZE))
    with pytest.raises(CheckpointError, match=f"size {SIZE} was released with root"):
        signer.sign(SIZE, other_root, [])
    with pytest.raises(CheckpointError, match="below the highest released size"):
        signer.sign(SIZE - 1, merkle.root_hash(entries(0, SIZE - 1)), [])
    assert signer.sign(SIZE, history.last[1], []).size == SIZE  # the same root again is fine


def test_crash_between_commit_and_record_catches_up(root: Path):
    path = root / "log.db.signed"
    data = path.read_bytes()
    path.write_bytes(data[:-44])  # the last record never reached the disk
    with open_log(root) as log:
        assert log.size == SIZE
    assert SignedHistory(path).last[0] == SIZE


def test_torn_history_tail_is_cut_and_damage_refused(root: Path):
    path = root / "log.db.signed"
    data = path.read_bytes()
    path.write_bytes(data + data[-44:-20])  # half a record: a crash mid-append
    with open_log(root) as log:
        assert log.size == SIZE
    assert path.stat().st_size == len(data)
    damaged = bytearray(data)
    damaged[50] ^= 1  # inside the second record
    path.write_bytes(bytes(damaged))
    error = refused(root)
    assert error.code is IntegrityCode.SIGNER_HISTORY
    assert "damaged at record 1" in str(error)


# -- the verified-up-to marker -----------------------------------------------------------------


def test_marker_makes_starts_incremental_and_the_full_check_still_sees_all(root: Path, monkeypatch):
    monkeypatch.setattr(log_module, "FULL_VERIFY_BELOW", 0)
    open_log(root).close()  # writes the marker at SIZE
    marker = root / "log.db.verified"
    assert marker.read_text().split()[0] == str(SIZE)
    sql(root, "UPDATE leaves SET entry = ? WHERE idx = 1", params=(b"forged",))
    with open_log(root) as log:  # before the marker: not re-read at start
        log.append(b"after")
    with pytest.raises(IntegrityError, match="first bad index in"):
        verify_log_files(root / "log.db", KEY.public_key)
    with pytest.raises(IntegrityError):
        open_log(root, verify="full")


def test_marker_does_not_hide_tampering_after_it(root: Path, monkeypatch):
    monkeypatch.setattr(log_module, "FULL_VERIFY_BELOW", 0)
    open_log(root).close()
    with open_log(root) as log:
        log.append_many(entries(SIZE, 8))
    sql(root, "UPDATE leaves SET entry = ? WHERE idx = ?", params=(b"forged", SIZE + 2))
    assert refused(root).code is IntegrityCode.SUBTREE_MISMATCH


def test_last_checkpoint_is_checked_even_with_nothing_after_the_marker(root: Path, monkeypatch):
    monkeypatch.setattr(log_module, "FULL_VERIFY_BELOW", 0)
    open_log(root).close()  # marker at SIZE: nothing new to stream at the next open
    other = PrivateKey.generate()
    from ledger.checkpoint import parse_checkpoint, sign_checkpoint

    conn = sqlite3.connect(root / "log.db")
    (note,) = conn.execute("SELECT note FROM checkpoints WHERE size = ?", (SIZE,)).fetchone()
    conn.close()
    forged = sign_checkpoint(parse_checkpoint(note).checkpoint, other, ORIGIN).text
    sql(root, "UPDATE checkpoints SET note = ? WHERE size = ?", params=(forged, SIZE))
    error = refused(root)
    assert error.code is IntegrityCode.CHECKPOINT_SIGNATURE
    assert error.size == SIZE


def test_forged_marker_is_ignored(root: Path, monkeypatch):
    monkeypatch.setattr(log_module, "FULL_VERIFY_BELOW", 0)
    marker = root / "log.db.verified"
    marker.write_text(f"{SIZE} {'00' * 32} {'11' * 70}\n")
    sql(root, "UPDATE leaves SET entry = ? WHERE idx = 1", params=(b"forged",))
    assert refused(root).size == 3


def test_small_logs_are_checked_in_full_despite_the_marker(root: Path):
    open_log(root).close()
    sql(root, "UPDATE leaves SET entry = ? WHERE idx = 1", params=(b"forged",))
    assert refused(root).size == 3


# -- the last confirmed anchor -------------------------------------------------------------------


def confirm_anchor(path: Path, size: int, root_hash: bytes) -> None:
    from ledger.anchor import AnchorStore

    anchors = AnchorStore(path)
    row = anchors.add(ORIGIN, size, root_hash, time.time())
    anchors.confirm(
        row.id, chain_id=1, contract="0x0", tx_hash="0x1", block_number=1, block_time=1, now=1.0
    )
    anchors.close()


def test_log_must_contain_its_last_confirmed_anchor(root: Path):
    anchors = root / "anchors.db"
    confirm_anchor(anchors, 9, merkle.root_hash(entries(0, 9)))
    open_log(root, anchors=anchors).close()
    confirm_anchor(anchors, 16, merkle.root_hash(entries(1, 16)))
    error = refused(root, anchors=anchors)
    assert error.code is IntegrityCode.ANCHOR_MISMATCH
    assert "anchor at size 16" in str(error)
    confirm_anchor(anchors, SIZE + 5, merkle.root_hash(entries(0, SIZE + 5)))
    error = refused(root, anchors=anchors)
    assert f"anchor has size {SIZE + 5}" in str(error)
    with pytest.raises(IntegrityError, match=f"anchor has size {SIZE + 5}"):
        verify_log_files(root / "log.db", KEY.public_key, anchors=anchors)


def test_full_check_compares_the_chains_latest_anchor(root: Path):
    from ledger.anchor import EmbeddedChain

    chain = EmbeddedChain()
    chain.deploy()
    chain.grant(ORIGIN, chain.account)

    def latest(origin: str) -> tuple[int, bytes] | None:
        record = chain.latest(origin)
        return None if record is None else (record.tree_size, record.root)

    assert verify_log_files(root / "log.db", KEY.public_key, chain_latest=latest).size == SIZE
    chain.wait(chain.anchor(ORIGIN, 9, merkle.root_hash(entries(0, 9))))
    assert verify_log_files(root / "log.db", KEY.public_key, chain_latest=latest).size == SIZE
    chain.wait(chain.anchor(ORIGIN, 16, merkle.root_hash(entries(1, 16))))
    with pytest.raises(IntegrityError, match="chain's latest anchor has size 16 with root") as info:
        verify_log_files(root / "log.db", KEY.public_key, chain_latest=latest)
    assert info.value.code is IntegrityCode.ANCHOR_MISMATCH
