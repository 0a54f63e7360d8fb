"""E-licences through the real gateway: ``Licences.Verify`` over mTLS gRPC on loopback, and
the once-only evidence path returning the issuing region's signed licence.

Anhui asks Jiangsu (its simulator, pushed to over HTTP) for a company's business licence
by the company's holder key, not its credit code; Jiangsu's simulator answers with the
certificate and the licence its licence authority signed. Anhui gets it by
``Matters.GetEvidence``, and the licence verifies on its own, offline, with
``yrdgw licence verify LICENCE --trust T`` (a subprocess). Afterwards the gateway's database
files, its log output and the receipts hold no raw ID number and no credit code other than
the member organisations' own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys

import grpc
import pytest

from gateway.identity import LegalPerson, derive_person_key
from gateway.licences.issuing import set_dev_licence_issuer
from gateway.ops.privacy import contains_raw_credit_code, contains_raw_id_number
from gateway.pb.yrd.v1 import errors_pb2, licences_pb2, licences_pb2_grpc, matters_pb2
from gateway.rpc.status import reason_of
from tests.adversarial.probes import stored_blobs
from tests.gateway.harness import GatewayThread
from tests.gateway.test_adapter_flow import Simulators
from tests.gateway.test_evidence_flow import evidence
from tests.licences.support import HOLDER_KEY, OTHER_KEY, Licences, revoke_in_js
from tests.licences.test_verify import CASES

RECEIPTS: list[str] = []
COMPANY_USCC = "91320500MA1YRD0013"  # 苏州示例电子有限公司, SAMPLE DATA in adapters/jiangsu


class Captured(logging.Handler):
    """Every log record of the gateway, with its extra fields, as text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {json.dumps(record.__dict__, default=str)}")


@pytest.fixture(scope="module")
def logs():
    handler = Captured()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.fixture(scope="module")
def sims():
    simulators = Simulators()
    simulators.start("JS")
    yield simulators
    simulators.close()


@pytest.fixture(scope="module")
def gw(tmp_path_factory, sims, logs):
    thread = GatewayThread(
        tmp_path_factory.mktemp("licences-grpc"),
        pull_regions=("SH", "ZJ", "AH"),
        endpoints={"JS": sims.url("JS")},
        push_backoff_seconds=0.05,
        push_backoff_max_seconds=0.2,
        mutate=revoke_in_js,
    ).start()
    # Jiangsu's licence authority signs with its registry key; holder keys are the
    # gateway's person keys (its secret, made when the gateway composed)
    secret = (thread.data_dir / "identity" / "person-key.secret").read_bytes()
    set_dev_licence_issuer(sims.apps["JS"], thread.env, "JS", secret)
    thread.secret = secret
    yield thread
    thread.stop()


def company_key(gw) -> str:
    return derive_person_key(LegalPerson("苏州示例电子有限公司", COMPANY_USCC, "示例代表"),
                             gw.secret)  # fmt: skip


async def verify(gw, licence: bytes, holder: str = "", region: str = "ZJ"):
    async with gw.client(region) as client:
        stub = licences_pb2_grpc.LicencesStub(client.channel)
        return await stub.Verify(
            licences_pb2.VerifyLicenceRequest(licence=licence, expected_holder_key=holder)
        )


async def test_verify_a_valid_licence_over_grpc(gw):
    lic = Licences(gw.env)
    got = await verify(gw, lic.licence(), HOLDER_KEY)
    assert got.valid and got.reason == errors_pb2.ERROR_REASON_UNSPECIFIED, got.message
    assert got.licence.licence_type_label == "营业执照" and got.licence.issuer_region == "JS"
    assert got.licence.holder_key == HOLDER_KEY
    assert got.licence.holder_display_number == "91************0013"


@pytest.mark.parametrize("case", sorted(CASES))
async def test_each_refusal_is_an_answer_with_its_reason(gw, case):
    make, reason, check = CASES[case]
    data = make(Licences(gw.env))
    if len(data) > 16 * 1024:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await verify(gw, data)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert reason_of(info.value) == "malformed"
        return
    got = await verify(gw, data)
    assert not got.valid
    assert errors_pb2.ErrorReason.Name(got.reason) == reason.name, got.message
    assert got.failed_check == check and got.message_zh


