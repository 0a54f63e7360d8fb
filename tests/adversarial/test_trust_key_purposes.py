"""Finding 6c: one SM2 key (the log key) signed checkpoints, relayed evidence envelopes and
identity assertions. Now each purpose has its own key, listed with its purpose in the trust
registry, and a verifier accepts a key only for its purpose."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.app.devenv import ensure_dev_environment
from gateway.errors import Refusal
from gateway.exchange.envelopes import signed_envelope
from gateway.exchange.evidence import verify_relayed_envelope
from gateway.identity import (
    AssertionRejected,
    AssuranceLevel,
    AuthMethod,
    NaturalPerson,
    Province,
    RecognisedIdentity,
    compute_id_check_digit,
    derive_person_key,
    issue_canonical_assertion,
    verify_canonical_assertion,
)
from gateway.registry import (
    KeyPurpose,
    RegistryFormatError,
    RegistryLookupError,
    load_registry,
    parse_document,
)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return ensure_dev_environment(tmp_path_factory.mktemp("purposes"))


@pytest.fixture(scope="module")
def registry(env):
    return load_registry(env.registry_path.read_bytes(), [env.governance.public_key])


def test_each_purpose_has_its_own_key_listed_with_its_purpose(env, registry):
    keys = {
        KeyPurpose.CHECKPOINT: env.log_key,
        KeyPurpose.ATTESTATION: env.attestation_key,
        KeyPurpose.IDENTITY: env.identity_key,
    }
    assert len({k.public_key.key_id for k in keys.values()}) == 3
    for purpose, key in keys.items():
        assert registry.gateway_key(key.public_key.key_id, purpose) == key.public_key
        assert set(registry.gateway_keys(purpose)) == {key.public_key.key_id}
        for other in set(KeyPurpose) - {purpose}:
            with pytest.raises(RegistryLookupError, match=f"is for {purpose}, not for {other}"):
                registry.gateway_key(key.public_key.key_id, other)


def test_registry_refuses_one_key_for_two_purposes_and_unknown_purposes(env, registry):
    document = copy.deepcopy(dict(registry.raw_document))
    log_entry = document["log"]["keys"][0]

    reused = copy.deepcopy(document)
    reused["gateway_keys"][0] = {"purpose": "attestation", **log_entry}
    with pytest.raises(RegistryFormatError, match=r"gateway_keys\[0\]\.key_id.*also belongs"):
        parse_document(reused)

    for purpose in ("checkpoint", "signing", ""):
        bad = copy.deepcopy(document)
        bad["gateway_keys"][0]["purpose"] = purpose
        with pytest.raises(RegistryFormatError, match=r"gateway_keys\[0\]\.purpose"):
            parse_document(bad)

    # a registry without gateway_keys (written before purposes) still parses; the gateway
    # then refuses to start, since its attestation and identity keys are not listed
    old = copy.deepcopy(document)
    del old["gateway_keys"]
    assert parse_document(old).gateway_keys == ()


def _relayed(env, key):
    return signed_envelope(
        key=key,
        sender=env.member_id("JS"),
        recipient=env.member_id("AH"),
        kind="evidence.response",
        matter="340000000002",
        payload=b'{"request_id": "r-1"}',
        dialect="yrd-canonical/1",
        content_type="application/json",
    )


def test_relayed_envelope_signed_with_the_checkpoint_key_is_refused(env, registry):
    genuine = _relayed(env, env.attestation_key)
    assert verify_relayed_envelope(registry, genuine).kind == "evidence.response"

    for wrong in (env.log_key, env.identity_key):
        forged = _relayed(env, wrong)
        with pytest.raises(Refusal) as info:
            verify_relayed_envelope(registry, forged)
        assert info.value.reason == "key_invalid"
        assert "not for attestation" in info.value.message

    # the attestation key id on bytes signed by another key: the signature check refuses
    swapped = _relayed(env, env.log_key)
    swapped.key_id = env.attestation_key.public_key.key_id
    with pytest.raises(Refusal) as info:
        verify_relayed_envelope(registry, swapped)
    assert info.value.reason == "signature_invalid"


def test_identity_assertion_signed_with_the_checkpoint_key_is_refused(env, registry):
    now = datetime.now(UTC).replace(microsecond=0)
    number = "11010119900307451"
    subject = NaturalPerson(
        "测试", "resident_id_card", number + compute_id_check_digit(number), date(1990, 3, 7)
    )
    identity = RecognisedIdentity(
        subject=subject,
        level=AssuranceLevel.SUBSTANTIAL,
        methods={AuthMethod.PASSWORD, AuthMethod.SMS_OTP},
        authenticated_at=now - timedelta(minutes=1),
        issuing_province=Province.SH,
        person_key=derive_person_key(subject, b"k" * 32),
    )
    trusted = registry.gateway_keys(KeyPurpose.IDENTITY, now)
    good = issue_canonical_assertion(identity, "aud", env.identity_key, now)
    assert verify_canonical_assertion(good, trusted, "aud", now)["level"] == "substantial"
    for wrong in (env.log_key, env.attestation_key):
        token = issue_canonical_assertion(identity, "aud", wrong, now)
        with pytest.raises(AssertionRejected) as info:
            verify_canonical_assertion(token, trusted, "aud", now)
        assert info.value.reason == "unknown_issuer"
