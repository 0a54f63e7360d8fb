"""Anchorer on the embedded chain with a real MerkleLog: schedule, durability, restarts.

Most tests drive `Anchorer.run_once` with an injected clock, so the schedule is checked
without timing; one test runs the thread under append load.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future

import pytest

from ledger.anchor import (
    Anchorer,
    AnchorError,
    AnchorRecord,
    AnchorStore,
    Chain,
    ChainUnavailable,
    EmbeddedChain,
    TxRef,
)
from ledger.anchor_verify import (
    AnchorCheckError,
    check_anchor_history,
    verify_anchored,
)
from ledger.crypto import PrivateKey
from ledger.errors import StorageError
from ledger.log import MerkleLog, SQLiteStore
from ledger.trust import TrustStore, trust_document

ORIGIN = "test.yrd/anchored"
KEY = PrivateKey.generate()
TRUST = TrustStore.load(json.dumps(trust_document(ORIGIN, KEY.public_key)).encode())


class Clock:
    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class Switchable(Chain):
    """A real chain behind a switch: ``down`` makes every call raise ChainUnavailable, as an
    unreachable node does. Also records how many anchor transactions were in flight."""

    def __init__(self, inner: Chain) -> None:
        self.inner = inner
        self.down = False
        self.in_flight = 0
        self.max_in_flight = 0
        self.sent = 0
        self._lock = threading.Lock()

    def _gate(self) -> None:
        if self.down:
            raise ChainUnavailable("test: chain node unavailable")

    @property
    def account(self) -> str:
        return self.inner.account

    @property
    def contract_address(self) -> str | None:
        return self.inner.contract_address

    def deploy(self, admin: str | None = None) -> str:
        self._gate()
        return self.inner.deploy(admin)

    def grant(self, origin: str, account: str) -> TxRef:
        self._gate()
        return self.inner.grant(origin, account)

    def revoke(self, origin: str, account: str) -> TxRef:
        self._gate()
        return self.inner.revoke(origin, account)

    def is_anchorer(self, origin: str, account: str) -> bool:
        self._gate()
        return self.inner.is_anchorer(origin, account)

    def anchor(self, origin: str, tree_size: int, root: bytes) -> TxRef:
        self._gate()
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.sent += 1
        return self.inner.anchor(origin, tree_size, root)

    def wait(self, tx: TxRef, timeout: float | None = None) -> AnchorRecord:
        try:
            self._gate()
            return self.inner.wait(tx, timeout)
        finally:
            with self._lock:
                self.in_flight -= 1

    def lookup(self, origin: str, tree_size: int) -> AnchorRecord | None:
        self._gate()
        return self.inner.lookup(origin, tree_size)

    def latest(self, origin: str) -> AnchorRecord | None:
        self._gate()
        return self.inner.latest(origin)

    def events(self, origin: str, from_block: int = 0, to_block: int | None = None):
        self._gate()
        return self.inner.events(origin, from_block, to_block)


@pytest.fixture
def log(tmp_path):
    with MerkleLog(SQLiteStore(tmp_path / "log.db"), KEY, ORIGIN) as merkle_log:
        yield merkle_log


def _append(log: MerkleLog, n: int, tag: str = "e") -> int:
    """Append n entries as one batch; returns the new tree size."""
    base = log.size
    log.append_many([f"{tag}-{base + i}".encode() for i in range(n)])
    return log.size


def _anchorer(log, chain, tmp_path, clock, **options) -> Anchorer:
    return Anchorer(log, chain, tmp_path / "anchors.db", clock=clock, **options)


def test_schedule_interval_or_entry_count_whichever_first(log, tmp_path):
    clock = Clock()
    chain = EmbeddedChain()
    Anchorer.ensure_contract(chain, ORIGIN)
    anchorer = _anchorer(log, chain, tmp_path, clock, interval=5.0, every=100)

    assert anchorer.run_once() is None  # empty log: nothing to anchor
    _append(log, 5)
    first = anchorer.run_once()  # nothing anchored yet: due at once
    assert (first.tree_size, first.status) == (5, "confirmed")
    _append(log, 5)
    clock.advance(1.0)
    assert anchorer.run_once() is None  # grew by 5 < 100, 1 s < 5 s
    clock.advance(4.0)
    assert anchorer.run_once().tree_size == 10  # interval reached
    _append(log, 100)
    clock.advance(0.5)
    assert anchorer.run_once().tree_size == 110  # 100 new entries before the interval
    clock.advance(60.0)
    assert anchorer.run_once() is None  # no growth, no transaction

    rows = anchorer.anchors(ORIGIN)
    assert [(r.tree_size, r.status) for r in rows] == [
        (5, "confirmed"),
        (10, "confirmed"),
        (110, "confirmed"),
    ]
    assert len({r.tx_hash for r in rows}) == 3
    on_chain = chain.events(ORIGIN)
    assert [(e.tree_size, e.root, e.tx_hash) for e in on_chain] == [
        (r.tree_size, r.root, r.tx_hash) for r in rows
    ]
    assert all(r.block_number and r.chain_id and r.contract == chain.contract_address for r in rows)
    assert rows[0].root == log.root(5)


def test_unreachable_chain_keeps_anchor_pending_with_capped_backoff(log, tmp_path):
    clock = Clock()
    chain = Switchable(EmbeddedChain())
    Anchorer.ensure_contract(chain, ORIGIN)
    anchorer = _anchorer(
        log, chain, tmp_path, clock, interval=5.0, backoff_initial=0.5, backoff_max=4.0
    )
    _append(log, 7)
    chain.down = True
    row = anchorer.run_once()
    assert (row.status, row.attempts, row.tree_size) == ("pending", 1, 7)
    assert "unavailable" in row.last_error
    delays = [anchorer.status().retry_in]
    for _ in range(5):
        assert anchorer.run_once() is None  # still backing off
        clock.advance(anchorer.status().retry_in)
        anchorer.run_once()
        delays.append(anchorer.status().retry_in)
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    status = anchorer.status()
    assert status.failures == 6 and status.pending.attempts == 6
    assert status.lag.entries == 7

    _append(log, 3)  # appends carry on while the chain is down
    chain.down = False
    clock.advance(4.0)
    row = anchorer.run_once()
    assert (row.id, row.status, row.tree_size) == (status.pending.id, "confirmed", 7)
    assert anchorer.status().failures == 0 and anchorer.status().pending is None
    clock.advance(5.0)
    assert anchorer.run_once().tree_size == 10
    assert anchorer.lag().entries == 0


def _checkpoint_sizes(log: MerkleLog) -> list[int]:
    return log.store.checkpoint_sizes(after=0, limit=10_000)


def test_covering_anchor_receipt_anchor_and_verification(log, tmp_path):
    clock = Clock()
    chain = EmbeddedChain()
    Anchorer.ensure_contract(chain, ORIGIN)
    anchorer = _anchorer(log, chain, tmp_path, clock, interval=5.0)
    _append(log, 3)
    _append(log, 2)  # checkpoint 5
    anchorer.run_once()
    _append(log, 4)  # checkpoint 9, not anchored
    assert [r.tree_size for r in anchorer.anchors()] == [5]
    assert anchorer.covering_anchor(1).tree_size == 5
    assert anchorer.covering_anchor(5).tree_size == 5
    assert anchorer.covering_anchor(6) is None
    assert anchorer.receipt_anchor(9) is None

    # Exact: the receipt's own checkpoint is on chain.
    exact = anchorer.attach_anchor(log.receipt(4, 5))
    assert exact["anchor"]["consistency_proof"] == []
    check = verify_anchored(exact, chain, TRUST)
    assert check.exact and check.anchored.tx_hash == anchorer.covering_anchor(5).tx_hash

    # Covered: checkpoint 3 is extended by anchored checkpoint 5.
    covered = anchorer.attach_anchor(log.receipt(1, 3))
    anchor = covered["anchor"]
    assert (anchor["tree_size"], anchor["root"]) == (5, log.root(5).hex())
    assert anchor["chain_id"] == chain._w3.eth.chain_id
    check = verify_anchored(covered, chain, TRUST)
    assert not check.exact and check.anchored.tree_size == 5
    assert check.checks[-1] == "anchor consistency (size 3 -> anchored size 5)"
    # The same from a bare signed checkpoint with the proof passed in.
    verify_anchored(log.checkpoint(3), chain, TRUST, log.consistency_proof(3, 5), anchored_size=5)

    # Not anchored at or above its size.
    with pytest.raises(AnchorCheckError, match=r"^anchor: no anchor for origin .* at or above"):
        verify_anchored(log.receipt(8, 9), chain, TRUST)
    # Tampered consistency proof.
    bad = json.loads(json.dumps(covered))
    proof = bad["anchor"]["consistency_proof"]
    proof[0] = ("ff" if proof[0][:2] != "ff" else "00") + proof[0][2:]
    with pytest.raises(AnchorCheckError, match=r"^anchor consistency: size 3 to 5"):
        verify_anchored(bad, chain, TRUST)
    # No proof for a later anchor.
    no_proof = {**covered, "anchor": {**anchor, "consistency_proof": None}}
    with pytest.raises(AnchorCheckError, match="no consistency proof from size 3"):
        verify_anchored(no_proof, chain, TRUST)
    # The receipt claims a root the chain does not hold.
    wrong_root = {**covered, "anchor": {**anchor, "root": "11" * 32}}
    with pytest.raises(AnchorCheckError, match="differs from the receipt's anchor root"):
        verify_anchored(wrong_root, chain, TRUST)
    # The receipt names another chain.
    other_chain = {**covered, "anchor": {**anchor, "chain_id": 7}}
    reader = _WithChainId(chain, anchor["chain_id"])
    with pytest.raises(AnchorCheckError, match="chain id differs"):
        verify_anchored(other_chain, reader, TRUST)
    with pytest.raises(AnchorCheckError, match=r"^anchor format: anchor.root"):
        verify_anchored({**covered, "anchor": {**anchor, "root": "zz"}}, chain, TRUST)


class _WithChainId:
    def __init__(self, chain: Chain, chain_id: int) -> None:
        self._chain = chain
        self.chain_id = chain_id

    def lookup(self, origin, tree_size):
        return self._chain.lookup(origin, tree_size)

    def latest(self, origin):
        return self._chain.latest(origin)

    def events(self, origin, from_block=0, to_block=None):
        return self._chain.events(origin, from_block, to_block)


def test_root_on_chain_differing_from_checkpoint_is_named(log):
    chain = EmbeddedChain()
    Anchorer.ensure_contract(chain, ORIGIN)
    _append(log, 3)
    chain.wait(chain.anchor(ORIGIN, 3, b"\x01" * 32))  # someone anchored another tree
    with pytest.raises(AnchorCheckError, match="root on chain differs from checkpoint root"):
        verify_anchored(log.receipt(0, 3), chain, TRUST)


def test_a_chain_anchor_the_log_contradicts_stops_the_anchorer_and_names_it(log, tmp_path):
    """Reconciling compares the chain's latest anchor of our origin with the log: a root the
    log does not have at that size is an integrity failure (reported through ``failure``,
    so the gateway's health turns down), never retried as an outage or anchored over."""
    clock = Clock()
    chain = EmbeddedChain()
    Anchorer.ensure_contract(chain, ORIGIN)
    _append(log, 3)
    chain.wait(chain.anchor(ORIGIN, 3, b"\x01" * 32))  # not this log's tree at size 3
    anchorer = _anchorer(log, chain, tmp_path, clock)
    try:
        anchorer._step()
        assert anchorer.failure is not None
        assert "IntegrityError" in anchorer.failure and "size 3" in anchorer.failure
        assert anchorer.store.pending(ORIGIN) == [] or all(
            r.status != "confirmed" for r in anchorer.store.pending(ORIGIN)
        )
        assert chain.latest(ORIGIN).root == b"\x01" * 32  # nothing anchored over it
    finally:
        anchorer.close()


def test_restart_on_a_fresh_embedded_chain_reanchors_and_covers_everything(tmp_path):
    clock = Clock()
    log_path, store_path = tmp_path / "log.db", tmp_path / "anchors.db"
    # Run 1: anchors at three sizes, then a fourth checkpoint stays pending (chain down).
    merkle_log = MerkleLog(SQLiteStore(log_path), KEY, ORIGIN)
    chain = Switchable(EmbeddedChain())
    anchorer = Anchorer(merkle_log, chain, store_path, clock=clock, provision=True)
    for n in (4, 1, 4, 2, 3):
        _append(merkle_log, n)
        clock.advance(5.0)
        anchorer.run_once()
    anchored_before = [r.tree_size for r in anchorer.anchors() if r.status == "confirmed"]
    assert anchored_before == [4, 5, 9, 11, 14]
    _append(merkle_log, 6)
    chain.down = True
    clock.advance(5.0)
    assert anchorer.run_once().status == "pending"
    anchorer.close()
    sizes = _checkpoint_sizes(merkle_log)
    merkle_log.close()

    # Run 2: same log and anchor store, a new (empty) embedded chain.
    merkle_log = MerkleLog(SQLiteStore(log_path), KEY, ORIGIN)
    chain2 = EmbeddedChain()
    anchorer = Anchorer(merkle_log, chain2, store_path, clock=clock, provision=True)
    anchorer.start()
    try:
        assert anchorer.wait_covered(20, timeout=60) is not None
    finally:
        anchorer.stop()
    rows = anchorer.anchors()
    assert [(r.tree_size, r.status) for r in rows] == [
        (4, "lost"),
        (5, "lost"),
        (9, "lost"),
        (11, "lost"),
        (14, "lost"),
        (14, "confirmed"),  # the latest confirmed checkpoint, re-anchored first
        (20, "confirmed"),  # then the one left pending
    ]
    assert [e.tree_size for e in chain2.events(ORIGIN)] == [14, 20]
    for size in sizes:
        row = anchorer.covering_anchor(size)
        assert row is not None and row.status == "confirmed" and row.tree_size >= size
        receipt = anchorer.attach_anchor(merkle_log.receipt(size - 1, size))
        assert verify_anchored(receipt, chain2, TRUST).anchored.tree_size == row.tree_size
    merkle_log.close()


def test_thread_under_append_load_one_transaction_in_flight(log, tmp_path):
    chain = Switchable(EmbeddedChain())
    anchorer = Anchorer(log, chain, tmp_path / "anchors.db", interval=0.05, provision=True)
    anchorer.start()
    futures: list[Future] = []
    for i in range(300):
        futures.append(log.append_batch_async([b"load-%d-%d" % (i, j) for j in range(50)]))
    results = [f.result(timeout=60) for f in futures]  # appends never wait for the chain
    final = max(r.tree_size for batch in results for r in batch)
    anchorer.anchor_now()
    assert anchorer.wait_covered(final, timeout=60) is not None
    anchorer.stop()
    rows = anchorer.anchors()
    assert all(r.status == "confirmed" for r in rows)
    assert [r.tree_size for r in rows] == sorted({r.tree_size for r in rows})
    assert chain.max_in_flight == 1 and chain.sent == len(rows)
    assert len(rows) <= len(_checkpoint_sizes(log))
    assert anchorer.lag().entries == 0


def test_anchor_history_is_consistent_and_tampering_is_named(log, tmp_path):
    clock = Clock()
    chain = EmbeddedChain()
    anchorer = _anchorer(log, chain, tmp_path, clock, provision=True)
    for n in (3, 5, 8):
        _append(log, n)
        clock.advance(5.0)
        anchorer.run_once()
    records = chain.events(ORIGIN)
    proofs = anchorer.consistency_proofs()
    assert [(p["old_size"], p["new_size"]) for p in proofs] == [(3, 8), (8, 16)]
    assert [p.status for p in check_anchor_history(records, proofs)] == [
        "consistent",
        "consistent",
    ]
    assert [p.status for p in check_anchor_history(records, proofs[:1])] == [
        "consistent",
        "unchecked",
    ]
    proofs[1]["proof"] = proofs[1]["proof"][:-1]
    pairs = check_anchor_history(records, proofs)
    assert pairs[1].status == "inconsistent" and pairs[1].new.tree_size == 16


def test_ensure_contract_is_idempotent_and_grants_another_account():
    admin = EmbeddedChain()
    gateway = admin.as_account(admin.accounts[1])
    address = Anchorer.ensure_contract(gateway, ORIGIN, admin=admin)
    assert admin.is_anchorer(ORIGIN, gateway.account)
    assert not admin.is_anchorer(ORIGIN, admin.account)
    assert Anchorer.ensure_contract(gateway, ORIGIN, admin=admin) == address
    assert Anchorer.ensure_contract(admin, ORIGIN) == address  # now grants admin too
    assert admin.is_anchorer(ORIGIN, admin.account)


def test_without_provision_a_missing_contract_is_retried_not_raised(log, tmp_path):
    clock = Clock()
    chain = EmbeddedChain()
    anchorer = _anchorer(log, chain, tmp_path, clock)
    _append(log, 2)
    assert anchorer.run_once().status == "pending"
    assert "no AnchorRegistry contract bound" in anchorer.status().last_error
    Anchorer.ensure_contract(chain, ORIGIN)
    clock.advance(1.0)
    assert anchorer.run_once().status == "confirmed"


def test_not_anchorer_is_retried_until_granted(log, tmp_path):
    clock = Clock()
    admin = EmbeddedChain()
    admin.deploy()
    gateway = admin.as_account(admin.accounts[1])
    anchorer = _anchorer(log, gateway, tmp_path, clock)
    _append(log, 2)
    row = anchorer.run_once()
    assert row.status == "pending" and "NotAnchorer" in row.last_error
    admin.grant(ORIGIN, gateway.account)
    clock.advance(1.0)
    assert anchorer.run_once().status == "confirmed"


def test_settings_and_store_errors(tmp_path, log):
    chain = EmbeddedChain()
    with pytest.raises(ValueError, match="interval"):
        Anchorer(log, chain, tmp_path / "a.db", interval=0)
    with pytest.raises(ValueError, match="every"):
        Anchorer(log, chain, tmp_path / "a.db", every=0)
    with pytest.raises(ValueError, match="backoff"):
        Anchorer(log, chain, tmp_path / "a.db", backoff_initial=5, backoff_max=1)
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StorageError, match="cannot open anchor database"):
        AnchorStore(tmp_path / "dir.db")
    assert issubclass(ChainUnavailable, AnchorError)
