"""The auditor's REST lookups and the receipts the pages offer, over a real gateway whose
anchorer runs on the embedded development chain (issue 14, item 7): lookup by 办件编号,
receipts carrying their ``anchor`` object, the honest chain label, and what ``yrd-audit``
says about the anchor with and without ``--rpc``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import httpx
import pytest

from gateway.app.anchoring import make_anchorer_factory
from gateway.app.compose import CaseOptions
from gateway.app.settings import Settings
from gateway.cases import Role
from gateway.matters import default_catalogue
from gateway.web.seed import sample_id_number
from tests.web.helpers import sign_in, start_web_gateway

PASSWORD = "correct-horse-battery"
MATTER = "010010300100"  # 企业设立登记
ID_OK = sample_id_number("32050219900307123")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    data = tmp_path_factory.mktemp("audit-api")
    settings = Settings.load(
        env={}, data_dir=data, anchor_interval_seconds=0.2, anchor_every_entries=1
    )
    gw, sims = start_web_gateway(
        data, CaseOptions(), anchorer_factory=make_anchorer_factory(settings)
    )
    service = gw.gateway.cases
    service.accounts.create("clerk", PASSWORD, role=Role.CLERK, display_name="窗口", city="suzhou")
    service.accounts.create("auditor", PASSWORD, role=Role.AUDITOR, display_name="审计")
    clients = {u: sign_in(gw.http_url, u, PASSWORD) for u in ("clerk", "auditor")}
    yield {"gw": gw, **clients}
    for client in clients.values():
        client.close()
    gw.stop()
    sims.stop()


def submit_case(clerk: httpx.Client) -> dict:
    """A case with a file for every required material of the matter (complete on any rule)."""
    materials = []
    for material in default_catalogue().get(MATTER, "ZJ").materials:
        if not material.required:
            continue
        r = clerk.post(
            "/api/uploads",
            params={"filename": f"{material.material_id}.pdf"},
            content=b"%PDF-1.4 " + material.material_id.encode(),
            headers={"Content-Type": "application/pdf"},
        )
        assert r.status_code == 201, r.text
        materials.append({"material_id": material.material_id, "upload_id": r.json()["upload_id"]})
    body = {
        "matter_code": MATTER,
        "handling_region": "ZJ",
        "handling_mode": "异地代收代办",
        "applicant": {"name": "张三丰", "id_number": ID_OK, "phone": "13812345678"},
        "materials": materials,
    }
    r = clerk.post("/api/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _anchored_receipt(env) -> tuple[dict, dict]:
    """(case, its first receipt as downloaded) once the anchorer has covered that receipt."""
    case = submit_case(env["clerk"])
    exchange_id = case["timeline"][0]["exchange_id"]
    first = env["clerk"].get(f"/api/receipts/{exchange_id}.json").json()
    assert env["gw"].gateway.anchorer.wait_covered(first["tree_size"], 30) is not None
    return case, env["clerk"].get(f"/api/receipts/{exchange_id}.json").json()


def test_lookup_by_case_number_and_by_id_and_unknown_refusals(env):
    auditor = env["auditor"]
    case = submit_case(env["clerk"])
    by_number = auditor.get(f"/api/audit/cases/{case['number']}/exchanges")
    assert by_number.status_code == 200, by_number.text
    body = by_number.json()
    assert body["case_id"] == case["case_id"] and body["number"] == case["number"]
    assert body["exchanges"][0]["event"]["transition"] == "submitted"
    assert body["anchor_chain"]["mode"] == "embedded" and body["anchor_chain"]["external"] is False
    by_id = auditor.get(f"/api/audit/cases/{case['case_id']}/exchanges").json()
    assert by_id["number"] == case["number"]
    for ref in ("G60-NOPE-0000", "x" * 300):
        r = auditor.get(f"/api/audit/cases/{ref}/exchanges")
        assert r.status_code == 404
        assert r.json() == {
            "error": {"code": "not_found", "message": "未找到该办件：请核对办件编号",
                      "field": "case_ref", "field_label": "办件编号"}
        }  # fmt: skip
    r = auditor.get("/api/audit/exchanges/no-such-exchange")
    assert r.status_code == 404 and r.json()["error"]["field"] == "exchange_id"
    assert "未找到该交换" in r.json()["error"]["message"]
    assert auditor.get("/api/receipts/no-such-exchange.json").status_code == 404


def test_downloaded_receipts_carry_the_anchor_and_the_honest_label(env):
    case, receipt = _anchored_receipt(env)
    anchor = receipt["anchor"]
    assert anchor["tree_size"] >= receipt["tree_size"] and anchor["block_number"] >= 1
    assert anchor["contract"].startswith("0x") and isinstance(anchor["chain_id"], int)
    assert len(anchor["consistency_proof"]) == 0 or anchor["tree_size"] > receipt["tree_size"]
    # the zip carries the same anchored receipts and a README that says what they are worth
    r = env["clerk"].get(f"/api/cases/{case['case_id']}/receipts.zip")
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        first = next(n for n in zf.namelist() if n.endswith(f"-{receipt['exchange_id']}.json"))
        assert json.loads(zf.read(first))["anchor"]["contract"] == anchor["contract"]
        readme = zf.read("README.txt").decode()
    assert "本地开发链" in readme and "不是第三方证据" in readme
    # the audit lookup verifies the anchored receipt and labels the chain for what it is
    exchange_id = receipt["exchange_id"]
    looked_up = env["auditor"].get(f"/api/audit/exchanges/{exchange_id}").json()
    assert looked_up["receipt"]["anchor"]["contract"] == anchor["contract"]
    verification = looked_up["verification"]
    assert verification["valid"] and verification["summary"] == "全部检查通过"
    check = next(c for c in verification["checks"] if c["check"] == "anchor")
    assert check["status"] == "pass" and check["label"] == "链上锚定（本地开发链，非第三方证据）"
    assert "本地开发链" in check["detail"] and "外部无法核验" in check["detail"]
    chain = verification["anchor_chain"]
    assert chain["mode"] == "embedded" and chain["external"] is False
    assert "不是第三方证据" in chain["label"]


def test_yrd_audit_says_the_anchor_of_a_downloaded_receipt_was_not_checked(env, tmp_path):
    _, receipt = _anchored_receipt(env)
    (tmp_path / "receipt.json").write_text(json.dumps(receipt))
    trust = env["clerk"].get("/api/trust.json").json()
    (tmp_path / "trust.json").write_text(json.dumps(trust))
    out = subprocess.run(
        [sys.executable, "-m", "ledger.audit_cli", "verify", str(tmp_path / "receipt.json"),
         "--trust", str(tmp_path / "trust.json")],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    claim = next(x for x in out.stdout.splitlines() if x.startswith("--   anchor not checked"))
    assert f"tree size {receipt['anchor']['tree_size']}" in claim
    assert receipt["anchor"]["contract"] in claim and "--rpc" in claim
    assert "the anchor was NOT checked: no --rpc" in out.stdout.splitlines()[-1]
