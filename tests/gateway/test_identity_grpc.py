"""Identity.Recognize end to end: province simulators issue assertions over HTTP on loopback,
the gateway recognises them through its real mTLS gRPC server, and every refusal is named."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import aiohttp
import grpc
import pytest

from gateway.dialects import DialectCatalogue, default_dialects
from gateway.identity import verify_canonical_assertion
from gateway.identity.idp_simulator import set_identity_provider_key
from gateway.identity.recognition import ENTRY_TYPE, person_commitment
from gateway.ops.privacy import contains_raw_id_number
from gateway.pb.yrd.v1 import common_pb2, identity_pb2, identity_pb2_grpc
from gateway.rpc.status import reason_of
from ledger.receipt import verify_receipt
from tests.gateway.harness import GatewayThread

PROVINCES = ("JS", "ZJ", "AH")
REGION_PB = {"SH": common_pb2.REGION_SH, "JS": common_pb2.REGION_JS,
             "ZJ": common_pb2.REGION_ZJ, "AH": common_pb2.REGION_AH}  # fmt: skip
# Local method codes reaching low and substantial in each province (identity.json).
LOW = {"JS": ["PWD"], "ZJ": ["urn:zjzwfw:ac:classes:Password"], "AH": ["02"]}
SUBSTANTIAL = {"JS": ["PWD", "SMS"], "ZJ": ["urn:zjzwfw:ac:classes:PasswordSmsOtp"], "AH": ["04"]}
PERSON = {"JS": "js-0001", "ZJ": "zj-0001", "AH": "ah-0001"}
OTHER = {"JS": "js-0002", "ZJ": "zj-0002", "AH": "ah-0002"}
BAD_NUMBER = {"JS": "js-9001", "ZJ": "zj-9001", "AH": "ah-9001"}
MATTER_SUBSTANTIAL = "200060100100"  # 异地就医备案 (sample catalogue: substantial)
MATTER_HIGH = "070010400100"  # 户口迁移 (sample catalogue: high)


class Provinces:
    """The three province simulators, served on the gateway thread's loop."""

    def __init__(self, gw: GatewayThread) -> None:
        self.gw = gw
        self.runners: list[aiohttp.web.AppRunner] = []
        self.urls: dict[str, str] = {}

    async def start(self) -> Provinces:
        for region in PROVINCES:
            app = default_dialects().get(region).simulator()
            set_identity_provider_key(app, self.gw.env.idp_keys[region])
            runner = aiohttp.web.AppRunner(app)
            await runner.setup()
            site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.runners.append(runner)
            host, port = runner.addresses[0][:2]
            self.urls[region] = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


def _start(tmp_path_factory, name: str, **settings):
    # An explicit catalogue of the three provinces and the built-in canonical dialect: Shanghai
    # without its identity format even where the ``shanghai`` entry point is installed (its
    # format is tested in test_identity_grpc_shanghai.py), for the no-format refusal below.
    adapters = DialectCatalogue(default_dialects().get(r) for r in PROVINCES)
    gw = GatewayThread(tmp_path_factory.mktemp(name), adapters=adapters, **settings).start()
    provinces = gw.call(Provinces(gw).start())
    return gw, provinces


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    gw, provinces = _start(tmp_path_factory, "gw-identity")
    yield gw, provinces
    gw.call(provinces.stop())
    gw.stop()


@pytest.fixture(scope="module")
def world_per_rp(tmp_path_factory):
    gw, provinces = _start(
        tmp_path_factory, "gw-identity-rp", extra={"identity": {"per_relying_party": True}}
    )
    yield gw, provinces
    gw.call(provinces.stop())
    gw.stop()


async def issue(provinces: Provinces, region: str, person: str, **body) -> bytes:
    """Ask a province simulator's identity provider for an assertion, over HTTP."""
    body = {"person_id": person, "audience": "yrd-gateway", **body}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{provinces.urls[region]}/identity/assert", json=body) as resp:
            data = await resp.read()
            assert resp.status == 200, data
            fmt = default_dialects().get(region).identity
            assert resp.headers["X-Assertion-Format"] == fmt.format
            return data


async def recognize(gw: GatewayThread, region: str, data: bytes, *, caller: str = "SH", **req):
    async with gw.client(caller) as client:
        stub = identity_pb2_grpc.IdentityStub(client.channel)
        return await stub.Recognize(
            identity_pb2.RecognizeRequest(province=REGION_PB[region], assertion=data, **req)
        )


async def refused(gw, region, data, code, reason, *, caller="SH", **req) -> str:
    size = gw.gateway.log.size
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await recognize(gw, region, data, caller=caller, **req)
    assert info.value.code() == code, info.value.details()
    assert reason_of(info.value) == reason, info.value.details()
    assert gw.gateway.log.size == size, "a refusal must write nothing to the log"
    return info.value.details()


