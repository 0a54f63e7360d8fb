"""Legal persons over Identity.Recognize, end to end: each province simulator (every format
with sample organisations) issues an enterprise login or an electronic business licence
presentation over HTTP on loopback, the gateway recognises it through its real mTLS gRPC
server, and matters admit only the subject kinds they declare."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import grpc
import pytest

from gateway.identity import AgentRole, verify_canonical_assertion
from gateway.identity.recognition import ENTRY_TYPE, agent_commitment, person_commitment
from gateway.ops.privacy import contains_raw_credit_code, contains_raw_id_number, mask_uscc
from gateway.pb.yrd.v1 import identity_pb2
from ledger.receipt import verify_receipt
from tests.gateway.harness import GatewayThread
from tests.gateway.legal_helpers import (
    LEGAL_REGIONS,
    MATTER_BOTH,
    MATTER_LEGAL,
    MATTER_NATURAL,
    Simulators,
    bad_organisation,
    high_person_method,
    legal_formats,
    org_with_role,
    private_codes,
    public_codes,
    strong_org_method,
    tamper_text,
)
from tests.gateway.test_identity_grpc import recognize, refused

FORMATS = legal_formats()


def test_the_three_provinces_carry_legal_persons():
    assert {"JS", "ZJ", "AH"} <= set(LEGAL_REGIONS)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    gw = GatewayThread(tmp_path_factory.mktemp("gw-legal")).start()
    sims = gw.call(Simulators(gw, LEGAL_REGIONS).start())
    yield gw, sims
    gw.call(sims.stop())
    gw.stop()


@pytest.mark.parametrize("region", LEGAL_REGIONS)
async def test_e_business_licence_is_recognised_end_to_end(world, region):
    gw, sims = world
    fmt = FORMATS[region]
    org = org_with_role(fmt, "legal_representative")
    data = await sims.issue_org(region, org, methods=[strong_org_method(fmt)])  # fmt: skip
    resp = await recognize(gw, region, data, matter_code=MATTER_LEGAL)

    sh = gw.env.member_id("SH")
    assert resp.subject_kind == "legal_person"
    assert resp.level == identity_pb2.ASSURANCE_LEVEL_HIGH
    assert list(resp.methods) == sorted(m.value for m in fmt.methods[strong_org_method(fmt)])
    assert resp.required_level == identity_pb2.ASSURANCE_LEVEL_SUBSTANTIAL
    assert resp.organisation_key == resp.person_key and resp.person_key.startswith("pk-")
    assert resp.agent_key.startswith("ak-") and len(resp.agent_key) == 35
    assert resp.role == "legal_representative"
    assert resp.masked_uscc == mask_uscc(org["uscc"]) and "*" in resp.masked_uscc
    assert resp.masked_organisation_name != org["name"] and "*" in resp.masked_organisation_name
    assert resp.masked_organisation_name[0] == org["name"][0]
    agent = fmt.sample_people[org["agent_person_id"]]
    assert "*" in resp.masked_agent_name and resp.masked_agent_name != agent["name"]
    assert resp.document_type == "unified_social_credit_code"
    assert resp.masked_document_number == resp.masked_uscc

    # the canonical assertion carries the same keys and masked fields, signed by the gateway
    registry = gw.gateway.registry.require()
    key = registry.gateway_key(resp.gateway_key_id, "identity", datetime.now(UTC))
    claims = verify_canonical_assertion(
        resp.canonical_assertion, {resp.gateway_key_id: key}, sh, datetime.now(UTC)
    )
    assert claims["subject_kind"] == "legal_person"
    assert (claims["person_key"], claims["agent_key"]) == (resp.person_key, resp.agent_key)
    assert claims["role"] == "legal_representative"
    assert claims["masked_document_number"] == resp.masked_uscc
    assert claims["masked_agent_name"] == resp.masked_agent_name
    assert claims["level"] == "high" and claims["issuing_province"] == region

    # the log entry: v 2, commitments to both keys, no code, number, name or key
    verified = verify_receipt(json.loads(resp.receipt.receipt_json), gw.trust)
    entry = json.loads(verified.entry)
    assert (entry["type"], entry["v"], entry["subject_kind"]) == (ENTRY_TYPE, 2, "legal_person")
    assert entry["role"] == "legal_representative" and entry["matter"] == MATTER_LEGAL
    rid = resp.recognition_id
    assert entry["person_commitment"] == person_commitment(rid, resp.person_key).hex()
    assert entry["agent_commitment"] == agent_commitment(rid, resp.agent_key).hex()
    text = verified.entry.decode()
    for secret in (org["uscc"], org["name"], agent["document_number"], resp.agent_key):
        assert secret not in text
    public = public_codes(gw)
    assert org["uscc"] not in public
    assert private_codes(verified.entry, public) == []
    assert contains_raw_id_number(verified.entry) == []
    wire = resp.SerializeToString()
    assert private_codes(wire, public) == [] and contains_raw_id_number(wire) == []
    assert contains_raw_credit_code(org["uscc"].encode()) == [org["uscc"]]  # the control


@pytest.mark.parametrize("region", LEGAL_REGIONS)
async def test_agent_login_and_agent_keys(world, region):
    """An authorised agent's login (the format's default methods); the agent key is stable
    for one agent of one company and differs for another company or another agent."""
    gw, sims = world
    fmt = FORMATS[region]
    agent_org = org_with_role(fmt, "authorised_agent")
    rep_org = org_with_role(fmt, "legal_representative")

    async def keys(org: dict[str, str]) -> tuple[str, str, str]:
        data = await sims.issue_org(region, org)
        resp = await recognize(gw, region, data, matter_code=MATTER_BOTH)
        assert resp.subject_kind == "legal_person"
        return resp.person_key, resp.agent_key, resp.role

    first = await keys(agent_org)
    assert first[2] == AgentRole.AUTHORISED_AGENT.value
    assert await keys(agent_org) == first  # same agent, same company
    other = await keys(rep_org)
    assert other[0] != first[0] and other[1] != first[1]

    # the same company through another of its people: same organisation key, other agent key
    same_company = {**agent_org, "agent_person_id": rep_org["agent_person_id"]}
    claims = fmt.claims_for_organisation(
        same_company, audience="yrd-gateway", now=datetime.now(UTC), assertion_id="a-legal-1"
    )
    resp = await recognize(gw, region, fmt.issue(claims, gw.env.idp_keys[region]))
    assert resp.organisation_key == first[0]
    assert resp.agent_key != first[1]


@pytest.mark.parametrize("region", LEGAL_REGIONS)
async def test_wrong_subject_kind_is_refused(world, region):
    gw, sims = world
    fmt = FORMATS[region]
    org = org_with_role(fmt, "legal_representative")
    person = await sims.issue(region, person_id=org["agent_person_id"],
                              methods=[high_person_method(fmt)])  # fmt: skip
    details = await refused(
        gw,
        region,
        person,
        grpc.StatusCode.PERMISSION_DENIED,
        "wrong_subject_kind",
        matter_code=MATTER_LEGAL,
    )
    assert f"matter {MATTER_LEGAL} is for legal_person, got natural_person" in details
    assert (await recognize(gw, region, person, matter_code=MATTER_NATURAL)).person_key

    company = await sims.issue_org(region, org, methods=[strong_org_method(fmt)])  # fmt: skip
    details = await refused(
        gw,
        region,
        company,
        grpc.StatusCode.PERMISSION_DENIED,
        "wrong_subject_kind",
        matter_code=MATTER_NATURAL,
    )
    assert "is for natural_person, got legal_person" in details
    assert (await recognize(gw, region, company, matter_code=MATTER_BOTH)).agent_key


@pytest.mark.parametrize("region", LEGAL_REGIONS)
async def test_bad_credit_code_is_refused(world, region):
    gw, sims = world
    org = bad_organisation(FORMATS[region])
    data = await sims.issue_org(region, org)
    details = await refused(gw, region, data, grpc.StatusCode.INVALID_ARGUMENT, "malformed")
    assert "uscc check character mismatch" in details
    assert org["uscc"] not in details


@pytest.mark.parametrize("region", LEGAL_REGIONS)
async def test_tampered_legal_person_assertion_is_refused(world, region):
    gw, sims = world
    fmt = FORMATS[region]
    org = org_with_role(fmt, "legal_representative")
    data = await sims.issue_org(region, org, methods=[strong_org_method(fmt)])  # fmt: skip
    assert (await recognize(gw, region, data)).agent_key  # the untouched one passes
    forged = tamper_text(data, org["name"], "冒名" + org["name"][2:])
    details = await refused(gw, region, forged, grpc.StatusCode.UNAUTHENTICATED, "bad_signature")
    assert "signature" in details
    # a role raised from agent to legal representative is caught as well
    agent_org = org_with_role(fmt, "authorised_agent")
    data = await sims.issue_org(region, agent_org)
    rep_code = next(c for c, r in fmt.roles.items() if r == "legal_representative")
    forged = tamper_text(data, f'"{agent_org["role"]}"', f'"{rep_code}"')
    await refused(gw, region, forged, grpc.StatusCode.UNAUTHENTICATED, "bad_signature")


async def test_simulator_refuses_an_unknown_organisation(world):
    import aiohttp

    _, sims = world
    region = LEGAL_REGIONS[0]
    async with aiohttp.ClientSession() as session:
        url = f"{sims.urls[region]}/identity/assert"
        body = {"organisation_id": "no-such-org", "audience": "yrd-gateway"}
        async with session.post(url, json=body) as resp:
            assert resp.status == 404
            assert "no such sample person or organisation" in (await resp.json())["error"]
