"""Bringing the anchorer's view of the chain in line with the chain, before it sends.

Separate from sending because it runs only on start and after an error, and because it is
where a chain that forgot its anchors is noticed.

Chains that forget. When the chain no longer holds the largest confirmed anchor (the embedded
chain after a restart, a development node restarted empty, a newly configured contract), the
confirmed rows are marked ``lost`` and the largest of them is re-anchored at once, with the same
size and root, before anything newer: every checkpoint anchored before is then covered again by
an anchor of a size at least its own (`Anchorer.covering_anchor`), plus a consistency proof.
With ``provision=True`` (development chains only) the anchorer also deploys the registry and
grants itself the anchorer role when the bound address has no contract (`ensure_contract`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from eth_typing import ChecksumAddress

from ledger.anchor._anchor_store import AnchorStore
from ledger.anchor._base import Chain
from ledger.anchor._web3chain import Web3Chain
from ledger.anchor.errors import AnchorError

__all__ = ["ChainState", "ensure_contract", "reconcile"]

log = logging.getLogger("ledger.anchor")


@dataclass(slots=True)
class ChainState:
    """What the anchorer last learned of the chain (shared by reconciling and sending)."""

    chain_id: int | None = None
    latest: int = 0
    """Largest size the chain was last seen to hold."""
    check: bool = True
    """Verify contract and chain state before the next send."""


def reconcile(
    chain: Chain,
    store: AnchorStore,
    origin: str,
    state: ChainState,
    now: float,
    *,
    provision: bool,
    check_anchor: Callable[[tuple[int, bytes]], None] | None = None,
) -> None:
    """After start or an error: make sure the contract exists and still has our anchors.

    Updates ``state``; marks lost anchors and queues the largest again in ``store``. Raises
    AnchorError (ChainUnavailable if unreachable) when there is no contract or the chain fails.
    ``check_anchor`` (the log's ``MerkleLog.check_anchor``) is given the chain's latest anchor
    of ``origin``: a root the log does not have at that size raises
    ``ledger.errors.IntegrityError`` (``anchor_mismatch``), which is not an outage to retry
    but a log that contradicts what it anchored.
    """
    if provision:
        ensure_contract(chain, origin)
    elif not _has_contract(chain):
        where = chain.contract_address
        raise AnchorError(
            f"no AnchorRegistry contract {'bound' if where is None else 'at ' + where} "
            "(deploy it, or use provision=True on a development chain)"
        )
    state.chain_id = _chain_id(chain)
    latest = chain.latest(origin)
    if latest is not None and check_anchor is not None:
        check_anchor((latest.tree_size, latest.root))
    state.latest = 0 if latest is None else latest.tree_size
    ours = store.latest_confirmed(origin)
    if ours is not None and state.latest < ours.tree_size:
        reason = (
            f"chain lost the anchor at size {ours.tree_size}: it holds "
            f"{state.latest or 'none'} for {origin}"
        )
        again = store.replace_lost(origin, reason, now)
        log.warning("%s; re-anchoring size %d", reason, ours.tree_size)
        assert again is not None
    state.check = False


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
    bound = chain.contract_address
    assert bound is not None
    return bound


def _has_contract(chain: Chain) -> bool:
    address = chain.contract_address
    if address is None:
        return False
    if not isinstance(chain, Web3Chain):
        return True
    with chain._guard(f"code at {address}"):
        return len(chain._w3.eth.get_code(cast(ChecksumAddress, address))) > 0


def _chain_id(chain: Chain) -> int | None:
    if not isinstance(chain, Web3Chain):
        return getattr(chain, "chain_id", None)
    with chain._guard("chain id"):
        return int(chain._w3.eth.chain_id)
