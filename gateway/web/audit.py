"""Receipt verification for the auditor page: every check, each passed, failed or skipped.

Steps, in the order shown to the auditor:

(1)-(6) offline, by ``ledger.receipt.verify_receipt`` (the same code as ``yrd-audit``):
        format, trusted log key, checkpoint signature, checkpoint size, leaf hash, inclusion
        proof. It stops at the first failure; the failed check is the error's ``code`` (a
        ``ledger.errors.ReceiptCheck``, never its message text), the checks after it are
        reported as not run;
(7) anchor: if the gateway has an anchorer with ``covering_anchor(tree_size)``, the smallest
    confirmed anchor covering the receipt's tree size, and a consistency proof from the
    receipt's root to the anchored root; otherwise skipped ("未配置链上锚定");
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

__all__ = ["CHECKS", "FAILED", "verify_with_checks"]

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
#: why a check failed, in Chinese, by the ``ReceiptError.code`` (never its English text)
FAILED: dict[ReceiptCheck, str] = {
    ReceiptCheck.FORMAT: "收据格式不符（应为 yrd-receipt/v1 JSON）",
    ReceiptCheck.TRUSTED_KEY: "收据的日志公钥不在信任文件中",
    ReceiptCheck.CHECKPOINT_SIGNATURE: "检查点签名无效",
    ReceiptCheck.CHECKPOINT_SIZE: "检查点树大小与收据不符",
    ReceiptCheck.LEAF_HASH: "叶哈希与交换记录不符",
    ReceiptCheck.INCLUSION_PROOF: "包含性证明不能导出检查点的根哈希",
    ReceiptCheck.TRUST_FILE: "信任文件无效",
}


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
        message = next((t for c, t in FAILED.items() if c is exc.code), "收据核验未通过")
        failed = next((i for i, (_, code, _) in enumerate(offline) if code is exc.code), 0)
        for i, (cid, _, label) in enumerate(CHECKS):
            if i < failed:
                out.append(_check(cid, label, PASS, ""))
            elif i == failed:
                out.append(_check(cid, label, FAIL, message))
            else:
                out.append(_check(cid, label, NOT_RUN, "前一项核验未通过，未执行"))
        return {"valid": False, "checks": out, "summary": message}
    data = receipt if isinstance(receipt, dict) else json.loads(receipt)
    details = {
        "format": f"{data['format']}",
        "trusted_key": f"日志来源 {data['origin']}，公钥 {data['log_key_id'][:16]}…",
        "checkpoint_signature": f"树大小为 {verified.checkpoint.size} 的检查点签名有效",
        "checkpoint_size": f"树大小 {verified.tree_size}",
        "leaf_hash": f"叶哈希 {data['leaf_hash'][:16]}…",
        "inclusion_proof": f"叶序号 {verified.leaf_index}（共 {verified.tree_size} 条），"
        f"{len(data['inclusion_proof'])} 个哈希导出根哈希",
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
        "summary": "全部核验通过" if valid else "有核验项未通过",
        "leaf_index": verified.leaf_index,
        "tree_size": verified.tree_size,
        "exchange_id": data.get("exchange_id"),
        "entry": entry,
    }


def _anchor(anchorer: Any, log: Any, size: int, root: bytes) -> dict[str, str]:
    cid, _, label = CHECKS[6]
    if anchorer is None or not hasattr(anchorer, "covering_anchor"):
        return _check(cid, label, SKIP, "未配置链上锚定")
    try:
        row = anchorer.covering_anchor(size)
    except Exception as exc:  # the chain side must not break the page
        return _check(cid, label, FAIL, f"查询锚定记录失败（{type(exc).__name__}）")
    if row is None:
        return _check(cid, label, SKIP, f"待锚定：尚无已确认的锚定覆盖树大小 {size}")
    try:
        anchored_root = bytes(row.root)
        proof = [] if row.tree_size == size else log.consistency_proof(size, row.tree_size)
        if row.tree_size == size:
            if anchored_root != root:
                raise ProofError("锚定的根哈希与检查点的根哈希不同")
        else:
            merkle.verify_consistency(size, row.tree_size, proof, root, anchored_root)
    except (LedgerError, ValueError):
        return _check(cid, label, FAIL, f"树大小 {row.tree_size} 处的锚定与收据不一致")
    where = f"第 {row.block_number} 号区块" if getattr(row, "block_number", None) else "链上"
    tx = f"，交易 {row.tx_hash[:18]}…" if getattr(row, "tx_hash", None) else ""
    return _check(cid, label, PASS, f"已于{where}锚定至树大小 {row.tree_size}{tx}")


def _consistency(log: Any, trust: TrustStore, origin: str, size: int, root: bytes) -> dict:
    cid, _, label = CHECKS[7]
    latest = log.latest_checkpoint()
    if latest is None:
        return _check(cid, label, FAIL, "日志尚无检查点")
    try:
        trusted = trust.key_for(latest.checkpoint.origin)
        signed = verify_checkpoint(
            latest.text, trusted.public_key, origin=origin, key_name=trusted.key_name
        )
    except (ReceiptError, CheckpointError):
        return _check(cid, label, FAIL, "最新检查点的签名无效")
    if size > signed.size:
        return _check(
            cid, label, FAIL,
            f"收据的树大小 {size} 超过最新检查点的树大小 {signed.size}",
        )  # fmt: skip
    try:
        proof = log.consistency_proof(size, signed.size)
        merkle.verify_consistency(size, signed.size, proof, root, signed.root)
    except (ProofError, LedgerError, ValueError):
        return _check(cid, label, FAIL, f"一致性证明（{size} -> {signed.size}）未通过")
    return _check(
        cid, label, PASS,
        f"最新检查点（树大小 {signed.size}）包含本检查点（{len(proof)} 个证明哈希）",
    )  # fmt: skip
