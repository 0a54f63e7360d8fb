"""Receipt verification for the auditor page: every check, each passed, failed or skipped.

Steps, in the order shown to the auditor:

(1)-(6) offline, by ``ledger.receipt.verify_receipt`` (the same code as ``yrd-audit``):
        format, trusted log key, checkpoint signature, checkpoint size, leaf hash, inclusion
        proof. It stops at the first failure; the failed check is the error's ``code`` (a
        ``ledger.errors.ReceiptCheck``, never its message text), the checks after it are
        reported as not run;
(7) anchor: if the gateway has an anchorer with ``covering_anchor(tree_size)``, the smallest
    confirmed anchor covering the receipt's tree size, and a consistency proof from the
    receipt's root to the anchored root; otherwise skipped (未配置链上锚定). The line says
    which chain: the embedded development chain (in memory, redeployed at every restart) is
    labelled as such, not third-party evidence; a JSON-RPC chain shows its chain id and
    registry contract, which an outsider checks with ``yrd-audit verify --rpc``;
(8) consistency: the gateway's latest signed checkpoint verifies with the trusted key and
    extends the receipt's checkpoint (RFC 9162 consistency proof, SM3);
(9) witnesses: the member witnesses' SM2 cosignatures on the receipt's checkpoint, against
    the trust file's witnesses and the registry's quorum: passed with a quorum, pending (not a
    failure: the receipt upgrades once witnessed) below it, failed if a trusted witness's
    line does not verify, skipped when no witnesses are configured (docs/witness.md).

Labels, details and the summary are Chinese (the page is staff-facing); a failed check's
``code`` is the ledger's machine code and ``reason`` its technical (English) message, kept for
support but not shown.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from gateway.exchange.entry import decode_entry
from ledger import merkle
from ledger.checkpoint import verify_checkpoint
from ledger.cosignature import verify_cosignatures
from ledger.errors import CheckpointError, ProofError, ReceiptCheck, ReceiptError
from ledger.errors import Error as LedgerError
from ledger.receipt import verify_receipt
from ledger.trust import TrustStore

__all__ = ["CHECKS", "anchor_chain", "verify_with_checks"]

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
    ("witnesses", None, "成员见证联署"),
)
PASS, FAIL, SKIP, NOT_RUN = "pass", "fail", "skipped", "not_run"


def _check(cid: str, label: str, status: str, detail: str, **extra: str) -> dict[str, str]:
    return {"check": cid, "label": label, "status": status, "detail": detail, **extra}


def verify_with_checks(
    receipt: Any, trust: TrustStore, log: Any, anchorer: Any = None, witness_quorum: int = 0
) -> dict[str, Any]:
    """Run every check on ``receipt`` (dict or JSON text); never raises on bad input."""
    out: list[dict[str, str]] = []
    offline = CHECKS[:6]
    chain = anchor_chain(anchorer)
    try:
        verified = verify_receipt(receipt, trust)
    except ReceiptError as exc:
        failed = next((i for i, (_, code, _) in enumerate(offline) if code is exc.code), 0)
        failed_label = CHECKS[failed][2]
        for i, (cid, _, label) in enumerate(CHECKS):
            if i < failed:
                out.append(_check(cid, label, PASS, ""))
            elif i == failed:
                out.append(
                    _check(cid, label, FAIL, f"{label}不符，收据不可信（代码 {exc.code}）",
                           code=str(exc.code), reason=str(exc))
                )  # fmt: skip
            else:
                out.append(_check(cid, label, NOT_RUN, "前面的检查未通过，未执行"))
        summary = f"核验未通过：{failed_label}"
        return {"valid": False, "checks": out, "summary": summary, "anchor_chain": chain}
    data = receipt if isinstance(receipt, dict) else json.loads(receipt)
    details = {
        "format": f"{data['format']}",
        "trusted_key": f"日志 {data['origin']}，公钥 {data['log_key_id'][:16]}…",
        "checkpoint_signature": f"树大小为 {verified.checkpoint.size} 的检查点签名有效",
        "checkpoint_size": f"树大小 {verified.tree_size}",
        "leaf_hash": f"叶哈希 {data['leaf_hash'][:16]}…",
        "inclusion_proof": f"第 {verified.leaf_index + 1} 条（共 {verified.tree_size} 条），"
        f"{len(data['inclusion_proof'])} 个哈希可推出根哈希",
    }
    for cid, _, label in offline:
        out.append(_check(cid, label, PASS, details[cid]))
    root = verified.checkpoint.root
    out.append(_anchor(anchorer, chain, log, verified.tree_size, root))
    out.append(_consistency(log, trust, data["origin"], verified.tree_size, root))
    out.append(_witnesses(trust, data["checkpoint"], witness_quorum))
    valid = all(c["status"] in (PASS, SKIP) for c in out)
    try:
        entry = decode_entry(base64.b64decode(data["entry"]))
    except (ValueError, KeyError):
        entry = None
    failed_labels = "、".join(c["label"] for c in out if c["status"] == FAIL)
    return {
        "valid": valid,
        "checks": out,
        "summary": "全部检查通过" if valid else f"核验未通过：{failed_labels}",
        "leaf_index": verified.leaf_index,
        "tree_size": verified.tree_size,
        "exchange_id": data.get("exchange_id"),
        "entry": entry,
        "anchor_chain": chain,
    }


def anchor_chain(anchorer: Any) -> dict[str, Any]:
    """Which chain the gateway anchors on, in words an auditor can act on.

    ``mode`` is ``none``, ``embedded`` or ``jsonrpc``; ``external`` says whether someone
    outside the gateway can check the anchor; ``label`` is the line the audit page shows."""
    if anchorer is None or not hasattr(anchorer, "covering_anchor"):
        return {"mode": "none", "external": False, "chain_id": None, "contract": None,
                "label": "未配置链上锚定：收据只由网关日志自身的签名与证明担保"}  # fmt: skip
    try:
        facts = anchorer.chain_facts() if hasattr(anchorer, "chain_facts") else None
    except Exception:  # the anchor store must not break the page: claim nothing
        facts = None
    if facts is None:  # an anchorer that cannot say which chain: claim nothing
        return {"mode": "unknown", "external": False, "chain_id": None, "contract": None,
                "label": "锚定链未知：无法说明外部能否核验"}  # fmt: skip
    if facts["mode"] == "embedded":
        label = ("本地开发链（网关进程内嵌的 EVM，仅在内存中，每次重启重新部署）："
                 "不是第三方证据，外部无法核验")  # fmt: skip
    else:
        label = (f"JSON-RPC 链（链 ID {facts.get('chain_id') or '未知'}，"
                 f"合约 {facts.get('contract') or '未知'}）：外部审计人员可用 "
                 "yrd-audit verify --rpc 自行核验")  # fmt: skip
    return {**facts, "label": label}


def _anchor(
    anchorer: Any, chain: dict[str, Any], log: Any, size: int, root: bytes
) -> dict[str, str]:
    cid, _, label = CHECKS[6]
    if chain["mode"] == "embedded":
        label = "链上锚定（本地开发链，非第三方证据）"
    if anchorer is None or not hasattr(anchorer, "covering_anchor"):
        return _check(cid, label, SKIP, "未配置链上锚定")
    try:
        row = anchorer.covering_anchor(size)
    except Exception as exc:  # the chain side must not break the page
        return _check(cid, label, FAIL, "查询锚定记录失败", reason=f"{type(exc).__name__}: {exc}")
    if row is None:
        return _check(cid, label, SKIP, f"待锚定：尚无已确认的锚定覆盖树大小 {size}")
    try:
        anchored_root = bytes(row.root)
        proof = [] if row.tree_size == size else log.consistency_proof(size, row.tree_size)
        if row.tree_size == size:
            if anchored_root != root:
                raise ProofError("anchored root differs from the checkpoint root")
        else:
            merkle.verify_consistency(size, row.tree_size, proof, root, anchored_root)
    except (LedgerError, ValueError) as exc:
        return _check(cid, label, FAIL, f"树大小 {row.tree_size} 的锚定根与本收据不一致",
                      reason=str(exc))  # fmt: skip
    block = getattr(row, "block_number", None)
    where = f"区块 {block}" if block else "链上"
    tx = f"，交易 {row.tx_hash[:18]}…" if getattr(row, "tx_hash", None) else ""
    if chain["mode"] == "embedded":
        detail = (f"已锚定于本地开发链（{where}{tx}，树大小 {row.tree_size}）；"
                  "该链仅在网关内存中、重启即重新部署，区块号会变，"
                  "不是第三方证据，外部无法核验")  # fmt: skip
    elif chain["mode"] == "jsonrpc":
        chain_id = getattr(row, "chain_id", None) or chain.get("chain_id") or "未知"
        contract = getattr(row, "contract", None) or chain.get("contract") or "未知"
        detail = (f"已锚定于链 ID {chain_id}、合约 {contract}（{where}{tx}，树大小 "
                  f"{row.tree_size}）；外部可用 yrd-audit verify --rpc 核验")  # fmt: skip
    else:
        detail = f"已锚定（{where}{tx}，树大小 {row.tree_size}）；锚定链未知，外部能否核验不明"
    return _check(cid, label, PASS, detail)


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
    except (ReceiptError, CheckpointError) as exc:
        return _check(cid, label, FAIL, "最新检查点的签名无效", reason=str(exc))
    if size > signed.size:
        return _check(
            cid, label, FAIL,
            f"收据的树大小 {size} 超过最新检查点的树大小 {signed.size}",
        )  # fmt: skip
    try:
        proof = log.consistency_proof(size, signed.size)
        merkle.verify_consistency(size, signed.size, proof, root, signed.root)
    except (ProofError, LedgerError, ValueError) as exc:
        return _check(cid, label, FAIL, f"树大小 {size} → {signed.size} 的一致性证明不成立",
                      reason=str(exc))  # fmt: skip
    return _check(
        cid, label, PASS,
        f"最新检查点（树大小 {signed.size}）延续本收据的检查点（{len(proof)} 个证明哈希）",
    )  # fmt: skip


def _witnesses(trust: TrustStore, note: str, quorum: int) -> dict[str, str]:
    cid, _, label = CHECKS[8]
    if not trust.witnesses:
        return _check(cid, label, SKIP, "未配置见证人：检查点只由网关日志自身签名")
    try:
        valid, invalid = verify_cosignatures(note, trust.witnesses)
    except (CheckpointError, ValueError) as exc:
        return _check(cid, label, FAIL, "见证联署无法解析", reason=str(exc))
    names = "、".join(v.witness.name for v in valid) or "无"
    if invalid:
        return _check(cid, label, FAIL, f"见证人 {'、'.join(invalid)} 的联署签名无效",
                      reason=f"invalid cosignature by {', '.join(invalid)}")  # fmt: skip
    need = quorum or len(trust.witnesses)
    if len(valid) >= need:
        return _check(cid, label, PASS, f"{len(valid)} 位见证人联署（法定数 {need}）：{names}")
    return _check(
        cid, label, SKIP,
        f"尚未见证：{len(valid)} 位见证人联署，法定数 {need}（已联署：{names}）；"
        "见证人联署后可重新获取收据（升级）",
    )  # fmt: skip
