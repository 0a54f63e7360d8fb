"""Identity.Recognize end to end for Shanghai: Shanghai's identity provider (the simulator
the dev environment runs for it) issues ``sh-oidc/1`` ID tokens over HTTP on loopback, and
the gateway recognises them through its real mTLS gRPC server, for a Shanghai window and
for a Jiangsu window (the G60 direction); every refusal is named and writes nothing.

The gateway gets an explicit catalogue (Shanghai's adapter plus the installed provinces),
so the test does not depend on the ``shanghai`` entry point being installed.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import aiohttp
import grpc
import pytest

import adapters.shanghai
from gateway.app.simulators import Simulators
from gateway.dialects import DialectCatalogue, default_dialects
from gateway.identity import verify_canonical_assertion
from gateway.identity.idp_simulator import set_identity_provider_key
from gateway.identity.recognition import ENTRY_TYPE
from gateway.ops.privacy import contains_raw_id_number
from gateway.pb.yrd.v1 import common_pb2, identity_pb2, identity_pb2_grpc
from gateway.rpc.status import reason_of
from ledger.receipt import verify_receipt
from tests.gateway.harness import GatewayThread

PERSON, OTHER, BAD_NUMBER = "sh-0001", "sh-0002", "sh-9001"
NUMBER = "310117198805160127"
MATTER_SUBSTANTIAL = "200060100100"  # 异地就医备案 (sample catalogue: substantial)
MATTER_HIGH = "070010400100"  # 户口迁移 (sample catalogue: high)


def _catalogue() -> DialectCatalogue:
    others = [default_dialects().get(r) for r in ("JS", "ZJ", "AH")]
    return DialectCatalogue([adapters.shanghai.create_adapter(), *others])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    catalogue = _catalogue()
    gw = GatewayThread(tmp_path_factory.mktemp("gw-identity-sh"), adapters=catalogue).start()
    sims = Simulators()
    urls = gw.call(sims.start_identity_providers(catalogue, fixed_ports=False))
    assert set_identity_provider_key(sims.apps["SH"], gw.env.idp_keys["SH"])
    yield gw, f"{urls['SH']}/identity/assert"
    gw.call(sims.stop())
    gw.stop()


async def issue(url: str, person: str = PERSON, **body) -> bytes:
    """Ask Shanghai's identity provider for an ID token, over HTTP."""
    body = {"person_id": person, "audience": "yrd-gateway", **body}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body) as resp:
            data = await resp.read()
            assert resp.status == 200, data
            assert resp.headers["X-Assertion-Format"] == "sh-oidc/1"
            return data


async def recognize(gw: GatewayThread, data: bytes, *, caller: str = "SH", **req):
    async with gw.client(caller) as client:
        stub = identity_pb2_grpc.IdentityStub(client.channel)
        return await stub.Recognize(
            identity_pb2.RecognizeRequest(province=common_pb2.REGION_SH, assertion=data, **req)
        )


async def refused(gw, data, code, reason, *, caller="SH", **req) -> str:
    size = gw.gateway.log.size
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await recognize(gw, data, caller=caller, **req)
    assert info.value.code() == code, info.value.details()
    assert reason_of(info.value) == reason, info.value.details()
    assert gw.gateway.log.size == size, "a refusal must write nothing to the log"
    assert NUMBER not in info.value.details()
    return info.value.details()


def _b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def _claims(data: bytes) -> dict:
    part = data.split(b".")[1]
    return json.loads(base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4)))


# -- recognition ---------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["SH", "JS"])
async def test_shanghai_id_token_is_recognised(world, caller):
    gw, url = world
    data = await issue(url, methods=["pwd", "sms"])
    resp = await recognize(gw, data, caller=caller)

    member = gw.env.member_id(caller)
    assert resp.audience == member
    assert resp.issuing_province == common_pb2.REGION_SH
    assert resp.level == identity_pb2.ASSURANCE_LEVEL_SUBSTANTIAL
    assert sorted(resp.methods) == ["password", "sms_otp"]
    assert resp.person_key.startswith("pk-") and len(resp.person_key) == 35
    assert resp.document_type == "resident_id_card"
    assert "*" in resp.masked_name and "*" in resp.masked_document_number

    registry = gw.gateway.registry.require()
    key = registry.gateway_key(resp.gateway_key_id, "identity", datetime.now(UTC))
    claims = verify_canonical_assertion(
        resp.canonical_assertion, {resp.gateway_key_id: key}, member, datetime.now(UTC)
    )
    assert (claims["issuing_province"], claims["level"]) == ("SH", "substantial")
    assert claims["person_key"] == resp.person_key

    verified = verify_receipt(json.loads(resp.receipt.receipt_json), gw.trust)
    entry = json.loads(verified.entry)
    assert entry["type"] == ENTRY_TYPE and entry["issuing_province"] == "SH"
    assert entry["relying_party"] == member
    assert contains_raw_id_number(verified.entry) == []
    assert contains_raw_id_number(resp.SerializeToString()) == []
    assert _claims(data)["sub"] not in verified.entry.decode()


