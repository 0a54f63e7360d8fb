"""Anchorer against a real Hardhat node that goes away while the log keeps growing.

The node is stopped mid-run (appends carry on, anchors go pending and back off), then started
again on the same port. A Hardhat node restarts with an empty chain, like any development node:
the anchorer (``provision=True``) redeploys the registry and regrants itself through
`Anchorer.ensure_contract`, notices that the chain lost its anchors, re-anchors the largest one
and then the pending one. At the end every checkpoint the log signed is covered by an anchor
that the restarted chain holds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ledger import merkle
from ledger.anchor import Anchorer, JsonRpcChain
from ledger.crypto import PrivateKey
from ledger.log import MerkleLog, SQLiteStore
from tests.ledger.chain_fixtures import (  # noqa: F401 -- pytest fixture
    ANCHORER_KEY,
    hardhat_factory,
)

ORIGIN = "yrd.gov.cn/log/outage"
KEY = PrivateKey.generate()


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


class Appender(threading.Thread):
    """Appends small batches without pause, and records any append that failed."""

    def __init__(self, log: MerkleLog) -> None:
        super().__init__(daemon=True)
        self.log = log
        self.errors: list[BaseException] = []
        self.batches = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            entries = [b"outage-%d-%d" % (self.batches, i) for i in range(20)]
            try:
                self.log.append_batch_async(entries).result(timeout=30)
            except BaseException as exc:
                self.errors.append(exc)
                return
            self.batches += 1
            time.sleep(0.005)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=60)


def test_outage_appends_continue_and_every_checkpoint_ends_up_covered(
    hardhat_factory,  # noqa: F811
    tmp_path,
) -> None:
    node = hardhat_factory()
    chain = JsonRpcChain(node.url, ANCHORER_KEY, request_timeout=1, timeout=10)
    log = MerkleLog(SQLiteStore(tmp_path / "log.db"), KEY, ORIGIN)
    anchorer = Anchorer(
        log,
        chain,
        tmp_path / "anchors.db",
        interval=0.3,
        backoff_initial=0.2,
        backoff_max=1.0,
        provision=True,
    )
    appender = Appender(log)
    anchorer.start()
    appender.start()
    try:
        _until(lambda: anchorer.status().confirmed >= 3, 60, "three anchors")
        first_address = chain.contract_address

        node.stop()
        size_at_outage = log.size
        _until(lambda: anchorer.status().failures >= 3, 60, "retries while the node is down")
        pending = anchorer.status().pending
        assert pending is not None and pending.status == "pending" and pending.attempts >= 1
        assert "unavailable" in anchorer.status().last_error
        _until(lambda: log.size > size_at_outage + 500, 60, "appends while the node is down")

        hardhat_factory(node.port)  # same port, empty chain
        target = log.size
        assert anchorer.wait_covered(target, timeout=120) is not None
    finally:
        appender.stop()
    assert appender.errors == []
    anchorer.anchor_now()
    final = log.size
    assert anchorer.wait_covered(final, timeout=60) is not None
    anchorer.stop()

    rows = anchorer.anchors()
    assert not [r for r in rows if r.status in ("pending", "failed")]
    lost = [r for r in rows if r.status == "lost"]
    confirmed = [r for r in rows if r.status == "confirmed"]
    assert len(lost) >= 3 and all(r.tree_size <= size_at_outage for r in lost)
    # The largest anchor the chain forgot was anchored again first, then the pending one.
    assert confirmed[0].tree_size == max(r.tree_size for r in lost)
    assert confirmed[1].id == pending.id
    # Confirmed in order of size, and exactly what the restarted chain holds.
    by_time = sorted(confirmed, key=lambda r: (r.confirmed_at, r.id))
    assert [r.tree_size for r in by_time] == [r.tree_size for r in confirmed]
    assert chain.contract_address == first_address  # same deployer nonce on an empty node
    events = chain.events(ORIGIN)
    assert [(e.tree_size, e.root, e.tx_hash) for e in events] == [
        (r.tree_size, r.root, r.tx_hash) for r in confirmed
    ]

    # Nothing lost: every signed checkpoint is covered by an anchor held on chain.
    sizes = log.store.checkpoint_sizes(after=0, limit=1_000_000)
    assert sizes[-1] == final
    held = {e.tree_size: e.root for e in events}
    for size in sizes:
        row = anchorer.covering_anchor(size)
        assert row is not None and held[row.tree_size] == row.root
        proof = log.consistency_proof(size, row.tree_size)
        merkle.verify_consistency(size, row.tree_size, proof, log.checkpoint(size).root, row.root)
    log.close()
