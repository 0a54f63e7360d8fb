"""``Envelope.matter_ref`` is resolved at submit against the matter catalogue (issue 13).

A partner team found it neither resolved nor checked: an unknown ``JS-999999-9999``, an
empty value and a ``case.submit`` naming another matter than its payload were accepted, the
registry's permissions matched the sender's text, and the log stored whatever was sent (an
ID number; 1 MiB, which then blocked the recipient's pull stream). Each case runs on a real
gateway over mTLS; every refusal writes nothing (log leaves, exchanges and nonce rows read
back from the database file). In this gateway's registry Jiangsu may send ``case.submit``
only for the canonical matter 010010300100 (企业设立登记).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import grpc
import pytest

from gateway.errors import Refusal
from gateway.exchange.matter_ref import check_payload_matter, resolve_matter_ref
from gateway.identity.validation import compute_id_check_digit
from gateway.matters import Catalogue
from gateway.ops.privacy import contains_raw_id_number
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.rpc.status import reason_of
from ledger.receipt import verify_receipt
from tests.adversarial.probes import written_rows
from tests.envelopes import CANONICAL, status_update
from tests.gateway.harness import GatewayThread

DEADLINE = 60
FIRST, SECOND = "010010300100", "010010300200"  # 企业设立登记, 企业变更登记 (SAMPLE catalogue)
ID_NUMBER = "11010519491231002" + compute_id_check_digit("11010519491231002")
CASE = {  # a canonical case.submit, as Shanghai (yrd-canonical/1) sends it
    "case_id": "SH-2026-0001",
    "matter_code": FIRST,
    "applicant": {"person_key": "pk:sh:0123456789abcdef", "masked_name": "王*明"},
    "handling_mode": "异地代收代办",
    "materials": [{"material_id": "M01", "name": "申请书", "digest_sm3": "ab" * 32}],
    "receiving_city": "上海",
    "submitted_at": "2026-11-28T10:15:00+08:00",
}
JS_CASE = {  # the same in Jiangsu's dialect (js-json/1), with its local code
    "caseNo": "G60-SZ-2026-000301",
    "matterCode": "JS-320000-0001",
    "applicant": {"personKey": "pk:yrd:7f3a9c0e5b1d2468", "maskedName": "李*华"},
    "handleMode": "PROXY",
    "attachments": [{"materialId": "M01", "materialName": "申请书", "sm3Digest": "ab" * 32}],
    "windowCity": "苏州",
    "submitTime": "2026-11-28 10:15:00",
}


def _js_sends_case_submit_for_first_only(document: dict[str, Any]) -> None:
    for member in document["members"]:
        if member["id"]["region"] == "JS":
            member["send_permissions"] = [
                {"kinds": ["case.submit"], "matters": [FIRST], "recipients": ["*"]},
                {"kinds": ["case.status", "evidence.*", "matter.*"], "matters": ["*"],
                 "recipients": ["*"]},
            ]  # fmt: skip


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(
        tmp_path_factory.mktemp("matter-ref"), mutate=_js_sends_case_submit_for_first_only
    ).start()
    yield thread
    thread.stop()


def sh_case(client, gw, matter: str, **changes: Any) -> exchange_pb2.SignedEnvelope:
    body = CASE | {"case_id": f"SH-{uuid.uuid4().hex[:12]}"} | changes
    return client.build(
        recipient=gw.env.member_id("ZJ"),
        kind="case.submit",
        matter=matter,
        payload=json.dumps(body, ensure_ascii=False).encode(),
        dialect=CANONICAL,
    )


def js_case(client, gw, matter: str, **changes: Any) -> exchange_pb2.SignedEnvelope:
    body = JS_CASE | {"caseNo": f"G60-{uuid.uuid4().hex[:12]}"} | changes
    return client.build(
        recipient=gw.env.member_id("ZJ"),
        kind="case.submit",
        matter=matter,
        payload=json.dumps(body, ensure_ascii=False).encode(),
        dialect="js-json/1",
        content_type="application/json; charset=utf-8",
    )


async def refused(gw, region: str, signed, code: grpc.StatusCode, reason: str) -> str:
    before = written_rows(gw)
    async with gw.client(region) as client:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await client.exchange.Submit(signed, timeout=30)
    error = info.value
    assert error.code() == code, (error.code(), error.details())
    assert reason_of(error) == reason, error.details()
    assert written_rows(gw) == before, "a refusal must write nothing"
    return error.details()


def logged_entry(gw, receipt: exchange_pb2.Receipt) -> dict[str, Any]:
    return json.loads(verify_receipt(json.loads(receipt.receipt_json), gw.trust).entry)


# -- refused ---------------------------------------------------------------------------------
async def test_an_unknown_matter_is_not_found(gw):
    async with gw.client("SH") as client:
        signed = sh_case(client, gw, "JS-999999-9999")
    details = await refused(gw, "SH", signed, grpc.StatusCode.NOT_FOUND, "unknown_matter")
    assert "'JS-999999-9999'" in details and "not a matter of the catalogue" in details


async def test_an_empty_matter_ref_is_refused_for_case_submit(gw):
    async with gw.client("SH") as client:
        signed = sh_case(client, gw, "")
    details = await refused(gw, "SH", signed, grpc.StatusCode.INVALID_ARGUMENT, "malformed")
    assert "matter_ref must name the matter of a 'case.submit' exchange" in details


async def test_a_matter_ref_other_than_the_payloads_matter_is_a_mismatch(gw):
    async with gw.client("SH") as client:
        # Shanghai's own code of 企业变更登记, the payload names 企业设立登记
        signed = sh_case(client, gw, "YWTB-SH-0002")
    details = await refused(gw, "SH", signed, grpc.StatusCode.INVALID_ARGUMENT, "matter_mismatch")
    assert f"matter_ref resolves to {SECOND}" in details and f"'{FIRST}'" in details


async def test_a_1mib_matter_ref_is_refused_before_any_write_and_pull_goes_on(gw):
    big = "m" * (1 << 20)
    async with gw.client("SH") as client:
        signed = client.build(
            recipient=gw.env.member_id("ZJ"),
            kind="case.status",
            matter=big,
            payload=_status_payload(),
            dialect=CANONICAL,
        )
        details = await refused(gw, "SH", signed, grpc.StatusCode.INVALID_ARGUMENT, "malformed")
        assert "matter_ref 'mmm" in details
        assert f"is {1 << 20} characters, over the limit of 64 characters" in details
        assert len(details) < 400
        valid = status_update(client, gw.env, "ZJ")
        await client.submit(valid)
    wanted = exchange_pb2.Envelope.FromString(valid.envelope).exchange_id
    seen: list[str] = []
    async with (
        asyncio.timeout(DEADLINE),
        gw.client("ZJ") as recipient,
        recipient.pull() as deliveries,
    ):
        async for delivery in deliveries:
            await deliveries.ack(delivery)
            envelope = exchange_pb2.Envelope.FromString(delivery.envelope.envelope)
            assert len(envelope.matter_ref) <= 64
            seen.append(envelope.exchange_id)
            if envelope.exchange_id == wanted:
                break
    assert seen[-1] == wanted


def _status_payload() -> bytes:
    body = {"case_id": "C-1", "status": "received", "time": "2026-11-28T10:00:00+08:00"}
    return json.dumps({**body, "note": None}).encode()


@pytest.mark.parametrize("kind", ["case.status", "case.submit"])
async def test_an_id_number_as_matter_ref_is_refused_and_never_stored(gw, kind, caplog):
    caplog.set_level(logging.INFO)
    async with gw.client("SH") as client:
        if kind == "case.submit":
            signed = sh_case(client, gw, ID_NUMBER)
        else:
            signed = client.build(
                recipient=gw.env.member_id("ZJ"),
                kind=kind,
                matter=ID_NUMBER,
                payload=_status_payload(),
                dialect=CANONICAL,
            )
    details = await refused(gw, "SH", signed, grpc.StatusCode.NOT_FOUND, "unknown_matter")
    assert ID_NUMBER not in details and not contains_raw_id_number(details)
    assert "1101**********" in details  # masked, still recognisable to its sender
    logged = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert "exchange refused" in logged and "unknown_matter" in logged
    assert ID_NUMBER not in logged
    for name in ("gateway.db", "gateway.db-wal"):
        path = gw.data_dir / name
        if path.exists():
            assert ID_NUMBER.encode() not in path.read_bytes(), name


async def test_permission_is_checked_on_the_canonical_code(gw):
    async with gw.client("JS") as client:
        # Jiangsu's own local code of the permitted matter: allowed
        await client.submit(js_case(client, gw, "JS-320000-0001"))
        # as the canonical code: the same permission
        await client.submit(js_case(client, gw, FIRST))
        other = js_case(client, gw, "JS-320000-0002", matterCode="JS-320000-0002")
    details = await refused(gw, "JS", other, grpc.StatusCode.PERMISSION_DENIED, "not_permitted")
    assert f"for matter '{SECOND}'" in details and "JS-320000-0002" not in details


# -- accepted and logged as the canonical code -----------------------------------------------
@pytest.mark.parametrize(
    "matter_ref",
    ["YWTB-SH-0001", "ZJSX000001", "JS-320000-0001", "340000000001", FIRST],
    ids=["own-local-code", "zj-local-code", "js-local-code", "ah-local-code", "canonical"],
)
async def test_any_regions_local_code_is_logged_as_the_canonical_code(gw, matter_ref):
    async with gw.client("SH") as client:
        signed = sh_case(client, gw, matter_ref)
        receipt = await client.submit(signed)
    entry = logged_entry(gw, receipt)
    assert entry["matter"] == FIRST
    if matter_ref != FIRST:
        assert matter_ref not in receipt.receipt_json
    row = gw.gateway.store.exchange(exchange_pb2.Envelope.FromString(signed.envelope).exchange_id)
    assert row is not None and row.matter == FIRST


async def test_matter_lookup_names_its_matter_in_both_places(gw):
    async with gw.client("SH") as client:
        lookup = client.build(
            recipient=gw.env.member_id("JS"),
            kind="matter.lookup",
            matter="YWTB-SH-0003",
            payload=json.dumps({"matter_code": "010010300300"}).encode(),
            dialect=CANONICAL,
        )
        assert logged_entry(gw, await client.submit(lookup))["matter"] == "010010300300"
        wrong = client.build(
            recipient=gw.env.member_id("JS"),
            kind="matter.lookup",
            matter="YWTB-SH-0003",
            payload=json.dumps({"matter_code": FIRST}).encode(),
            dialect=CANONICAL,
        )
    await refused(gw, "SH", wrong, grpc.StatusCode.INVALID_ARGUMENT, "matter_mismatch")


async def test_a_kind_without_a_matter_may_leave_it_empty(gw):
    async with gw.client("SH") as client:
        receipt = await client.submit(status_update(client, gw.env, "ZJ"))
    assert logged_entry(gw, receipt)["matter"] == ""


# -- resolution order, on a catalogue with colliding codes (no gateway) ---------------------
def _colliding_catalogue() -> Catalogue:
    """The bundled catalogue with Jiangsu's code of FIRST spelled like the canonical SECOND,
    and one code used by Zhejiang for FIRST and by Anhui for SECOND."""
    from importlib import resources

    data = json.loads(
        resources.files("gateway.matters.data").joinpath("catalogue.json").read_text("utf-8")
    )
    by_code = {e["canonical"]["basic_code"]: e for e in data["entries"]}
    by_code[FIRST]["variants"]["JS"]["local_code"] = SECOND
    by_code[FIRST]["variants"]["ZJ"]["local_code"] = "SHARED-1"
    by_code[SECOND]["variants"]["AH"]["local_code"] = "SHARED-1"
    return Catalogue.from_dict(data)


def test_the_senders_own_local_code_comes_first_then_the_canonical_code():
    catalogue = _colliding_catalogue()
    assert resolve_matter_ref(catalogue, "case.submit", SECOND, "JS") == FIRST
    assert resolve_matter_ref(catalogue, "case.submit", SECOND, "SH") == SECOND


def test_a_code_of_several_matters_in_other_regions_is_refused():
    catalogue = _colliding_catalogue()
    with pytest.raises(Refusal) as info:
        resolve_matter_ref(catalogue, "case.status", "SHARED-1", "SH")
    assert info.value.reason == "unknown_matter" and "several matters" in info.value.message
    assert resolve_matter_ref(catalogue, "case.status", "SHARED-1", "ZJ") == FIRST


def test_the_payloads_matter_field_per_kind():
    check_payload_matter("matter", {"basic_code": FIRST}, FIRST)
    check_payload_matter("evidence.request", {"request_id": "r"}, "")
    with pytest.raises(Refusal) as info:
        check_payload_matter("matter", {"basic_code": SECOND}, FIRST)
    assert info.value.reason == "matter_mismatch" and info.value.metadata["field"] == "basic_code"
