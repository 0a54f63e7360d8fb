"""Sending one anchor and settling its row: confirmed, failed for good, or left to retry.

Separate from the schedule and the thread because this is the only place that writes to the
chain, and the place that decides which chain answers are final.

Outages. The chain being unreachable (`ChainUnavailable`) or refusing for a reason that may
pass (``NotAnchorer``, no contract yet) raises AnchorError and leaves the row pending, for the
`Anchorer` to retry with backoff. A retried row is first looked up on the chain: the last
transaction may have been mined after all, or a larger anchor may have superseded it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ledger.anchor._anchor_store import AnchorRow, AnchorStore
from ledger.anchor._base import AnchorRecord, Chain
from ledger.anchor._reconcile import ChainState
from ledger.anchor.errors import ContractRevert

__all__ = ["settle"]

log = logging.getLogger("ledger.anchor")

# Refusals that an operator (or provisioning) can cure: keep the row pending and retry.
_TRANSIENT_REVERTS = {"NotAnchorer"}


def settle(
    chain: Chain,
    store: AnchorStore,
    origin: str,
    row: AnchorRow,
    state: ChainState,
    *,
    wait_timeout: float | None,
    clock: Callable[[], float],
) -> None:
    """Get ``row`` confirmed (or failed for good); raises AnchorError to retry later."""
    if row.attempts or row.tx_hash:
        # A retry: the last transaction may have been mined after all.
        if _already_on_chain(chain, store, origin, row, state, clock):
            return
    try:
        tx = chain.anchor(origin, row.tree_size, row.root)
        store.sent(row.id, state.chain_id, chain.contract_address or "", tx.tx_hash, clock())
        record = chain.wait(tx, timeout=wait_timeout)
    except ContractRevert as exc:
        if exc.error_name in _TRANSIENT_REVERTS:
            state.check = True
            raise
        if exc.error_name == "TreeSizeNotGrowing" and _already_on_chain(
            chain, store, origin, row, state, clock
        ):
            return
        store.fail(row.id, f"refused by the contract: {exc}", clock())
        log.error("anchor of %s at size %d failed: %s", origin, row.tree_size, exc)
        return
    _confirm(chain, store, origin, row, record, state, clock)


def _already_on_chain(
    chain: Chain,
    store: AnchorStore,
    origin: str,
    row: AnchorRow,
    state: ChainState,
    clock: Callable[[], float],
) -> bool:
    """Settle ``row`` from the chain's state if the chain already decided it."""
    record = chain.lookup(origin, row.tree_size)
    if record is not None:
        if record.root == row.root:
            _confirm(chain, store, origin, row, record, state, clock)
        else:
            store.fail(row.id, "chain holds a different root at this size", clock())
            log.error("chain holds a different root for %s at size %d", row.origin, row.tree_size)
        return True
    latest = chain.latest(origin)
    if latest is not None and latest.tree_size > row.tree_size:
        store.fail(row.id, f"superseded: chain already anchored size {latest.tree_size}", clock())
        return True
    return False


def _confirm(
    chain: Chain,
    store: AnchorStore,
    origin: str,
    row: AnchorRow,
    record: AnchorRecord,
    state: ChainState,
    clock: Callable[[], float],
) -> None:
    state.latest = max(state.latest, record.tree_size)
    store.confirm(
        row.id,
        chain_id=state.chain_id,
        contract=chain.contract_address,
        tx_hash=record.tx_hash,
        block_number=record.block_number,
        block_time=record.timestamp,
        now=clock(),
    )
    log.info("anchored %s at size %d in block %d", origin, row.tree_size, record.block_number)