def tamper(region: str, data: bytes) -> bytes:
    """Change the person's name inside the signed content, keeping the signature."""
    if region == "JS":
        header, claims, signature = data.split(b".")
        raw = json.loads(base64.urlsafe_b64decode(claims + b"=" * (-len(claims) % 4)))
        raw["xm"] = "王大明"
        claims = base64.urlsafe_b64encode(json.dumps(raw).encode()).rstrip(b"=")
        return b".".join((header, claims, signature))
    if region == "ZJ":
        assert "林晓燕".encode() in data
        return data.replace("林晓燕".encode(), "林晓红".encode())
    text = data.decode("gb18030")
    assert "吴海峰" in text
    return text.replace("吴海峰", "吴海山").encode("gb18030")


# -- recognition ---------------------------------------------------------------------------


@pytest.mark.parametrize("region", PROVINCES)
async def test_simulator_assertion_is_recognised(world, region):
    gw, provinces = world
    data = await issue(provinces, region, PERSON[region], methods=SUBSTANTIAL[region])
    resp = await recognize(gw, region, data)

    sh = gw.env.member_id("SH")
    assert resp.audience == sh
    assert resp.level == identity_pb2.ASSURANCE_LEVEL_SUBSTANTIAL
    assert resp.issuing_province == REGION_PB[region]
    assert resp.required_level == identity_pb2.ASSURANCE_LEVEL_UNSPECIFIED
    assert resp.person_key.startswith("pk-") and len(resp.person_key) == 35
    assert "*" in resp.masked_name and "*" in resp.masked_document_number
    assert resp.document_type == "resident_id_card"

    # the canonical assertion verifies with the gateway key listed in the trust registry
    registry = gw.gateway.registry.require()
    key = registry.gateway_key(resp.gateway_key_id, "identity", datetime.now(UTC))
    claims = verify_canonical_assertion(
        resp.canonical_assertion, {resp.gateway_key_id: key}, sh, datetime.now(UTC)
    )
    assert claims["person_key"] == resp.person_key
    assert claims["issuing_province"] == region
    assert claims["level"] == "substantial"
    assert claims["masked_document_number"] == resp.masked_document_number

    # the recognition is in the log; the entry holds digests and a commitment, no number
    verified = verify_receipt(json.loads(resp.receipt.receipt_json), gw.trust)
    entry = json.loads(verified.entry)
    assert entry["type"] == ENTRY_TYPE
    assert entry["recognition_id"] == resp.recognition_id
    assert entry["relying_party"] == sh
    assert entry["issuing_province"] == region
    assert entry["person_commitment"] == (
        person_commitment(resp.recognition_id, resp.person_key).hex()
    )
    assert resp.person_key not in verified.entry.decode()
    assert contains_raw_id_number(verified.entry) == []
    assert contains_raw_id_number(resp.SerializeToString()) == []


@pytest.mark.parametrize("region", PROVINCES)
async def test_format_is_checked_and_defaults_to_the_provinces(world, region):
    gw, provinces = world
    fmt = default_dialects().get(region).identity
    data = await issue(provinces, region, PERSON[region])
    assert (await recognize(gw, region, data, format=fmt.format)).person_key
    details = await refused(
        gw, region, data, grpc.StatusCode.INVALID_ARGUMENT, "malformed", format="other/1"
    )
    assert fmt.format in details


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("region", PROVINCES)
async def test_tampered_assertion_is_refused(world, region):
    gw, provinces = world
    data = await issue(provinces, region, PERSON[region])
    details = await refused(
        gw, region, tamper(region, data), grpc.StatusCode.UNAUTHENTICATED, "bad_signature"
    )
    assert "signature" in details


@pytest.mark.parametrize("region", PROVINCES)
async def test_expired_assertion_is_refused(world, region):
    gw, provinces = world
    an_hour_ago = int(datetime.now(UTC).timestamp()) - 3600
    data = await issue(provinces, region, PERSON[region], issued_at=an_hour_ago, ttl_seconds=300)
    details = await refused(gw, region, data, grpc.StatusCode.UNAUTHENTICATED, "expired")
    assert "expired" in details


@pytest.mark.parametrize("region", PROVINCES)
async def test_not_yet_valid_assertion_is_refused(world, region):
    gw, provinces = world
    in_an_hour = int(datetime.now(UTC).timestamp()) + 3600
    data = await issue(provinces, region, PERSON[region], issued_at=in_an_hour)
    await refused(gw, region, data, grpc.StatusCode.UNAUTHENTICATED, "not_yet_valid")


@pytest.mark.parametrize("region", PROVINCES)
async def test_wrong_audience_is_refused(world, region):
    gw, provinces = world
    data = await issue(provinces, region, PERSON[region], audience="some-other-portal")
    details = await refused(gw, region, data, grpc.StatusCode.UNAUTHENTICATED, "wrong_audience")
    assert "some-other-portal" in details


