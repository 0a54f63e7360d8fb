"""The anchorer: writes the log's latest checkpoint to the AnchorRegistry, one transaction at once.

Schedule. A new anchor is due when the log has grown past the last anchored size and either
``interval`` seconds have passed since the last anchor was started, or ``every`` new entries
have arrived, whichever comes first. Only one transaction is ever in flight: the next anchor
starts after the last is confirmed or given up, so at full load an anchor covers everything
appended while the previous one was on its way (one transaction per interval, or per
``every`` entries, regardless of the append rate).

Durability. Every anchor is a row of its own SQLite file (`AnchorStore`): pending when picked,
then confirmed (block number, time, transaction) or failed. On start, pending rows are
re-checked (the chain may already hold them) and re-sent in ascending size.

Outages. The chain being unreachable (`ChainUnavailable`) or refusing for a reason that may
pass (``NotAnchorer``, no contract yet) leaves the row pending and retries with exponential
backoff (``backoff_initial`` doubling up to ``backoff_max``). The anchorer runs in its own
daemon thread and reads the log only through `MerkleLog`'s public methods, so appends never
wait for it.

Chains that forget. When the chain no longer holds the largest confirmed anchor (the embedded
chain after a restart, a development node restarted empty, a newly configured contract), the
confirmed rows are marked ``lost`` and the largest of them is re-anchored at once, with the same
size and root, before anything newer: every checkpoint anchored before is then covered again by
an anchor of a size at least its own (`covering_anchor`), plus a consistency proof.
With ``provision=True`` (development chains only) the anchorer also deploys the registry and
grants itself the anchorer role when the bound address has no contract (`ensure_contract`).
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.anchor._anchor_store import CONFIRMED, AnchorRow, AnchorStore
from ledger.anchor._base import AnchorRecord, Chain
from ledger.anchor._web3chain import Web3Chain
from ledger.anchor.errors import AnchorError, ContractRevert

if TYPE_CHECKING:
    from ledger.log import MerkleLog

__all__ = ["AnchorLag", "AnchorRow", "Anchorer", "AnchorerStatus"]

log = logging.getLogger("ledger.anchor")

# Refusals that an operator (or provisioning) can cure: keep the row pending and retry.
_TRANSIENT_REVERTS = {"NotAnchorer"}


@dataclass(frozen=True, slots=True)
class AnchorLag:
    """How far anchoring trails the log (for metrics).

    ``entries``: log entries not covered by a confirmed anchor; ``seconds``: since the last
    anchor was confirmed (since the anchorer started, if none was).
    """

    entries: int
    seconds: float
    tree_size: int
    anchored_size: int


@dataclass(frozen=True, slots=True)
class AnchorerStatus:
    origin: str
    running: bool
    interval: float
    every: int | None
    chain_id: int | None
    contract: str | None
    last_confirmed: AnchorRow | None
    pending: AnchorRow | None
    confirmed: int
    failures: int
    """Consecutive failed attempts (0 when the last attempt succeeded)."""
    last_error: str | None
    retry_in: float
    lag: AnchorLag


class Anchorer:
    """Anchors ``log``'s checkpoints on ``chain``, recording each anchor in ``store``.

    ``store`` is an `AnchorStore` or a path to its SQLite file. ``every`` None disables the
    entry-count trigger. ``wait_timeout`` bounds the wait for one confirmation (None: the
    chain's default). ``clock`` gives Unix seconds, for the schedule and the recorded times.
    Call `start` and `stop` (or drive it by hand with `run_once`, as tests do).
    """

    def __init__(
        self,
        log: MerkleLog,
        chain: Chain,
        store: AnchorStore | str | Path,
        *,
        interval: float = 5.0,
        every: int | None = 10_000,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        wait_timeout: float | None = None,
        poll: float = 0.1,
        provision: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive: got {interval}")
        if every is not None and every < 1:
            raise ValueError(f"every must be at least 1 or None: got {every}")
        if not 0 < backoff_initial <= backoff_max:
            raise ValueError("backoff must satisfy 0 < backoff_initial <= backoff_max")
        self.log = log
        self.chain = chain
        self.origin = log.origin
        self.store = store if isinstance(store, AnchorStore) else AnchorStore(store)
        self.interval = interval
        self.every = every
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.wait_timeout = wait_timeout
        self.poll = poll
        self.provision = provision
        self._clock = clock
        self._started_at = clock()
        previous = self.store.latest_any(self.origin)
        self._last_started = -math.inf if previous is None else previous.created_at
        self._chain_latest = 0  # largest size the chain was last seen to hold
        self._check_chain = True  # verify contract and chain state before the next send
        self._chain_id: int | None = None
        self._failures = 0
        self._last_error: str | None = None
        self._retry_at = -math.inf
        self._force = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the daemon thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="anchorer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop the thread after its current step; pending rows stay for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self.store.close()

    def anchor_now(self) -> None:
        """Make an anchor due at once (if the log grew), and cancel any backoff wait."""
        self._force = True
        self._retry_at = -math.inf
        self._wake.set()

    def wait_covered(self, tree_size: int, timeout: float | None = None) -> AnchorRow | None:
        """Block until a confirmed anchor covers ``tree_size``; None on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                row = self.covering_anchor(tree_size)
                if row is not None:
                    return row
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._changed.wait(0.5 if remaining is None else min(0.5, remaining))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # never let the thread die: log it and back off
                log.exception("anchorer step failed")
                self._backoff("unexpected error (see log)")
            self._wake.wait(self._sleep_time())
            self._wake.clear()

    def _sleep_time(self) -> float:
        now = self._clock()
        if now < self._retry_at:
            return min(self._retry_at - now, 1.0)
        if self.store.pending(self.origin):
            return 0.0
        return self.poll

    def run_once(self) -> AnchorRow | None:
        """One step: settle the oldest pending anchor, or start one if due.

        Returns the row worked on (as stored afterwards), or None if nothing was due or the
        chain is in backoff. Chain errors are recorded and scheduled for retry, not raised.
        """
        now = self._clock()
        if now < self._retry_at:
            return None
        # The row is recorded before the chain is touched: an outage leaves it pending.
        pending = self.store.pending(self.origin)
        row: AnchorRow | None = pending[0] if pending else self._start_due(now)
        if row is None and not self._check_chain:
            return None
        try:
            if self._check_chain:
                self._prepare_chain(now)
                pending = self.store.pending(self.origin)  # preparing may re-anchor
                row = pending[0] if pending else None
                if row is None:
                    return None
            self._settle(row)
        except AnchorError as exc:
            self._backoff(str(exc), row)
            log.warning("anchor of %s delayed: %s", self.origin, exc)
            return None if row is None else self.store.get(row.id)
        finally:
            with self._changed:
                self._changed.notify_all()
        self._failures = 0
        self._last_error = None
        return self.store.get(row.id)

    # -- the steps ---------------------------------------------------------------------------

    def _prepare_chain(self, now: float) -> None:
        """After start or an error: make sure the contract exists and still has our anchors."""
        if self.provision:
            self.ensure_contract(self.chain, self.origin)
        elif not _has_contract(self.chain):
            where = self.chain.contract_address
            raise AnchorError(
                f"no AnchorRegistry contract {'bound' if where is None else 'at ' + where} "
                "(deploy it, or use provision=True on a development chain)"
            )
        self._chain_id = _chain_id(self.chain)
        latest = self.chain.latest(self.origin)
        self._chain_latest = 0 if latest is None else latest.tree_size
        ours = self.store.latest_confirmed(self.origin)
        if ours is not None and self._chain_latest < ours.tree_size:
            reason = (
                f"chain lost the anchor at size {ours.tree_size}: it holds "
                f"{self._chain_latest or 'none'} for {self.origin}"
            )
            again = self.store.replace_lost(self.origin, reason, now)
            log.warning("%s; re-anchoring size %d", reason, ours.tree_size)
            assert again is not None
        self._check_chain = False

    def _start_due(self, now: float) -> AnchorRow | None:
        checkpoint = self.log.latest_checkpoint()
        if checkpoint is None:
            return None
        ours = self.store.latest_confirmed(self.origin)
        anchored = max(self._chain_latest, 0 if ours is None else ours.tree_size)
        grown = checkpoint.size - anchored
        if grown <= 0:
            self._force = False
            return None
        due = (
            self._force
            or now - self._last_started >= self.interval
            or (self.every is not None and grown >= self.every)
        )
        if not due:
            return None
        self._force = False
        self._last_started = now
        return self.store.add(self.origin, checkpoint.size, checkpoint.root, now)

    def _settle(self, row: AnchorRow) -> None:
        """Get ``row`` confirmed (or failed for good); raises AnchorError to retry later."""
        if row.attempts or row.tx_hash:
            # A retry: the last transaction may have been mined after all.
            if self._already_on_chain(row):
                return
        try:
            tx = self.chain.anchor(self.origin, row.tree_size, row.root)
            self.store.sent(
                row.id, self._chain_id, self.chain.contract_address or "", tx.tx_hash, self._clock()
            )
            record = self.chain.wait(tx, timeout=self.wait_timeout)
        except ContractRevert as exc:
            if exc.error_name in _TRANSIENT_REVERTS:
                self._check_chain = True
                raise
            if exc.error_name == "TreeSizeNotGrowing" and self._already_on_chain(row):
                return
            self.store.fail(row.id, f"refused by the contract: {exc}", self._clock())
            log.error("anchor of %s at size %d failed: %s", self.origin, row.tree_size, exc)
            return
        self._confirm(row, record)

    def _already_on_chain(self, row: AnchorRow) -> bool:
        """Settle ``row`` from the chain's state if the chain already decided it."""
        record = self.chain.lookup(self.origin, row.tree_size)
        if record is not None:
            if record.root == row.root:
                self._confirm(row, record)
            else:
                self.store.fail(row.id, "chain holds a different root at this size", self._clock())
                log.error(
                    "chain holds a different root for %s at size %d", row.origin, row.tree_size
                )
            return True
        latest = self.chain.latest(self.origin)
        if latest is not None and latest.tree_size > row.tree_size:
            self.store.fail(
                row.id, f"superseded: chain already anchored size {latest.tree_size}", self._clock()
            )
            return True
        return False

    def _confirm(self, row: AnchorRow, record: AnchorRecord) -> None:
        self._chain_latest = max(self._chain_latest, record.tree_size)
        self.store.confirm(
            row.id,
            chain_id=self._chain_id,
            contract=self.chain.contract_address,
            tx_hash=record.tx_hash,
            block_number=record.block_number,
            block_time=record.timestamp,
            now=self._clock(),
        )
        log.info(
            "anchored %s at size %d in block %d", self.origin, row.tree_size, record.block_number
        )

    def _backoff(self, error: str, row: AnchorRow | None = None) -> None:
        self._failures += 1
        self._last_error = error
        self._check_chain = True
        delay = min(self.backoff_max, self.backoff_initial * 2 ** (self._failures - 1))
        now = self._clock()
        self._retry_at = now + delay
        if row is not None:
            self.store.attempted(row.id, error, now)

    # -- queries -----------------------------------------------------------------------------

    def anchors(self, origin: str | None = None, from_size: int = 0) -> list[AnchorRow]:
        """Every recorded anchor of ``origin`` (default: the log's) with size >= from_size."""
        return self.store.rows(origin or self.origin, from_size)

    def covering_anchor(self, tree_size: int) -> AnchorRow | None:
        """The smallest confirmed anchor of size >= ``tree_size``, or None."""
        return self.store.covering(self.origin, tree_size)

    def lag(self) -> AnchorLag:
        size = self.log.size
        last = self.store.latest_confirmed(self.origin)
        anchored = 0 if last is None else last.tree_size
        since = self._started_at if last is None else last.confirmed_at or last.updated_at
        return AnchorLag(max(0, size - anchored), max(0.0, self._clock() - since), size, anchored)

    def status(self) -> AnchorerStatus:
        pending = self.store.pending(self.origin)
        return AnchorerStatus(
            origin=self.origin,
            running=self._thread is not None and self._thread.is_alive(),
            interval=self.interval,
            every=self.every,
            chain_id=self._chain_id,
            contract=self.chain.contract_address,
            last_confirmed=self.store.latest_confirmed(self.origin),
            pending=pending[0] if pending else None,
            confirmed=self.store.count(self.origin, CONFIRMED),
            failures=self._failures,
            last_error=self._last_error,
            retry_in=max(0.0, self._retry_at - self._clock()),
            lag=self.lag(),
        )

    def receipt_anchor(self, tree_size: int) -> dict[str, Any] | None:
        """The receipt's ``anchor`` object for a checkpoint of ``tree_size`` (docs/ledger.md).

        Uses the covering anchor and a consistency proof from ``tree_size`` to its size;
        None while no confirmed anchor covers it.
        """
        row = self.covering_anchor(tree_size)
        if row is None:
            return None
        proof = (
            []
            if row.tree_size == tree_size
            else self.log.consistency_proof(tree_size, row.tree_size)
        )
        return {
            "chain_id": row.chain_id,
            "contract": row.contract,
            "tree_size": row.tree_size,
            "root": row.root.hex(),
            "tx_hash": row.tx_hash,
            "block_number": row.block_number,
            "consistency_proof": [p.hex() for p in proof],
        }

    def attach_anchor(self, receipt: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``receipt`` with its ``anchor`` object, if an anchor covers it yet."""
        anchor = self.receipt_anchor(int(receipt["tree_size"]))
        return receipt if anchor is None else {**receipt, "anchor": anchor}

    def consistency_proofs(self, sizes: list[int] | None = None) -> list[dict[str, Any]]:
        """Proofs between consecutive ``sizes`` (default: every confirmed or lost anchor), in
        the ``--proofs`` format of ``yrd-audit anchors``."""
        if sizes is None:
            rows = self.store.rows(self.origin, 0, (CONFIRMED, "lost"))
            sizes = sorted({row.tree_size for row in rows})
        return [
            {
                "old_size": old,
                "new_size": new,
                "proof": [p.hex() for p in self.log.consistency_proof(old, new)],
            }
            for old, new in itertools.pairwise(sizes)
            if old < new
        ]

    # -- setup -------------------------------------------------------------------------------

    @staticmethod
    def ensure_contract(chain: Chain, origin: str, admin: Chain | None = None) -> str:
        """Development setup: deploy a registry if ``chain`` has none, and make ``chain``'s
        account an anchorer of ``origin``. ``admin`` (default ``chain``) deploys and grants.

        Returns the contract address. Idempotent. In production the consortium admin deploys
        once and grants each gateway's account (docs/ledger.md); do not use this there.
        """
        admin = admin or chain
        if not _has_contract(chain):
            address = admin.deploy()
            if chain is not admin and isinstance(chain, Web3Chain):
                chain._bind(address)
            log.info("deployed AnchorRegistry at %s", address)
        if not chain.is_anchorer(origin, chain.account):
            admin.grant(origin, chain.account)
        address = chain.contract_address
        assert address is not None
        return address


def _has_contract(chain: Chain) -> bool:
    address = chain.contract_address
    if address is None:
        return False
    if not isinstance(chain, Web3Chain):
        return True
    with chain._guard(f"code at {address}"):
        return len(chain._w3.eth.get_code(address)) > 0


def _chain_id(chain: Chain) -> int | None:
    if not isinstance(chain, Web3Chain):
        return getattr(chain, "chain_id", None)
    with chain._guard("chain id"):
        return int(chain._w3.eth.chain_id)
