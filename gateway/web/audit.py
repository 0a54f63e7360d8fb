"""Receipt verification for the auditor page: every check, each passed, failed or skipped.

Steps, in the order shown to the auditor:

(1)-(6) offline, by ``ledger.receipt.verify_receipt`` (the same code as ``yrd-audit``):
        format, trusted log key, checkpoint signature, checkpoint size, leaf hash, inclusion
        proof. It stops at the first failure; the failed check is the error's ``code`` (a
        ``ledger.errors.ReceiptCheck``, never its message text), the checks after it are
        reported as not run;
(7) anchor: if the gateway has an anchorer with ``covering_anchor(tree_size)``, the smallest
    confirmed anchor covering the receipt's tree size, and a consistency proof from the
    receipt's root to the anchored root; otherwise skipped ("anchoring not configured");
(8) consistency: the gateway's latest signed checkpoint verifies with the trusted key and
    extends the receipt's checkpoint (RFC 9162 consistency proof, SM3).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from gateway.exchange.entry import decode_entry
from ledger import merkle
from ledger.checkpoint import verify_checkpoint
from ledger.errors import CheckpointError, ProofError, ReceiptCheck, ReceiptError
from ledger.errors import Error as LedgerError
from ledger.receipt import verify_receipt
from ledger.trust import TrustStore

__all__ = ["CHECKS", "verify_with_checks"]

#: (check id, the ``ReceiptError.code`` of that check's failure, label)
CHECKS: tuple[tuple[str, ReceiptCheck | None, str], ...] = (
    ("format", ReceiptCheck.FORMAT, "收据格式"),
    ("trusted_key", ReceiptCheck.TRUSTED_KEY, "受信任的日志公钥"),
    ("checkpoint_signature", ReceiptCheck.CHECKPOINT_SIGNATURE, "检查点签名（SM2）"),
    ("checkpoint_size", ReceiptCheck.CHECKPOINT_SIZE, "检查点树大小"),
    ("leaf_hash", ReceiptCheck.LEAF_HASH, "叶哈希（SM3）"),
    ("inclusion_proof", ReceiptCheck.INCLUSION_PROOF, "包含性证明（RFC 9162）"),
    ("anchor", None, "链上锚定"),
    ("consistency", None, "与最新检查点一致"),
)
PASS, FAIL, SKIP, NOT_RUN = "pass", "fail", "skipped", "not_run"


def _check(cid: str, label: str, status: str, detail: str) -> dict[str, str]:
    return {"check": cid, "label": label, "status": status, "detail": detail}


def verify_with_checks(
    receipt: Any, trust: TrustStore, log: Any, anchorer: Any = None
) -> dict[str, Any]:
    """Run every check on ``receipt`` (dict or JSON text); never raises on bad input."""
    out: list[dict[str, str]] = []
    offline = CHECKS[:6]
    try:
        verified = verify_receipt(receipt, trust)
    except ReceiptError as exc:
        message = str(exc)
        failed = next((i for i, (_, code, _) in enumerate(offline) if code is exc.code), 0)
        for i, (cid, _, label) in enumerate(CHECKS):
            if i < failed:
                out.append(_check(cid, label, PASS, ""))
            elif i == failed:
                out.append(_check(cid, label, FAIL, message))
            else:
                out.append(_check(cid, label, NOT_RUN, "an earlier check failed"))
        return {"valid": False, "checks": out, "summary": message}
    data = receipt if isinstance(receipt, dict) else json.loads(receipt)
    details = {
        "format": f"{data['format']}",
        "trusted_key": f"origin {data['origin']}, key {data['log_key_id'][:16]}…",
        "checkpoint_signature": f"signed checkpoint of size {verified.checkpoint.size}",
        "checkpoint_size": f"tree size {verified.tree_size}",
        "leaf_hash": f"leaf {data['leaf_hash'][:16]}…",
        "inclusion_proof": f"leaf {verified.leaf_index} of {verified.tree_size}, "
        f"{len(data['inclusion_proof'])} hashes lead to the root",
    }
    for cid, _, label in offline:
        out.append(_check(cid, label, PASS, details[cid]))
    root = verified.checkpoint.root
    out.append(_anchor(anchorer, log, verified.tree_size, root))
    out.append(_consistency(log, trust, data["origin"], verified.tree_size, root))
    valid = all(c["status"] in (PASS, SKIP) for c in out)
    try:
        entry = decode_entry(base64.b64decode(data["entry"]))
    except (ValueError, KeyError):
        entry = None
    return {
        "valid": valid,
        "checks": out,
        "summary": "all checks passed" if valid else "a check failed",
        "leaf_index": verified.leaf_index,
        "tree_size": verified.tree_size,
        "exchange_id": data.get("exchange_id"),
        "entry": entry,
    }


def _anchor(anchorer: Any, log: Any, size: int, root: bytes) -> dict[str, str]:
    cid, _, label = CHECKS[6]
    if anchorer is None or not hasattr(anchorer, "covering_anchor"):
        return _check(cid, label, SKIP, "anchoring not configured")
    try:
        row = anchorer.covering_anchor(size)
    except Exception as exc:  # the chain side must not break the page
        return _check(cid, label, FAIL, f"anchor lookup failed: {type(exc).__name__}: {exc}")
    if row is None:
        return _check(cid, label, SKIP, f"pending: no confirmed anchor covers tree size {size} yet")
    try:
        anchored_root = bytes(row.root)
        proof = [] if row.tree_size == size else log.consistency_proof(size, row.tree_size)
        if row.tree_size == size:
            if anchored_root != root:
                raise ProofError("anchored root differs from the checkpoint root")
        else:
            merkle.verify_consistency(size, row.tree_size, proof, root, anchored_root)
    except (LedgerError, ValueError) as exc:
        return _check(cid, label, FAIL, f"anchor at size {row.tree_size}: {exc}")
    where = f"block {row.block_number}" if getattr(row, "block_number", None) else "chain"
    tx = f", tx {row.tx_hash[:18]}…" if getattr(row, "tx_hash", None) else ""
    return _check(cid, label, PASS, f"anchored at tree size {row.tree_size} in {where}{tx}")


def _consistency(log: Any, trust: TrustStore, origin: str, size: int, root: bytes) -> dict:
    cid, _, label = CHECKS[7]
    latest = log.latest_checkpoint()
    if latest is None:
        return _check(cid, label, FAIL, "the log has no checkpoint")
    try:
        trusted = trust.key_for(latest.checkpoint.origin)
        signed = verify_checkpoint(
            latest.text, trusted.public_key, origin=origin, key_name=trusted.key_name
        )
    except (ReceiptError, CheckpointError) as exc:
        return _check(cid, label, FAIL, f"latest checkpoint: {exc}")
    if size > signed.size:
        return _check(
            cid, label, FAIL,
            f"receipt tree size {size} exceeds the latest checkpoint's size {signed.size}",
        )  # fmt: skip
    try:
        proof = log.consistency_proof(size, signed.size)
        merkle.verify_consistency(size, signed.size, proof, root, signed.root)
    except (ProofError, LedgerError, ValueError) as exc:
        return _check(cid, label, FAIL, f"sizes {size} -> {signed.size}: {exc}")
    return _check(
        cid, label, PASS,
        f"the latest checkpoint (size {signed.size}) extends this one "
        f"({len(proof)} proof hashes)",
    )  # fmt: skip
