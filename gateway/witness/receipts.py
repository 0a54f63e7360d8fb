"""Receipts with the witnesses' cosignatures, and their upgrade to a witnessed checkpoint.

Every receipt the gateway hands out (Submit, GetReceipt, Pull deliveries, the web audit
receipts) goes through :meth:`WitnessReceipts.annotate` once the registry lists witnesses of
the log: the cosignature lines the gateway holds for the receipt's tree size are appended to
its checkpoint note (``ledger.cosignature.add_signature_lines``; ``verify_receipt`` finds the
log's own line among them) and a field says where it stands::

    "witnesses": {"quorum": K, "cosignatures": n, "status": "witnessed" | "not yet witnessed"}

``witnessed`` means at least ``max(K, 1)`` of the registry's witnesses of the log cosigned
this checkpoint. A registry without witnesses leaves receipts as they were.

:meth:`WitnessReceipts.upgrade` is the OpenTimestamps-style upgrade ``GetReceipt`` gives: a
receipt whose checkpoint has no quorum, when a later checkpoint has one, is re-issued at
that size (inclusion proof at the new size, the new note with its cosignatures) and keeps
the original under ``upgraded_from`` with the consistency proof between the two roots
(docs/receipt.md, "Upgraded receipts"). Both block (store and log reads): call them in a
worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.exchange.logview import GatewayLog
from gateway.registry import TrustRegistry
from gateway.witness.store import WitnessStore
from ledger.cosignature import add_signature_lines

__all__ = ["NOT_WITNESSED", "WITNESSED", "WitnessReceipts"]

WITNESSED = "witnessed"
NOT_WITNESSED = "not yet witnessed"


class WitnessReceipts:
    """Annotates and upgrades receipts of ``log`` from the cosignatures in ``store``."""

    def __init__(
        self, store: WitnessStore, registry: Callable[[], TrustRegistry], log: GatewayLog
    ) -> None:
        self.store = store
        self.registry = registry
        self.log = log

    def active(self) -> bool:
        """Whether the registry lists witnesses of the log (cheap: no store read)."""
        return bool(self.registry().log_witnesses(self.log.origin))

    def _names(self) -> tuple[list[str], int] | None:
        """The names of the log's witnesses and the quorum; None if there are none."""
        registry = self.registry()
        witnesses = registry.log_witnesses(self.log.origin)
        if not witnesses:
            return None
        return [w.name for w in witnesses], registry.witness_quorum

    def anchorable_size(self, latest: int) -> int | None:
        """The checkpoint the anchorer should anchor, given the log's latest size: with a
        quorum asked for, the newest checkpoint up to ``latest`` that has it (None: none has
        yet), so that what is on the chain is what the witnesses saw; else ``latest``."""
        known = self._names()
        if known is None or known[1] < 1:
            return latest
        names, quorum = known
        return self.store.newest_with_quorum(self.log.origin, 1, names, quorum, at_most=latest)

    def annotate_unread(self, receipt: dict[str, Any]) -> dict[str, Any] | None:
        """:meth:`annotate`'s answer when it needs no store read (no witnesses, or none can
        have cosigned the receipt's size yet: ``WitnessStore.may_hold``), else None. Never
        blocks: for receipts just issued, which are at a checkpoint no witness has seen."""
        known = self._names()
        if known is None:
            return receipt
        if self.store.may_hold(self.log.origin, int(receipt["tree_size"])):
            return None
        return _with_lines(receipt, [], known[1])

    def annotate(self, receipt: dict[str, Any]) -> dict[str, Any]:
        """``receipt`` (a copy) with its size's cosignature lines and ``witnesses`` field;
        unchanged when the registry lists no witnesses of the log."""
        known = self._names()
        if known is None:
            return receipt
        names, quorum = known
        stored = self.store.lines(self.log.origin, int(receipt["tree_size"]))
        return _with_lines(receipt, [stored[name] for name in names if name in stored], quorum)

    def upgrade(self, receipt: dict[str, Any]) -> dict[str, Any]:
        """``receipt`` annotated, or re-issued at the newest witnessed checkpoint above it.

        1. annotate it; witnessed (or no quorum asked for): that is the answer;
        2. the newest tree size above it with a quorum, if any (else step 1's answer);
        3. the receipt at that size, annotated, with ``upgraded_from``: the original tree
           size, its note (with the cosignatures it has) and the consistency proof (hex).
        """
        # (1): as it stands
        annotated = self.annotate(receipt)
        known = self._names()
        status = annotated.get("witnesses", {}).get("status")
        if known is None or known[1] < 1 or status == WITNESSED:
            return annotated
        # (2): a later witnessed checkpoint
        names, quorum = known
        old = int(receipt["tree_size"])
        newer = self.store.newest_with_quorum(self.log.origin, old + 1, names, quorum)
        if newer is None:
            return annotated
        # (3): re-issued there, with the way back to the original
        fresh = self.log.receipt(int(receipt["leaf_index"]), newer, receipt.get("exchange_id"))
        upgraded = self.annotate(fresh)
        upgraded["upgraded_from"] = {
            "tree_size": old,
            "checkpoint": annotated["checkpoint"],
            "consistency_proof": [p.hex() for p in self.log.consistency_proof(old, newer)],
        }
        return upgraded


def _with_lines(receipt: dict[str, Any], lines: list[str], quorum: int) -> dict[str, Any]:
    """A copy of ``receipt`` with the cosignature ``lines`` and the ``witnesses`` field."""
    out = dict(receipt)
    out["checkpoint"] = add_signature_lines(receipt["checkpoint"], lines)
    out["witnesses"] = {
        "quorum": quorum,
        "cosignatures": len(lines),
        "status": WITNESSED if len(lines) >= max(quorum, 1) else NOT_WITNESSED,
    }
    return out