@pytest.mark.parametrize("region", PROVINCES)
async def test_invalid_id_number_in_a_validly_signed_assertion(world, region):
    gw, provinces = world
    data = await issue(provinces, region, BAD_NUMBER[region])
    details = await refused(gw, region, data, grpc.StatusCode.INVALID_ARGUMENT, "invalid_id_number")
    assert "check digit mismatch" in details
    number = default_dialects().get(region).identity.sample_people[BAD_NUMBER[region]]
    assert number["document_number"] not in details


async def test_assertion_from_another_province_is_refused(world):
    gw, provinces = world
    data = await issue(provinces, "JS", PERSON["JS"])
    # a Jiangsu token presented as Zhejiang's is not Zhejiang XML
    await refused(gw, "ZJ", data, grpc.StatusCode.INVALID_ARGUMENT, "malformed")


async def test_region_without_an_identity_format(world):
    gw, _ = world
    await refused(gw, "SH", b"anything", grpc.StatusCode.UNAUTHENTICATED, "unknown_issuer")


async def test_unknown_matter(world):
    gw, provinces = world
    data = await issue(provinces, "JS", PERSON["JS"])
    await refused(
        gw, "JS", data, grpc.StatusCode.NOT_FOUND, "not_found", matter_code="999999999999"
    )


# -- levels --------------------------------------------------------------------------------


@pytest.mark.parametrize("region", PROVINCES)
async def test_matter_needing_substantial_refuses_low_and_accepts_substantial(world, region):
    gw, provinces = world
    low = await issue(provinces, region, PERSON[region], methods=LOW[region])
    details = await refused(
        gw,
        region,
        low,
        grpc.StatusCode.PERMISSION_DENIED,
        "level_too_low",
        matter_code=MATTER_SUBSTANTIAL,
    )
    assert "expected at least substantial, got low" in details

    good = await issue(provinces, region, PERSON[region], methods=SUBSTANTIAL[region])
    resp = await recognize(gw, region, good, matter_code=MATTER_SUBSTANTIAL)
    assert resp.level == identity_pb2.ASSURANCE_LEVEL_SUBSTANTIAL
    assert resp.required_level == identity_pb2.ASSURANCE_LEVEL_SUBSTANTIAL
    entry = json.loads(base64.b64decode(json.loads(resp.receipt.receipt_json)["entry"]))
    assert (entry["matter"], entry["required_level"]) == (MATTER_SUBSTANTIAL, "substantial")


async def test_matter_needing_high_and_a_minimum_level(world):
    gw, provinces = world
    face = await issue(provinces, "AH", PERSON["AH"], methods=["04"])
    await refused(
        gw, "AH", face, grpc.StatusCode.PERMISSION_DENIED, "level_too_low", matter_code=MATTER_HIGH
    )
    await refused(
        gw,
        "AH",
        face,
        grpc.StatusCode.PERMISSION_DENIED,
        "level_too_low",
        minimum_level=identity_pb2.ASSURANCE_LEVEL_HIGH,
    )
    eid = await issue(provinces, "AH", PERSON["AH"], methods=["05"])
    resp = await recognize(gw, "AH", eid, matter_code=MATTER_HIGH)
    assert resp.level == identity_pb2.ASSURANCE_LEVEL_HIGH
    assert list(resp.methods) == ["electronic_id_card"]


# -- person keys ---------------------------------------------------------------------------


async def _key(gw, provinces, region, person, caller="SH") -> str:
    data = await issue(provinces, region, person)
    return (await recognize(gw, region, data, caller=caller)).person_key


@pytest.mark.parametrize("region", PROVINCES)
async def test_person_key_is_stable_and_differs_between_people(world, region):
    gw, provinces = world
    first = await _key(gw, provinces, region, PERSON[region])
    again = await _key(gw, provinces, region, PERSON[region])
    other = await _key(gw, provinces, region, OTHER[region])
    assert first == again
    assert first != other


async def test_person_key_is_global_by_default(world):
    gw, provinces = world
    assert await _key(gw, provinces, "ZJ", PERSON["ZJ"], caller="SH") == await _key(
        gw, provinces, "ZJ", PERSON["ZJ"], caller="JS"
    )


async def test_person_key_per_relying_party_when_configured(world_per_rp):
    gw, provinces = world_per_rp
    for_sh = await _key(gw, provinces, "ZJ", PERSON["ZJ"], caller="SH")
    for_js = await _key(gw, provinces, "ZJ", PERSON["ZJ"], caller="JS")
    assert for_sh != for_js
    assert for_sh == await _key(gw, provinces, "ZJ", PERSON["ZJ"], caller="SH")
    assert for_sh != await _key(gw, provinces, "ZJ", OTHER["ZJ"], caller="SH")


async def test_service_is_listed_in_health_and_reflection(world):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    gw, _ = world
    async with gw.client("SH") as client:
        health = health_pb2_grpc.HealthStub(client.channel)
        status = await health.Check(health_pb2.HealthCheckRequest(service="yrd.v1.Identity"))
    assert status.status == health_pb2.HealthCheckResponse.SERVING
