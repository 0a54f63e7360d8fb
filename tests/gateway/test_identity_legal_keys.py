"""Organisation-agent keys, legal-person identities and canonical assertions, and the
matters' declared subject kinds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.identity import (
    AgentRole,
    AssertionRejected,
    IdentityError,
    LegalPerson,
    NaturalPerson,
    PersonKeyDeriver,
    RecognisedIdentity,
    issue_canonical_assertion,
    verify_canonical_assertion,
)
from gateway.identity.model import AGENT_KEY_RE
from gateway.identity.pseudonym import derive_agent_key, derive_person_key
from gateway.matters import MatterError, default_catalogue
from gateway.matters.model import subject_kinds_of
from ledger.crypto import PrivateKey

SECRET = b"s" * 32
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
ORG = LegalPerson("苏州示例精密机械有限公司", "91320505MA1X2Y3W4Q", "王小明")
OTHER_ORG = LegalPerson("昆山示例贸易有限公司", "91320583MA1P7Q8R9C", "刘示例")
REP = NaturalPerson("王小明", "resident_id_card", "320505199003070122", date(1990, 3, 7))
AGENT = NaturalPerson("陈静", "resident_id_card", "320583198511230123", date(1985, 11, 23))


def _agent_key(org=ORG, agent=REP, role=AgentRole.LEGAL_REPRESENTATIVE, secret=SECRET) -> str:
    return derive_agent_key(
        derive_person_key(org, secret), derive_person_key(agent, secret), role, secret
    )


# -- organisation-agent keys ---------------------------------------------------------------


def test_agent_key_is_stable_and_tells_agents_companies_and_roles_apart():
    key = _agent_key()
    assert AGENT_KEY_RE.fullmatch(key) and key == _agent_key()
    others = {
        _agent_key(agent=AGENT),
        _agent_key(org=OTHER_ORG),
        _agent_key(role=AgentRole.AUTHORISED_AGENT),
        _agent_key(secret=b"t" * 32),
    }
    assert key not in others and len(others) == 4
    assert ORG.uscc not in key and REP.document_number not in key


def test_deriver_agent_key_follows_its_scope():
    deriver = PersonKeyDeriver(SECRET, per_relying_party=True)

    def key(rp: str) -> str:
        org, agent = deriver.derive(ORG, rp), deriver.derive(REP, rp)
        return deriver.agent_key(org, agent, AgentRole.LEGAL_REPRESENTATIVE)

    assert key("SH/rp") == key("SH/rp") != key("JS/rp")
    assert (
        PersonKeyDeriver(SECRET).agent_key(
            derive_person_key(ORG, SECRET),
            derive_person_key(REP, SECRET),
            AgentRole.LEGAL_REPRESENTATIVE,
        )
        == _agent_key()
    )


def test_agent_key_refuses_what_is_not_a_person_key_or_a_role():
    org, agent = derive_person_key(ORG, SECRET), derive_person_key(REP, SECRET)
    with pytest.raises(IdentityError, match="expected two person keys"):
        derive_agent_key(ORG.uscc, agent, "legal_representative", SECRET)
    with pytest.raises(IdentityError, match="agent key role"):
        derive_agent_key(org, agent, "boss", SECRET)
    with pytest.raises(IdentityError, match="secret length"):
        derive_agent_key(org, agent, "legal_representative", b"short")


# -- legal-person identities ---------------------------------------------------------------


def _identity(**kw) -> RecognisedIdentity:
    fields = {
        "subject": ORG,
        "level": "high",
        "methods": ["e_business_licence"],
        "authenticated_at": NOW,
        "issuing_province": "JS",
        "person_key": derive_person_key(ORG, SECRET),
        "agent": REP,
        "role": "legal_representative",
        "agent_key": _agent_key(),
    }
    return RecognisedIdentity(**{**fields, **kw})


def test_identity_with_agent_round_trips_and_masks():
    identity = _identity()
    assert identity.role is AgentRole.LEGAL_REPRESENTATIVE
    assert RecognisedIdentity.from_dict(identity.to_dict()) == identity
    assert REP.document_number not in repr(identity) and ORG.uscc not in repr(identity)
    plain = _identity(agent=None, role=None, agent_key="")
    assert "agent" not in plain.to_dict()
    assert RecognisedIdentity.from_dict(plain.to_dict()) == plain


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"agent": None}, "together"),
        ({"agent_key": ""}, "together"),
        ({"subject": REP}, "legal person only"),
        ({"agent_key": "pk-" + "a" * 32}, "expected ak-"),
        ({"role": "boss"}, "identity role"),
    ],
)
def test_identity_refuses_a_partial_or_misplaced_agent(change, message):
    with pytest.raises(IdentityError, match=message):
        _identity(**change)


# -- canonical assertions ------------------------------------------------------------------


def test_canonical_assertion_of_a_legal_person_with_its_agent():
    key = PrivateKey.generate()
    trusted = {key.public_key.key_id: key.public_key}
    token = issue_canonical_assertion(_identity(), "SH/rp", key, NOW, timedelta(minutes=5))
    claims = verify_canonical_assertion(token, trusted, "SH/rp", NOW)
    assert claims["subject_kind"] == "legal_person"
    assert claims["agent_key"] == _agent_key() and claims["role"] == "legal_representative"
    assert claims["masked_agent_name"] == "王*明"
    assert claims["document_type"] == "unified_social_credit_code"
    assert ORG.uscc not in token and claims["masked_document_number"] != ORG.uscc
    # without an agent (a legal person from elsewhere) the three claims are absent
    bare = issue_canonical_assertion(
        _identity(agent=None, role=None, agent_key=""), "SH/rp", key, NOW
    )
    assert "agent_key" not in verify_canonical_assertion(bare, trusted, "SH/rp", NOW)


def test_canonical_assertion_refuses_partial_agent_claims():
    import base64
    import json

    key = PrivateKey.generate()
    token = issue_canonical_assertion(_identity(), "SH/rp", key, NOW)
    header, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    del claims["role"]
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    signing_input = f"{header}.{body}"
    signature = base64.urlsafe_b64encode(key.sign(signing_input.encode())).rstrip(b"=")
    forged = f"{signing_input}.{signature.decode()}"
    with pytest.raises(AssertionRejected) as info:
        verify_canonical_assertion(forged, {key.public_key.key_id: key.public_key}, "SH/rp", NOW)
    assert info.value.reason == "malformed" and "missing role" in str(info.value)


# -- matters declare who may apply ---------------------------------------------------------


def test_catalogue_declares_subject_kinds():
    catalogue = default_catalogue()
    assert catalogue.subject_kinds("010010300200") == ("legal_person",)  # 企业变更登记
    assert catalogue.subject_kinds("010010300100") == ("natural_person", "legal_person")
    assert catalogue.subject_kinds("200060100100") == ("natural_person",)  # 异地就医备案
    kinds = {code: catalogue.subject_kinds(code) for code in (m.basic_code for m in catalogue)}
    assert all(kinds.values())


@pytest.mark.parametrize(
    ("value", "message"),
    [([], "non-empty"), (["company"], "expected one of"), (["legal_person"] * 2, "duplicate")],
)
def test_subject_kinds_refuses_bad_declarations(value, message):
    with pytest.raises(MatterError, match=message):
        subject_kinds_of(value)
    assert subject_kinds_of(None) == ("natural_person",)
