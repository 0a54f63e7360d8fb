"""Receipt downloads and the auditor's lookups (REST, under ``/api``).

Receipts offered for download carry the ``anchor`` object once their root is anchored (the
same ``attach_anchor`` as gRPC ``Exchange.GetReceipt``), so ``yrd-audit verify --rpc`` can
check them. Audit lookups take a case by its 办件编号 (the number staff see) or its internal
id, or an exchange by its id; an unknown reference is a 404 in the error shape, never an
empty success. Every verification says which chain the anchor is on and whether an outsider
can check it (``gateway.web.audit.anchor_chain``).
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from gateway.cases import Account, CaseNotFound, CaseService
from gateway.web.api import current_account, trust_for
from gateway.web.audit import anchor_chain, verify_with_checks
from ledger.trust import TrustStore

__all__ = ["build_audit_router", "find_case_id", "receipt_with_anchor"]

Acct = Annotated[Account, Depends(current_account)]
_MAX_REF = 100


def find_case_id(service: CaseService, ref: str) -> str:
    """The internal case id for ``ref``: a 办件编号 or the case id itself; 404 otherwise."""
    ref = ref.strip()
    row = None
    if ref and len(ref) <= _MAX_REF:
        row = service.store.one(
            "SELECT case_id FROM cases WHERE number = ? OR case_id = ?", (ref, ref)
        )
    if row is None:
        raise CaseNotFound("not_found", "未找到该办件：请核对办件编号", "case_ref")
    return str(row["case_id"])


def _event_receipt(service: CaseService, exchange_id: str) -> tuple[dict, dict[str, Any]]:
    """(event, receipt) of a case exchange; an unknown id is a 404 naming the field."""
    try:
        return service.receipt(exchange_id)
    except CaseNotFound:
        raise CaseNotFound("not_found", "未找到该交换：请核对交换 ID", "exchange_id") from None


def _readable_receipt(
    service: CaseService, acct: Any, exchange_id: str
) -> tuple[dict, dict[str, Any]]:
    """(event, receipt) of an exchange the account may read (in a store thread)."""
    event, data = _event_receipt(service, exchange_id)
    service.detail(acct, event["case_id"])  # access check
    return event, data


def _readable_case(
    service: CaseService, acct: Any, case_ref: str
) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """(case id, detail, events) of a case the account may read (in a store thread)."""
    case_id = find_case_id(service, case_ref)
    return case_id, service.detail(acct, case_id), service.events(case_id)


def receipt_with_anchor(gateway: Any, receipt: dict[str, Any]) -> dict[str, Any]:
    """``receipt`` with the witnesses' cosignatures (upgraded to a later witnessed
    checkpoint if its own has no quorum: ``gateway.witness.receipts``), and its ``anchor``
    object if an anchor covers it yet. Blocks: a route's worker thread."""
    witnessing = getattr(gateway, "witnessing", None)
    if witnessing is not None and witnessing.receipts.active():
        receipt = witnessing.receipts.upgrade(receipt)
    anchorer = getattr(gateway, "anchorer", None)
    if anchorer is None or not hasattr(anchorer, "attach_anchor"):
        return receipt
    return dict(anchorer.attach_anchor(receipt))


