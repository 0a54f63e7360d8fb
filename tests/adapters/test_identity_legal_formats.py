"""Legal-person assertions in every identity format with sample organisations: issue and
decode round-trip the legal-person claims (hypothesis), and the shared verify maps them to
``LegalPerson`` + agent + role or refuses with the check named."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.identity import AgentRole, AssertionRejected, LegalPerson, NaturalPerson
from gateway.identity.province import AssertionFormat, Claims
from gateway.uscc import ALPHABET, check_character
from ledger.crypto import PrivateKey
from tests.gateway.legal_helpers import (
    LEGAL_REGIONS,
    bad_organisation,
    legal_formats,
    licence_method,
    org_with_role,
    strong_org_method,
)

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
KEY = PrivateKey.generate()
KEYS = [(KEY.public_key.key_id, KEY.public_key)]
FORMATS = legal_formats()


@pytest.fixture(params=LEGAL_REGIONS)
def fmt(request) -> AssertionFormat:
    return FORMATS[request.param]


def claims_of(fmt: AssertionFormat, org: dict[str, str], **kw) -> Claims:
    kw.setdefault("audience", "yrd-gateway")
    return fmt.claims_for_organisation(org, now=NOW, assertion_id="_legal1", **kw)


def verify(fmt: AssertionFormat, claims: Claims):
    data = fmt.issue(claims, KEY)
    return fmt.verify(data, KEYS, audience="yrd-gateway", now=NOW + timedelta(seconds=5))


def rejected(fmt: AssertionFormat, claims: Claims, reason: str) -> str:
    with pytest.raises(AssertionRejected) as info:
        verify(fmt, claims)
    assert info.value.reason == reason, str(info.value)
    return str(info.value)


# -- mapping data --------------------------------------------------------------------------


def test_mapping_data_is_complete(fmt):
    assert set(fmt.roles.values()) == set(AgentRole)
    licence = licence_method(fmt)
    if fmt.province.value in ("JS", "ZJ", "AH"):  # the three of issue 15's legal-person part
        assert licence is not None
        assert bad_organisation(fmt)["organisation_id"] in fmt.sample_organisations
    assert licence is None or fmt.loa[licence] == "high"
    for org in fmt.sample_organisations.values():
        assert org["agent_person_id"] in fmt.sample_people
        assert org["role"] in fmt.roles
        assert "示例" in org["name"]  # fictitious, and says so
    roles = {fmt.roles[o["role"]] for o in fmt.sample_organisations.values()}
    assert roles == set(AgentRole) or fmt.province.value not in ("JS", "ZJ", "AH")


# -- the mapping, per format ---------------------------------------------------------------


def test_legal_representative_with_e_business_licence(fmt):
    org = org_with_role(fmt, "legal_representative")
    got = verify(fmt, claims_of(fmt, org, methods=[strong_org_method(fmt)]))
    assert got.subject == LegalPerson(org["name"], org["uscc"], org["legal_representative"])
    assert isinstance(got.agent, NaturalPerson)
    assert got.agent.name == org["legal_representative"]
    assert got.role is AgentRole.LEGAL_REPRESENTATIVE
    assert got.methods == fmt.methods[strong_org_method(fmt)]


def test_authorised_agent_login(fmt):
    org = org_with_role(fmt, "authorised_agent")
    got = verify(fmt, claims_of(fmt, org))
    person = fmt.sample_people[org["agent_person_id"]]
    assert got.agent is not None and got.agent.document_number == person["document_number"]
    assert got.role is AgentRole.AUTHORISED_AGENT
    assert got.subject.kind == "legal_person"


def test_natural_person_assertion_has_no_agent(fmt):
    person = next(iter(fmt.sample_people.values()))
    claims = fmt.claims_for(person, audience="yrd-gateway", now=NOW, assertion_id="_n1")
    got = verify(fmt, claims)
    assert isinstance(got.subject, NaturalPerson)
    assert (got.agent, got.role) == (None, None)


# -- refusals ------------------------------------------------------------------------------


def test_bad_check_character_is_refused_without_echoing_the_code(fmt):
    org = bad_organisation(fmt)
    message = rejected(fmt, claims_of(fmt, org), "malformed")
    assert "organisation uscc check character mismatch" in message
    assert org["uscc"] not in message


def test_other_credit_code_problems_are_named(fmt):
    org = org_with_role(fmt, "authorised_agent")
    lower = rejected(fmt, replace(claims_of(fmt, org), uscc=org["uscc"].lower()), "malformed")
    assert "organisation uscc" in lower
    short = rejected(fmt, replace(claims_of(fmt, org), uscc=org["uscc"][:17]), "malformed")
    assert "organisation uscc length: expected 18, got 17" in short


def test_unknown_role_is_refused(fmt):
    org = org_with_role(fmt, "authorised_agent")
    message = rejected(fmt, replace(claims_of(fmt, org), role_code="BOSS"), "malformed")
    assert "role: unknown code 'BOSS'" in message


def test_legal_representative_role_needs_the_legal_representative(fmt):
    org = org_with_role(fmt, "authorised_agent")  # its agent is not its legal representative
    rep_code = next(c for c, r in fmt.roles.items() if r == "legal_representative")
    message = rejected(fmt, replace(claims_of(fmt, org), role_code=rep_code), "malformed")
    assert "is not the organisation's legal representative" in message


def test_empty_organisation_name_is_refused(fmt):
    org = org_with_role(fmt, "authorised_agent")
    claims = replace(claims_of(fmt, org), organisation_name=" ")
    message = rejected(fmt, claims, "malformed")  # by the shared check, or the format's own
    assert "organisation" in message or "OrgName" in message


def test_invalid_agent_id_number_is_still_refused_as_such(fmt):
    claims = claims_of(fmt, org_with_role(fmt, "authorised_agent"))
    wrong = claims.document_number[:-1] + ("0" if claims.document_number[-1] != "0" else "1")
    message = rejected(fmt, replace(claims, document_number=wrong), "invalid_id_number")
    assert "check digit" in message


# -- issue / decode round trip -------------------------------------------------------------

_CHARS = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
_names = st.text(_CHARS, min_size=2, max_size=30)
_body = st.text(ALPHABET, min_size=8, max_size=8)
_types = st.sampled_from(["91", "92", "93", "11", "12", "51", "52", "Y1"])
_divisions = st.integers(110000, 659999).map(str)


@st.composite
def credit_codes(draw) -> str:
    first17 = draw(_types) + draw(_divisions) + "MA" + draw(_body)[:7]
    return first17 + check_character(first17)


@pytest.mark.parametrize("region", LEGAL_REGIONS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=_names,
    uscc=credit_codes(),
    representative=st.text(_CHARS, min_size=2, max_size=4),
    data=st.data(),
)
def test_legal_person_claims_round_trip(region, name, uscc, representative, data):
    fmt = FORMATS[region]
    role = data.draw(st.sampled_from(sorted(fmt.roles)))
    person_id = data.draw(st.sampled_from(sorted(fmt.sample_people)))
    org = {"name": name, "uscc": uscc, "legal_representative": representative,
           "agent_person_id": person_id, "role": role}  # fmt: skip
    claims = claims_of(fmt, org)
    decoded = fmt.decode(fmt.split(fmt.issue(claims, KEY)))
    for field in ("subject_kind", "organisation_name", "uscc", "legal_representative",
                  "role_code", "name", "document_code", "document_number", "date_of_birth",
                  "methods", "assertion_id", "audience"):  # fmt: skip
        assert getattr(decoded, field) == getattr(claims, field), field