async def test_holder_mismatch_over_grpc(gw):
    got = await verify(gw, Licences(gw.env).licence(), OTHER_KEY)
    assert not got.valid and got.reason == errors_pb2.HOLDER_MISMATCH
    assert got.failed_check == "holder" and got.licence.licence_id == "JS-LIC-0001"


async def request_by_key(gw, request_id: str, holder_key: str) -> str:
    body = {"shu_ju": {
        "qing_qiu_hao": request_id,
        "zheng_zhao_lei_xing": 101,  # 营业执照
        "chi_zheng_ren_biao_shi": holder_key,
        "yong_tu": "企业变更登记核验（合肥G60窗口）",
        "qing_qiu_dan_wei": "1134010000YRD00041",
    }}  # fmt: skip
    async with gw.client("AH") as client:
        signed = client.build(
            recipient=gw.env.member_id("JS"),
            kind="evidence.request",
            matter="340000000002",
            payload=json.dumps(body, ensure_ascii=False).encode("gb18030"),
            dialect="ah-json-gb18030/1",
            content_type="application/json; charset=gb18030",
        )
        await client.submit(signed)
    from gateway.pb.yrd.v1 import exchange_pb2

    return exchange_pb2.Envelope.FromString(signed.envelope).exchange_id


async def settled(gw, exchange_id: str) -> matters_pb2.EvidenceAnswer:
    async def poll():
        while True:
            got = await evidence(gw, exchange_id)
            if got.state != matters_pb2.EVIDENCE_STATE_PENDING:
                return got
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), 30)


def yrdgw_verify(path: str, trust: str, holder: str) -> subprocess.CompletedProcess[str]:
    """``yrdgw licence verify`` in a subprocess: offline, only the files."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "licence", "verify", path, "--trust", trust,
         "--holder-key", holder], capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def test_an_evidence_licence_verifies_on_its_own_offline(gw, tmp_path):
    holder = company_key(gw)
    got = await settled(gw, await request_by_key(gw, "AH-LIC-2026-0001", holder))
    assert got.state == matters_pb2.EVIDENCE_STATE_ANSWERED, got.error
    assert got.response.licence, "the answer carries the signed e-licence"
    RECEIPTS.append(got.answer_receipt.receipt_json)
    assert got.response.certificate_number == "91************0013"  # asked by key: masked
    path = tmp_path / "licence.json"
    path.write_bytes(got.response.licence)
    trust = str(gw.env.licence_trust_path)
    out = await asyncio.to_thread(yrdgw_verify, str(path), trust, holder)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "holder: ok" in out.stdout and "VALID business_licence" in out.stdout
    assert "江苏省电子证照签发中心" in out.stdout
    # the same licence presented for another applicant is refused
    other = await asyncio.to_thread(yrdgw_verify, str(path), trust, OTHER_KEY)
    assert other.returncode == 1 and "HOLDER_MISMATCH" in other.stdout
    # and over gRPC, by a third region
    verdict = await verify(gw, got.response.licence, holder, region="SH")
    assert verdict.valid and verdict.licence.data["content_sm3"] == got.response.digest_sm3
    # a licence changed in transit (e.g. by the relay) no longer verifies
    forged = got.response.licence.replace("苏州示例电子".encode(), "苏州冒名电子".encode())
    refused = await verify(gw, forged, holder)
    assert refused.reason == errors_pb2.BAD_SIGNATURE


def test_privacy_no_raw_identifiers_in_db_logs_or_receipts(gw, logs):
    """After the evidence test: the database files (with WAL), the captured log output and
    the answer receipts hold no raw ID number, and no credit code but the members' own
    organisation codes (public bodies, in every member id)."""
    members = {m.id.org_code for m in gw.gateway.registry.require().members}
    stored = ("postgresql", ".db", "-wal")  # the databases: files, or PostgreSQL tables
    blobs = {name: blob for name, blob in stored_blobs(gw) if any(m in name for m in stored)}
    assert any(n.endswith("gateway.db") or n == "postgresql table exchanges" for n in blobs)
    blobs["logs"] = "\n".join(logs.lines).encode("utf-8")
    assert RECEIPTS, "the evidence test ran first and kept its receipts"
    blobs["receipts"] = "\n".join(RECEIPTS).encode("utf-8")
    for name, blob in blobs.items():
        assert not contains_raw_id_number(blob), name
        leaked = set(contains_raw_credit_code(blob)) - members
        assert not leaked, (name, leaked)