def build_audit_router(gateway: Any, service: CaseService) -> APIRouter:
    """The receipt and audit routes (``gateway`` is a ``gateway.web.ReceiptSource``)."""
    router = APIRouter(prefix="/api")

    # -- receipts -------------------------------------------------------------------------
    @router.get("/trust.json", tags=["receipts"])
    def trust() -> Response:
        return _json_file(trust_for(gateway), "trust.json")

    @router.get("/cases/{case_id}/receipts", tags=["receipts"])
    def receipts(case_id: str, acct: Acct) -> list[dict[str, Any]]:
        service.detail(acct, case_id)  # access check
        return [
            {
                "exchange_id": e["exchange_id"],
                "transition": e["transition"],
                "kind": e["kind"],
                "leaf_index": e["leaf_index"],
                "tree_size": e["tree_size"],
                "url": f"/api/receipts/{e['exchange_id']}.json",
            }
            for e in service.events(case_id)
        ]

    @router.get("/cases/{case_id}/receipts.zip", tags=["receipts"])
    def receipts_zip(case_id: str, acct: Acct) -> Response:
        case = service.detail(acct, case_id)
        chain = anchor_chain(getattr(gateway, "anchorer", None))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for e in service.events(case_id):
                name = f"{e['seq']:02d}-{e['transition']}-{e['exchange_id']}.json"
                zf.writestr(name, _pretty(receipt_with_anchor(gateway, json.loads(e["receipt"]))))
            zf.writestr("trust.json", _pretty(trust_for(gateway)))
            zf.writestr("README.txt", _readme(case, chain))
        return Response(
            buffer.getvalue(),
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{case["number"]}-receipts.zip"'
            },
        )

    @router.get("/receipts/{exchange_id}.json", tags=["receipts"])
    def receipt(exchange_id: str, acct: Acct) -> Response:
        event, data = _event_receipt(service, exchange_id)
        service.detail(acct, event["case_id"])  # access check
        return _json_file(receipt_with_anchor(gateway, data), f"receipt-{exchange_id}.json")

    # -- audit ----------------------------------------------------------------------------
    @router.post(
        "/audit/verify",
        tags=["audit"],
        openapi_extra={
            "requestBody": {
                "content": {"application/json": {"schema": {"type": "object"}}},
                "required": True,
            }
        },
    )
    async def audit_verify(request: Request) -> dict[str, Any]:
        """Verify a receipt (the request body, as uploaded or pasted) and show every check.

        ``?trust=`` is not taken: the gateway's own trust file is used; auditors who do not
        trust the gateway run ``yrd-audit`` with their own copy."""
        raw = await request.body()
        text = raw.decode("utf-8", errors="replace")
        return await asyncio.to_thread(_verify, gateway, text)

    @router.get("/audit/exchanges/{exchange_id}", tags=["audit"])
    async def audit_exchange(exchange_id: str, acct: Acct) -> dict:
        event, data = await service.store.run(_readable_receipt, service, acct, exchange_id)
        data = await asyncio.to_thread(receipt_with_anchor, gateway, data)
        result = await asyncio.to_thread(_verify, gateway, data)
        return {"event": _public_event(event), "receipt": data, "verification": result}

    @router.get("/audit/cases/{case_ref}/exchanges", tags=["audit"])
    async def audit_case(case_ref: str, acct: Acct) -> dict[str, Any]:
        """Every exchange of a case, verified; ``case_ref`` is its 办件编号 or its id."""
        case_id, case, events = await service.store.run(_readable_case, service, acct, case_ref)
        rows = []
        for e in events:  # as downloaded: with the cosignatures (upgraded) and the anchor
            data = await asyncio.to_thread(receipt_with_anchor, gateway, json.loads(e["receipt"]))
            result = await asyncio.to_thread(_verify, gateway, data)
            rows.append({"event": _public_event(e), "valid": result["valid"],
                         "checks": result["checks"]})  # fmt: skip
        chain = anchor_chain(getattr(gateway, "anchorer", None))
        return {"case_id": case_id, "number": case["number"], "exchanges": rows,
                "anchor_chain": chain}  # fmt: skip

    return router


def _verify(gateway: Any, receipt: Any) -> dict[str, Any]:
    trust = TrustStore.load(json.dumps(trust_for(gateway)).encode())
    registry = gateway.registry.current  # the quorum the witnesses check asks for
    quorum = registry.witness_quorum if registry is not None else 0
    anchorer = getattr(gateway, "anchorer", None)
    return verify_with_checks(receipt, trust, gateway.log, anchorer, witness_quorum=quorum)


def _public_event(e: dict[str, Any]) -> dict[str, Any]:
    keys = ("case_id", "seq", "transition", "status_after", "at", "actor", "exchange_id",
            "kind", "sender", "recipient", "leaf_index", "tree_size")  # fmt: skip
    return {k: e[k] for k in keys}


def _readme(case: dict[str, Any], chain: dict[str, Any]) -> str:
    """The zip's README: how to verify offline, and what the anchor (if any) is worth."""
    lines = [
        f"办件 {case['number']}（{case['case_id']}）的交换收据。",
        "离线逐份核验（只核验日志，不核验链上锚定）：",
        "  yrd-audit verify <收据>.json --trust trust.json",
        f"链上锚定：{chain['label']}。",
    ]
    if chain["mode"] == "jsonrpc":
        lines += [
            "带 anchor 对象的收据可在链上核验：",
            "  yrd-audit verify <收据>.json --trust trust.json --rpc <链的 JSON-RPC 地址>",
        ]
    return "\n".join(lines) + "\n"


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def _json_file(value: Any, filename: str) -> Response:
    return Response(
        _pretty(value),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
