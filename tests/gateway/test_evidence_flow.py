"""Once-only evidence end to end: Anhui asks Jiangsu for a business licence instead of asking
the applicant.

An Anhui (Hefei) member submits an ``evidence.request`` in Anhui's dialect (GB18030 JSON)
addressed to the Jiangsu member; the gateway normalises and logs it and pushes it to the
Jiangsu simulator in Jiangsu's dialect; the simulator answers with the certificate; the
gateway logs the answer as an ``evidence.response`` exchange from the Jiangsu member to the
requester (signed with the gateway's attestation key, as Jiangsu's adapter) and delivers it to
Anhui, which gets it by ``Matters.GetEvidence`` and by its pull stream.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid

import grpc
import pytest

from gateway.exchange.evidence import AnswerMismatch, answer_exchange_id, verify_relayed_envelope
from gateway.pb.yrd.v1 import audit_pb2, exchange_pb2, matters_pb2, matters_pb2_grpc
from gateway.rpc.status import reason_of
from ledger.crypto import sm3
from ledger.receipt import verify_receipt
from tests.gateway.harness import GatewayThread
from tests.gateway.test_adapter_flow import Simulators, async_wait_for, db_counts

LICENCE_USCC = "91320500MA1YRD0013"  # 苏州示例电子有限公司, SAMPLE DATA in adapters/jiangsu


def ah_request(request_id: str, certificate_type: int = 101) -> bytes:
    """An evidence request as Anhui writes it: ah-json-gb18030/1 (codes: 101 营业执照)."""
    body = {
        "shu_ju": {
            "qing_qiu_hao": request_id,
            "zheng_zhao_lei_xing": certificate_type,
            "chi_zheng_dai_ma": LICENCE_USCC,
            "yong_tu": "企业变更登记核验（合肥G60窗口）",
            "qing_qiu_dan_wei": "1134010000YRD00041",
        }
    }
    return json.dumps(body, ensure_ascii=False).encode("gb18030")


@pytest.fixture(scope="module")
def sims():
    simulators = Simulators()
    simulators.start("JS")
    yield simulators
    simulators.close()


@pytest.fixture(scope="module")
def gw(tmp_path_factory, sims):
    thread = GatewayThread(
        tmp_path_factory.mktemp("evidence"),
        pull_regions=("SH", "ZJ", "AH"),
        endpoints={"JS": sims.url("JS")},
        push_backoff_seconds=0.05,
        push_backoff_max_seconds=0.2,
    ).start()
    yield thread
    thread.stop()


async def submit_request(gw, request_id: str, certificate_type: int = 101) -> str:
    async with gw.client("AH") as client:
        signed = client.build(
            recipient=gw.env.member_id("JS"),
            kind="evidence.request",
            matter="340000000002",  # Anhui's local code of 企业变更登记
            payload=ah_request(request_id, certificate_type),
            dialect="ah-json-gb18030/1",
            content_type="application/json; charset=gb18030",
        )
        await client.submit(signed)
    return exchange_pb2.Envelope.FromString(signed.envelope).exchange_id


async def evidence(gw, exchange_id: str, region: str = "AH") -> matters_pb2.EvidenceAnswer:
    async with gw.client(region) as client:
        stub = matters_pb2_grpc.MattersStub(client.channel)
        return await stub.GetEvidence(matters_pb2.GetEvidenceRequest(exchange_id=exchange_id))


async def settled(gw, exchange_id: str) -> matters_pb2.EvidenceAnswer:
    async def poll() -> matters_pb2.EvidenceAnswer:
        while True:
            got = await evidence(gw, exchange_id)
            if got.state != matters_pb2.EVIDENCE_STATE_PENDING:
                return got
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), 30)


async def test_anhui_gets_the_licence_from_jiangsu(gw, sims):
    leaves_before = db_counts(gw)[0]
    request_id = await submit_request(gw, "AH-EV-2026-0001")

    got = await settled(gw, request_id)
    assert got.state == matters_pb2.EVIDENCE_STATE_ANSWERED, got.error
    # (1): the certificate, as the holder issued it
    cert = got.response
    assert cert.request_id == "AH-EV-2026-0001"
    assert (cert.certificate_type, cert.certificate_number) == ("business_licence", LICENCE_USCC)
    assert cert.holder == "苏州示例电子有限公司" and cert.issued_date == "2024-03-11"
    assert cert.digest_sm3 == sm3(cert.content).hex()
    assert "示例" in cert.content.decode("utf-8")  # SAMPLE certificate

    # (2): what reached Jiangsu: its own dialect, endpoint and code lists
    path, content_type, body = sims.received["JS"][-1]
    assert path == "/api/v1/licences/query" and "utf-8" in content_type
    sent = json.loads(body.decode("utf-8"))
    assert sent["requestId"] == "AH-EV-2026-0001"
    assert sent["licenceType"] == "BUSINESS_LICENSE" and sent["holderCreditCode"] == LICENCE_USCC
    assert "shu_ju" not in sent

    # (3): the answer is a logged exchange from the Jiangsu member back to Anhui
    assert got.answer_exchange_id == answer_exchange_id(request_id)
    verified = verify_receipt(json.loads(got.answer_receipt.receipt_json), gw.trust)
    entry = json.loads(verified.entry)
    assert entry["kind"] == "evidence.response" and entry["exchange_id"] == got.answer_exchange_id
    assert entry["sender"] == gw.env.member_id("JS")
    assert entry["recipient"] == gw.env.member_id("AH")
    assert entry["matter"] == "010010300200"  # the canonical code the request resolved to
    log_key = gw.env.attestation_key.public_key  # the gateway's attestation key
    assert entry["signer_key_id"] == log_key.key_id  # the gateway signed, as JS's adapter
    assert verify_relayed_envelope(gw.gateway.registry.require(), got.answer_envelope)
    assert LICENCE_USCC not in verified.entry.decode() and "示例" not in verified.entry.decode()
    # the envelope is signed by the gateway's attestation key, over the exact bytes
    signed = got.answer_envelope
    log_key.verify(signed.envelope, signed.signature)
    envelope = exchange_pb2.Envelope.FromString(signed.envelope)
    assert entry["envelope_sm3"] == sm3(signed.envelope).hex()
    assert envelope.payload_digest == sm3(envelope.payload)
    payload = json.loads(envelope.payload)
    assert payload["content_base64"] == base64.b64encode(cert.content).decode()
    assert db_counts(gw)[0] == leaves_before + 2  # the request and its answer

    # (4): the log holds it: inclusion proof by exchange id, against the latest checkpoint
    async with gw.client("AH") as client:
        proof = await client.audit.GetInclusionProof(
            audit_pb2.GetInclusionProofRequest(exchange_id=got.answer_exchange_id)
        )
        assert proof.entry == verified.entry

        # (5): and Anhui, a pull-mode member, also receives it on its pull stream
        async with asyncio.timeout(30), client.pull() as deliveries:
            async for delivery in deliveries:
                envelope = exchange_pb2.Envelope.FromString(delivery.envelope.envelope)
                await deliveries.ack(delivery)
                if envelope.exchange_id == got.answer_exchange_id:
                    break
    assert envelope.kind == "evidence.response"
    assert delivery.envelope.key_id == log_key.key_id
    await async_wait_for(
        lambda: gw.gateway.store.outbox_row(got.answer_exchange_id)[0] == "delivered",
        "the answer acked by Anhui",
    )

    # the request itself was delivered to Jiangsu, its answer stored with the outbox row
    status, _, _, response = gw.gateway.store.outbox_row(request_id)
    assert status == "delivered" and json.loads(response)["certificate_number"] == LICENCE_USCC


async def test_only_the_requester_may_fetch_the_answer(gw):
    request_id = await submit_request(gw, "AH-EV-2026-0002")
    assert (await settled(gw, request_id)).state == matters_pb2.EVIDENCE_STATE_ANSWERED
    for region in ("JS", "ZJ"):  # the holder and a bystander
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await evidence(gw, request_id, region)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert reason_of(info.value) == "not_permitted"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await evidence(gw, str(uuid.uuid4()))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    # the answer exchange is not itself an evidence request
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await evidence(gw, answer_exchange_id(request_id), "JS")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not evidence.request" in info.value.details()


async def test_a_certificate_the_holder_does_not_have_is_refused(gw):
    leaves_before = db_counts(gw)[0]
    # 201 is a household register: Jiangsu holds none for a company
    request_id = await submit_request(gw, "AH-EV-2026-0003", certificate_type=201)
    got = await settled(gw, request_id)
    assert got.state == matters_pb2.EVIDENCE_STATE_REFUSED
    assert "http 404" in got.error and not got.answer_exchange_id
    assert db_counts(gw)[0] == leaves_before + 1  # the request only; no answer logged


async def test_the_answer_is_recorded_once(gw):
    request_id = await submit_request(gw, "AH-EV-2026-0004")
    got = await settled(gw, request_id)
    relay = gw.gateway.answer_relay
    row = gw.gateway.store.exchange(request_id)
    answer = json.loads(gw.gateway.store.exchange(got.answer_exchange_id).canonical)
    leaves = db_counts(gw)[0]
    again = gw.call(relay.record(row, answer))  # e.g. a push retried after a crash
    assert again == got.answer_exchange_id and db_counts(gw)[0] == leaves
    with pytest.raises(AnswerMismatch, match="request_id"):
        gw.call(relay.record(row, answer | {"request_id": "AH-EV-OTHER"}))
