"""The audit check on a JSON-RPC chain (a real Hardhat node): the verification names the
chain id and the registry contract and says an outsider can check it with ``yrd-audit verify
--rpc``, which then does (issue 14, item 7). The embedded chain's label is tested over the
whole gateway in test_audit_api.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gateway.app.anchoring import GatewayAnchorer
from gateway.web.audit import verify_with_checks
from ledger.anchor import Anchorer, JsonRpcChain
from ledger.crypto import PrivateKey
from ledger.log import MerkleLog, SQLiteStore
from ledger.trust import TrustStore, trust_document
from tests.ledger.chain_fixtures import (  # noqa: F401 -- pytest fixture
    ADMIN_KEY,
    ANCHORER_KEY,
    hardhat_node,
)

ORIGIN = "yrd.gov.cn/log/audit-label"
KEY = PrivateKey.generate()


@pytest.fixture(scope="module")
def anchored(hardhat_node, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("audit-label")
    admin = JsonRpcChain(hardhat_node.url, ADMIN_KEY, timeout=30)
    address = admin.deploy()
    chain = JsonRpcChain(hardhat_node.url, ANCHORER_KEY, address, timeout=30)
    admin.grant(ORIGIN, chain.account)
    with MerkleLog(SQLiteStore(path / "log.db"), KEY, ORIGIN) as log:
        log.append_many([b"label-%d" % i for i in range(4)])
        gateway_anchorer = GatewayAnchorer(Anchorer(log, chain, path / "anchors.db"))
        assert gateway_anchorer.anchorer.run_once().status == "confirmed"
        receipt = gateway_anchorer.attach_anchor(log.receipt(1, 4))
        trust = trust_document(ORIGIN, KEY.public_key)
        result = verify_with_checks(
            receipt, TrustStore.load(json.dumps(trust).encode()), log, gateway_anchorer
        )
        facts = gateway_anchorer.chain_facts()
        gateway_anchorer.anchorer.close()
    yield {"url": hardhat_node.url, "address": address, "receipt": receipt, "trust": trust,
           "result": result, "facts": facts, "path": path}  # fmt: skip


def test_jsonrpc_chain_is_named_and_checkable_by_outsiders(anchored):
    facts, result = anchored["facts"], anchored["result"]
    chain_id = anchored["receipt"]["anchor"]["chain_id"]
    assert facts == {"mode": "jsonrpc", "external": True, "chain_id": chain_id,
                     "contract": anchored["address"]}  # fmt: skip
    assert result["valid"] and result["anchor_chain"]["external"] is True
    label = result["anchor_chain"]["label"]
    assert f"链 ID {chain_id}" in label and anchored["address"] in label
    assert "yrd-audit verify --rpc" in label and "本地开发链" not in label
    check = next(c for c in result["checks"] if c["check"] == "anchor")
    assert check["status"] == "pass" and check["label"] == "链上锚定"
    assert f"链 ID {chain_id}" in check["detail"] and anchored["address"] in check["detail"]
    assert "外部可用 yrd-audit verify --rpc 核验" in check["detail"]


def test_what_the_page_promises_yrd_audit_does(anchored):
    path = anchored["path"]
    (path / "receipt.json").write_text(json.dumps(anchored["receipt"]))
    (path / "trust.json").write_text(json.dumps(anchored["trust"]))
    out = subprocess.run(
        [sys.executable, "-m", "ledger.audit_cli", "verify", str(path / "receipt.json"),
         "--trust", str(path / "trust.json"), "--rpc", anchored["url"]],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    verdict = out.stdout.splitlines()[-1]
    chain_id = anchored["receipt"]["anchor"]["chain_id"]
    assert f"anchor checked on chain id {chain_id}" in verdict
    assert anchored["address"].lower() in verdict.lower()
