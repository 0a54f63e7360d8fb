"""The anchorer: writes the log's latest checkpoint to the AnchorRegistry, one transaction at once.

This module is the thread and the state that ties the parts together; each part lives in its
own module: when an anchor is due and how long to back off (`_schedule`), bringing the view of
the chain in line on start and after errors, re-anchoring what a chain forgot (`_reconcile`),
sending and settling one anchor (`_send`), and what is reported (`_queries`).

Durability. Every anchor is a row of its own SQLite file (`AnchorStore`): pending when picked,
then confirmed (block number, time, transaction) or failed. On start, pending rows are
re-checked (the chain may already hold them) and re-sent in ascending size.

Outages. The chain being unreachable (`ChainUnavailable`) or refusing for a reason that may
pass (``NotAnchorer``, no contract yet) leaves the row pending and retries with exponential
backoff (``backoff_initial`` doubling up to ``backoff_max``). The anchorer runs in its own
daemon thread and reads the log only through `MerkleLog`'s public methods, so appends never
wait for it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.anchor import _queries, _reconcile, _schedule, _send
from ledger.anchor._anchor_store import CONFIRMED, AnchorRow, AnchorStore
from ledger.anchor._base import Chain
from ledger.anchor._queries import AnchorerStatus, AnchorLag
from ledger.anchor.errors import AnchorError

if TYPE_CHECKING:
    from ledger.checkpoint import SignedCheckpoint
    from ledger.log import MerkleLog

__all__ = ["AnchorLag", "AnchorRow", "Anchorer", "AnchorerStatus"]

log = logging.getLogger("ledger.anchor")


class Anchorer:
    """Anchors ``log``'s checkpoints on ``chain``, recording each anchor in ``store``.

    ``store`` is an `AnchorStore` or a path to its SQLite file. ``every`` None disables the
    entry-count trigger. ``wait_timeout`` bounds the wait for one confirmation (None: the
    chain's default). ``clock`` gives Unix seconds, for the schedule and the recorded times.
    ``select``, given the log's latest checkpoint size, returns the size of the checkpoint to
    anchor (a checkpoint the log signed, at most that size), or None when there is nothing to
    anchor yet; the gateway passes "the latest checkpoint with a witness quorum" so that what
    is anchored is what the witnesses saw. Default: the latest checkpoint.
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
        select: Callable[[int], int | None] | None = None,
    ) -> None:
        _schedule.check_options(interval, every, backoff_initial, backoff_max)
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
        self._select = select
        self._started_at = clock()
        previous = self.store.latest_any(self.origin)
        self._last_started = -math.inf if previous is None else previous.created_at
        self._chain = _reconcile.ChainState()
        self._failures = 0
        self._last_error: str | None = None
        self._retry_at = -math.inf
        self._force = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._unexpected: str | None = None
        self._died: str | None = None

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the daemon thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._died = None
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

    @property
    def failure(self) -> str | None:
        """Why the anchorer cannot work (None when it can): its thread died, or its last step
        failed unexpectedly (not a chain outage, which is retried and shows as anchor lag)."""
        if self._died is not None:
            return f"anchorer thread died: {self._died}"
        if self._thread is not None and not self._thread.is_alive() and not self._stop.is_set():
            return "anchorer thread is not running"
        return self._unexpected

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._step()
        except BaseException as exc:  # a bug: say so through ``failure`` instead of silently
            self._died = f"{type(exc).__name__}: {exc}"
            log.critical("anchorer thread died: %s", self._died, exc_info=exc)
            raise

    def _step(self) -> None:
        """One guarded step and the sleep after it; nothing a step raises ends the thread."""
        try:
            self.run_once()
        except Exception as exc:  # never let the thread die: log it and back off
            cause = f"{type(exc).__name__}: {exc}"
            if cause != self._unexpected:  # once per cause, not once per retry
                log.exception("anchorer step failed")
            self._unexpected = cause
            try:
                self._backoff("unexpected error (see log)")
            except Exception:
                log.exception("anchorer could not record its backoff")
        else:
            self._unexpected = None
        try:
            sleep = self._sleep_time()
        except Exception:  # the store is unreadable now: try again after the longest wait
            log.exception("anchorer could not read its schedule")
            sleep = self.backoff_max
        self._wake.wait(sleep)
        self._wake.clear()

    def _sleep_time(self) -> float:
        return _schedule.sleep_time(
            self._clock(), self._retry_at, lambda: bool(self.store.pending(self.origin)), self.poll
        )

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
        if row is None and not self._chain.check:
            return None
        try:
            if self._chain.check:
                _reconcile.reconcile(
                    self.chain,
                    self.store,
                    self.origin,
                    self._chain,
                    now,
                    provision=self.provision,
                    check_anchor=getattr(self.log, "check_anchor", None),
                )
                pending = self.store.pending(self.origin)  # reconciling may re-anchor
                row = pending[0] if pending else None
                if row is None:
                    return None
            assert row is not None  # without a chain check, a missing row returned above
            _send.settle(
                self.chain,
                self.store,
                self.origin,
                row,
                self._chain,
                wait_timeout=self.wait_timeout,
                clock=self._clock,
            )
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

    def _start_due(self, now: float) -> AnchorRow | None:
        checkpoint = self._candidate()
        if checkpoint is None:
            return None
        ours = self.store.latest_confirmed(self.origin)
        anchored = max(self._chain.latest, 0 if ours is None else ours.tree_size)
        grown = checkpoint.size - anchored
        if grown <= 0:
            self._force = False
            return None
        due = _schedule.is_due(
            now=now,
            last_started=self._last_started,
            grown=grown,
            interval=self.interval,
            every=self.every,
            force=self._force,
        )
        if not due:
            return None
        self._force = False
        self._last_started = now
        return self.store.add(self.origin, checkpoint.size, checkpoint.root, now)

    def _candidate(self) -> SignedCheckpoint | None:
        """The checkpoint to anchor next: the latest, or the one ``select`` picks."""
        latest = self.log.latest_checkpoint()
        if latest is None or self._select is None:
            return latest
        size = self._select(latest.size)
        if size is None:
            return None
        if not 0 < size <= latest.size:
            raise AnchorError(f"select chose tree size {size}, outside 1..{latest.size}")
        return latest if size == latest.size else self.log.checkpoint(size)

    def _backoff(self, error: str, row: AnchorRow | None = None) -> None:
        self._failures += 1
        self._last_error = error
        self._chain.check = True
        delay = _schedule.backoff_delay(self._failures, self.backoff_initial, self.backoff_max)
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
        return _queries.lag_of(size, last, self._started_at, self._clock())

    def status(self) -> AnchorerStatus:
        pending = self.store.pending(self.origin)
        return AnchorerStatus(
            origin=self.origin,
            running=self._thread is not None and self._thread.is_alive(),
            interval=self.interval,
            every=self.every,
            chain_id=self._chain.chain_id,
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
        return _queries.receipt_anchor(self.log, self.covering_anchor(tree_size), tree_size)

    def attach_anchor(self, receipt: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``receipt`` with its ``anchor`` object, if an anchor covers it yet."""
        anchor = self.receipt_anchor(int(receipt["tree_size"]))
        return receipt if anchor is None else {**receipt, "anchor": anchor}

    def consistency_proofs(self, sizes: list[int] | None = None) -> list[dict[str, Any]]:
        """Proofs between consecutive ``sizes`` (default: every confirmed or lost anchor), in
        the ``--proofs`` format of ``yrd-audit anchors``."""
        return _queries.consistency_proofs(self.log, self.store, self.origin, sizes)

    # -- setup -------------------------------------------------------------------------------

    @staticmethod
    def ensure_contract(chain: Chain, origin: str, admin: Chain | None = None) -> str:
        """Development setup: deploy a registry if ``chain`` has none, and make ``chain``'s
        account an anchorer of ``origin``. ``admin`` (default ``chain``) deploys and grants.

        Returns the contract address. Idempotent. In production the consortium admin deploys
        once and grants each gateway's account (docs/ledger.md); do not use this there.
        """
        return _reconcile.ensure_contract(chain, origin, admin)
