"""Verifying, against the chain, that a checkpoint is covered by an anchored root.

Needs only ``ledger`` and a chain view (any `ledger.anchor.Chain`, or the read-only
`JsonRpcReader` that holds no key): an auditor checks receipts without the gateway. Public
through `ledger.anchor_verify`.

A checkpoint ``(origin, N, root)`` is *covered* when either

- the AnchorRegistry holds exactly ``(origin, N)`` with the same root, or
- it holds ``(origin, M)`` with ``M > N``, and an RFC 9162 consistency proof from ``N`` to
  ``M`` leads from the checkpoint's root to the anchored root: the anchored tree extends the
  checkpoint's tree, so the anchor fixes the checkpoint too.

The receipt may carry an ``anchor`` object (docs/ledger.md, "Anchors in receipts") naming the
anchor and the consistency proof. The chain is the authority: the object's root, size and
transaction are hints, checked against what the chain holds.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ledger import merkle
from ledger.anchor._base import AnchorRecord
from ledger.anchor._claim import AnchorCheckError, parse_anchor_claim
from ledger.anchor.errors import AnchorError, ChainUnavailable
from ledger.checkpoint import Checkpoint, SignedCheckpoint, verify_checkpoint
from ledger.errors import CheckpointError, ProofError, ReceiptCheck, ReceiptError
from ledger.receipt import verify_receipt
from ledger.trust import TrustStore

__all__ = ["AnchorCheck", "ChainView", "PairCheck", "check_anchor_history", "verify_anchored"]


class ChainView(Protocol):
    """What verification reads from the chain (every `ledger.anchor.Chain` has it)."""

    def lookup(self, origin: str, tree_size: int) -> AnchorRecord | None: ...

    def latest(self, origin: str) -> AnchorRecord | None: ...

    def events(
        self, origin: str, from_block: int = 0, to_block: int | None = None
    ) -> list[AnchorRecord]: ...


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    """A checkpoint covered by ``anchored``: exactly (``exact``) or through a consistency
    proof. ``checks`` are the passed checks, for display."""

    origin: str
    tree_size: int
    root: bytes
    anchored: AnchorRecord
    exact: bool
    checks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PairCheck:
    """Two consecutive anchors and whether a proof shows the later extends the earlier:
    ``status`` is ``consistent``, ``inconsistent`` (``error`` says why) or ``unchecked``."""

    old: AnchorRecord
    new: AnchorRecord
    status: str
    error: str | None = None


# -- verification --------------------------------------------------------------------------------


def verify_anchored(
    receipt_or_checkpoint: dict[str, Any] | str | bytes | SignedCheckpoint,
    chain_view: ChainView,
    trust: TrustStore,
    consistency_proof: list[bytes] | None = None,
    *,
    anchored_size: int | None = None,
) -> AnchorCheck:
    """Show that a receipt's (or a signed checkpoint's) tree is covered by an anchor.

    ``consistency_proof`` (from the checkpoint's size to ``anchored_size``) and
    ``anchored_size`` override the receipt's ``anchor`` object. Raises ReceiptError if the
    receipt or checkpoint itself does not verify, AnchorCheckError naming the failed check,
    ChainUnavailable if the node cannot be reached, AnchorError for other chain failures.

    Steps:
    (1) the receipt verifies offline (or the checkpoint's signature, with ``trust``);
    (2) the receipt's ``anchor`` object, if any, parses; its chain id matches the node's;
    (3) the chain holds (origin, N): its root must be the checkpoint's root, and we are done;
    (4) otherwise the later anchored size M (claimed, given, or the chain's latest) is held
        on chain, with the claimed root if one is claimed;
    (5) the consistency proof from N to M leads from the checkpoint's root to the anchored root.
    """
    # (1): the checkpoint
    claim_obj, signed = _checkpoint_of(receipt_or_checkpoint, trust)
    cp: Checkpoint = signed.checkpoint
    origin, size = cp.origin, cp.size

    def fail(check: str, detail: str) -> AnchorCheckError:
        return AnchorCheckError(check, detail, origin, size)

    # (2): the claim
    claim = None if claim_obj is None else parse_anchor_claim(claim_obj, origin, size)
    if claim is not None and claim.chain_id is not None:
        node_chain = getattr(chain_view, "chain_id", None)
        if node_chain is not None and node_chain != claim.chain_id:
            raise fail(
                "anchor",
                f"chain id differs: receipt names {claim.chain_id}, node is {node_chain}",
            )
    if anchored_size is None and claim is not None:
        anchored_size = claim.tree_size
    if consistency_proof is None and claim is not None and claim.consistency_proof is not None:
        consistency_proof = list(claim.consistency_proof)
    # (3): exact anchor
    exact = chain_view.lookup(origin, size)
    if exact is not None:
        if exact.root != cp.root:
            raise fail(
                "anchor",
                f"root on chain differs from checkpoint root at size {size}: "
                f"expected {cp.root.hex()}, got {exact.root.hex()}",
            )
        anchored = _with_tx(chain_view, exact)
        return AnchorCheck(origin, size, cp.root, anchored, True, (_on_chain(anchored),))
    # (4): a later anchor
    if anchored_size is None or anchored_size == size:
        later = chain_view.latest(origin)
        if later is None or later.tree_size < size:
            raise fail("anchor", f"no anchor for origin {origin} at or above size {size}")
    else:
        if anchored_size < size:
            raise fail(
                "anchor",
                f"anchored size {anchored_size} is smaller than the checkpoint's size {size}",
            )
        later = chain_view.lookup(origin, anchored_size)
        if later is None:
            raise fail("anchor", f"no anchor for origin {origin} at size {anchored_size}")
    if claim is not None and claim.root is not None and claim.tree_size == later.tree_size:
        if claim.root != later.root:
            raise fail(
                "anchor",
                f"root on chain at size {later.tree_size} differs from the receipt's anchor "
                f"root: expected {claim.root.hex()}, got {later.root.hex()}",
            )
    # (5): consistency
    if consistency_proof is None:
        raise fail(
            "anchor consistency",
            f"no consistency proof from size {size} to anchored size {later.tree_size}",
        )
    try:
        merkle.verify_consistency(size, later.tree_size, consistency_proof, cp.root, later.root)
    except ProofError as exc:
        raise fail("anchor consistency", f"size {size} to {later.tree_size}: {exc}") from exc
    anchored = _with_tx(chain_view, later)
    return AnchorCheck(
        origin,
        size,
        cp.root,
        anchored,
        False,
        (
            _on_chain(anchored),
            f"anchor consistency (size {size} -> anchored size {anchored.tree_size})",
        ),
    )


def check_anchor_history(
    records: list[AnchorRecord], proofs: list[dict[str, Any]] | None
) -> list[PairCheck]:
    """Check each pair of consecutive anchors (ascending size) with a proof from ``proofs``
    (items ``{old_size, new_size, proof: [hex]}``); pairs without a proof are ``unchecked``.

    Raises ValueError if ``proofs`` is malformed.
    """
    table: dict[tuple[int, int], list[bytes]] = {}
    for n, item in enumerate(proofs or []):
        try:
            key = (int(item["old_size"]), int(item["new_size"]))
            table[key] = [bytes.fromhex(p.removeprefix("0x")) for p in item["proof"]]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(
                f"proofs[{n}] must be {{old_size, new_size, proof: [hex...]}}"
            ) from exc
    ordered = sorted(records, key=lambda r: (r.tree_size, r.block_number))
    results = []
    for old, new in itertools.pairwise(ordered):
        proof = table.get((old.tree_size, new.tree_size))
        if proof is None:
            results.append(PairCheck(old, new, "unchecked"))
            continue
        try:
            merkle.verify_consistency(old.tree_size, new.tree_size, proof, old.root, new.root)
        except ProofError as exc:
            results.append(PairCheck(old, new, "inconsistent", str(exc)))
        else:
            results.append(PairCheck(old, new, "consistent"))
    return results


# -- helpers -----------------------------------------------------------------------------------


def _checkpoint_of(
    item: dict[str, Any] | str | bytes | SignedCheckpoint, trust: TrustStore
) -> tuple[Any, SignedCheckpoint]:
    """(the receipt's anchor object or None, the verified signed checkpoint)."""
    if isinstance(item, SignedCheckpoint):
        item = item.text
    if isinstance(item, bytes):
        item = item.decode("utf-8", "replace")
    if isinstance(item, str) and not item.lstrip().startswith("{"):
        origin = item.split("\n", 1)[0]
        trusted = trust.key_for(origin)
        try:
            signed = verify_checkpoint(item, trusted.public_key, origin, trusted.key_name)
        except CheckpointError as exc:
            raise ReceiptError(
                f"checkpoint signature: {exc}", ReceiptCheck.CHECKPOINT_SIGNATURE
            ) from exc
        return None, signed
    verified = verify_receipt(item, trust)
    receipt = item if isinstance(item, dict) else _json(item)
    return receipt.get("anchor"), verified.checkpoint


def _json(text: str) -> dict[str, Any]:
    document = json.loads(text)
    return document if isinstance(document, dict) else {}


def _with_tx(chain_view: ChainView, record: AnchorRecord) -> AnchorRecord:
    """The record with its transaction hash, found in the events of its block."""
    if record.tx_hash is not None:
        return record
    try:
        events = chain_view.events(record.origin, record.block_number, record.block_number)
    except ChainUnavailable:
        raise
    except AnchorError:
        return record
    for event in events:
        if event.tree_size == record.tree_size and event.root == record.root:
            return replace(record, tx_hash=event.tx_hash, anchorer=event.anchorer)
    return record


def _on_chain(record: AnchorRecord) -> str:
    return f"anchor on chain (tx {record.tx_hash or 'unknown'}, block {record.block_number})"
