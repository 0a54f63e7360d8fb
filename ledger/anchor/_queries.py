"""What the anchorer reports: its lag and status (for metrics), and the anchor objects and
consistency proofs that go into receipts and ``yrd-audit anchors --proofs``.

Separate from the anchoring itself: these only read the anchor store and the log, never the
chain, so they answer while the chain is down.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.anchor._anchor_store import CONFIRMED, AnchorRow, AnchorStore

if TYPE_CHECKING:
    from ledger.log import MerkleLog

__all__ = ["AnchorLag", "AnchorerStatus", "consistency_proofs", "lag_of", "receipt_anchor"]


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


def lag_of(size: int, last: AnchorRow | None, started_at: float, now: float) -> AnchorLag:
    """The lag of a log of ``size`` whose last confirmed anchor is ``last``."""
    anchored = 0 if last is None else last.tree_size
    since = started_at if last is None else last.confirmed_at or last.updated_at
    return AnchorLag(max(0, size - anchored), max(0.0, now - since), size, anchored)


def receipt_anchor(log: MerkleLog, row: AnchorRow | None, tree_size: int) -> dict[str, Any] | None:
    """The receipt's ``anchor`` object for a checkpoint of ``tree_size`` covered by ``row``
    (docs/ledger.md), with a consistency proof from ``tree_size`` to its size; None if no
    row covers it."""
    if row is None:
        return None
    proof = [] if row.tree_size == tree_size else log.consistency_proof(tree_size, row.tree_size)
    return {
        "chain_id": row.chain_id,
        "contract": row.contract,
        "tree_size": row.tree_size,
        "root": row.root.hex(),
        "tx_hash": row.tx_hash,
        "block_number": row.block_number,
        "consistency_proof": [p.hex() for p in proof],
    }


def consistency_proofs(
    log: MerkleLog, store: AnchorStore, origin: str, sizes: list[int] | None
) -> list[dict[str, Any]]:
    """Proofs between consecutive ``sizes`` (default: every confirmed or lost anchor), in
    the ``--proofs`` format of ``yrd-audit anchors``."""
    if sizes is None:
        rows = store.rows(origin, 0, (CONFIRMED, "lost"))
        sizes = sorted({row.tree_size for row in rows})
    return [
        {
            "old_size": old,
            "new_size": new,
            "proof": [p.hex() for p in log.consistency_proof(old, new)],
        }
        for old, new in itertools.pairwise(sizes)
        if old < new
    ]