async def test_format_name_is_checked(world):
    gw, url = world
    data = await issue(url)
    assert (await recognize(gw, data, format="sh-oidc/1")).person_key
    details = await refused(
        gw, data, grpc.StatusCode.INVALID_ARGUMENT, "malformed", format="js-idtoken/1"
    )
    assert "sh-oidc/1" in details


async def test_person_key_is_stable_and_global(world):
    gw, url = world
    first = (await recognize(gw, await issue(url))).person_key
    assert (await recognize(gw, await issue(url), caller="ZJ")).person_key == first
    assert (await recognize(gw, await issue(url, OTHER))).person_key != first


async def test_levels_follow_shanghais_method_codes(world):
    gw, url = world
    face = await issue(url, methods=["face"])
    resp = await recognize(gw, face, matter_code=MATTER_SUBSTANTIAL)
    assert resp.level == identity_pb2.ASSURANCE_LEVEL_SUBSTANTIAL
    details = await refused(
        gw, face, grpc.StatusCode.PERMISSION_DENIED, "level_too_low", matter_code=MATTER_HIGH
    )
    assert "expected at least high, got substantial" in details
    low = await issue(url, methods=["pwd"])
    await refused(
        gw,
        low,
        grpc.StatusCode.PERMISSION_DENIED,
        "level_too_low",
        matter_code=MATTER_SUBSTANTIAL,
    )
    ctid = await issue(url, methods=["ctid"])
    resp = await recognize(gw, ctid, matter_code=MATTER_HIGH)
    assert resp.level == identity_pb2.ASSURANCE_LEVEL_HIGH
    assert list(resp.methods) == ["electronic_id_card"]


# -- refusals ------------------------------------------------------------------------------


async def test_tampered_token_is_refused(world):
    gw, url = world
    header, _, signature = (await issue(url)).split(b".")
    claims = _claims(await issue(url))
    claims["sh_xm"] = "张申亮"
    forged = b".".join((header, _b64(json.dumps(claims).encode()), signature))
    details = await refused(gw, forged, grpc.StatusCode.UNAUTHENTICATED, "bad_signature")
    assert "signature" in details


async def test_expired_and_not_yet_valid_tokens_are_refused(world):
    gw, url = world
    now = int(datetime.now(UTC).timestamp())
    old = await issue(url, issued_at=now - 3600, ttl_seconds=300)
    assert "expired" in await refused(gw, old, grpc.StatusCode.UNAUTHENTICATED, "expired")
    later = await issue(url, issued_at=now + 3600)
    await refused(gw, later, grpc.StatusCode.UNAUTHENTICATED, "not_yet_valid")


async def test_wrong_audience_is_refused(world):
    gw, url = world
    data = await issue(url, audience="some-other-portal")
    details = await refused(gw, data, grpc.StatusCode.UNAUTHENTICATED, "wrong_audience")
    assert "some-other-portal" in details


@pytest.mark.parametrize("alg", ["none", "ES256", "HS256"])
async def test_other_algorithms_are_refused(world, alg):
    gw, url = world
    header, claims, signature = (await issue(url)).split(b".")
    head = json.loads(base64.urlsafe_b64decode(header + b"=" * (-len(header) % 4)))
    head["alg"] = alg
    forged = b".".join(
        (_b64(json.dumps(head).encode()), claims, b"" if alg == "none" else signature)
    )
    details = await refused(gw, forged, grpc.StatusCode.INVALID_ARGUMENT, "malformed")
    assert f"header.alg: expected SM2SM3, got '{alg}'" in details


async def test_invalid_id_number_in_a_validly_signed_token(world):
    gw, url = world
    data = await issue(url, BAD_NUMBER)
    details = await refused(gw, data, grpc.StatusCode.INVALID_ARGUMENT, "invalid_id_number")
    assert "check digit mismatch" in details and "310106198102120115" not in details
