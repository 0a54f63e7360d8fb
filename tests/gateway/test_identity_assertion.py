"""Gateway-signed canonical assertions: round trip and every refusal reason."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.identity import (
    AssertionRejected,
    AssuranceLevel,
    AuthMethod,
    LegalPerson,
    NaturalPerson,
    Province,
    RecognisedIdentity,
    derive_person_key,
    issue_canonical_assertion,
    verify_canonical_assertion,
)
from gateway.ops.privacy import contains_raw_id_number
from ledger.crypto import PrivateKey

RAW_ID = "310101199003071231"  # fixed below to a valid number
NOW = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
AUD = "zj-housing-fund"
SECRET = b"k" * 32


@pytest.fixture(scope="module")
def gateway_key():
    return PrivateKey.generate()


@pytest.fixture(scope="module")
def trusted(gateway_key):
    return {gateway_key.public_key.key_id: gateway_key.public_key}


def _valid_id() -> str:
    from gateway.identity import compute_id_check_digit

    return RAW_ID[:17] + compute_id_check_digit(RAW_ID[:17])


@pytest.fixture(scope="module")
def ident():
    number = _valid_id()
    subject = NaturalPerson("张三丰", "resident_id_card", number, date(1990, 3, 7))
    return RecognisedIdentity(
        subject=subject,
        level=AssuranceLevel.SUBSTANTIAL,
        methods={AuthMethod.PASSWORD, AuthMethod.SMS_OTP},
        authenticated_at=NOW - timedelta(minutes=1),
        issuing_province=Province.SH,
        person_key=derive_person_key(subject, SECRET),
    )


@pytest.fixture(scope="module")
def token(ident, gateway_key):
    return issue_canonical_assertion(
        ident, AUD, gateway_key, NOW, timedelta(minutes=5), jti="fixed-jti"
    )


def _parts(token):
    return token.split(".")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _reason(token, trusted, **kw):
    args = {"audience": AUD, "now": NOW}
    args.update(kw)
    with pytest.raises(AssertionRejected) as info:
        verify_canonical_assertion(token, trusted, **args)
    return info.value.reason, str(info.value)


def _resign(gateway_key, header: dict, payload: dict) -> str:
    def enc(obj):
        return _b64(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())

    signing_input = f"{enc(header)}.{enc(payload)}"
    return f"{signing_input}.{_b64(gateway_key.sign(signing_input.encode()))}"


def test_round_trip(token, trusted, ident, gateway_key):
    claims = verify_canonical_assertion(token, trusted, AUD, NOW)
    assert claims == {
        "iss": "yrd-gateway",
        "aud": AUD,
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 300,
        "jti": "fixed-jti",
        "person_key": ident.person_key,
        "subject_kind": "natural_person",
        "masked_name": "张*丰",
        "document_type": "resident_id_card",
        "masked_document_number": "3101**********" + _valid_id()[-4:],
        "level": "substantial",
        "methods": ["password", "sms_otp"],
        "auth_time": int((NOW - timedelta(minutes=1)).timestamp()),
        "issuing_province": "SH",
    }
    header = json.loads(_unb64(_parts(token)[0]))
    assert header == {"alg": "SM2-SM3", "kid": gateway_key.public_key.key_id, "typ": "yrd-id+jwt"}


def test_never_carries_the_raw_id_number(token, ident):
    raw = ident.subject.document_number
    assert raw not in token
    decoded = b"".join(_unb64(p) for p in _parts(token))
    assert contains_raw_id_number(decoded) == []
    assert contains_raw_id_number(token) == []
    assert "张三丰" not in decoded.decode("utf-8", "replace")


def test_legal_person_assertion(gateway_key, trusted):
    org = LegalPerson("某某科技有限公司", "91350100M000100Y43", "李四")
    ident = RecognisedIdentity(org, "high", ["usb_key"], NOW, "JS", derive_person_key(org, SECRET))
    claims = verify_canonical_assertion(
        issue_canonical_assertion(ident, AUD, gateway_key, NOW), trusted, AUD, NOW
    )
    assert claims["masked_document_number"] == "91************0Y43"
    assert claims["document_type"] == "unified_social_credit_code"
    assert claims["subject_kind"] == "legal_person"


def test_jti_is_random_by_default(ident, gateway_key, trusted):
    a = issue_canonical_assertion(ident, AUD, gateway_key, NOW)
    b = issue_canonical_assertion(ident, AUD, gateway_key, NOW)
    ja = verify_canonical_assertion(a, trusted, AUD, NOW)["jti"]
    jb = verify_canonical_assertion(b, trusted, AUD, NOW)["jti"]
    assert ja != jb and len(ja) >= 16


def test_time_window(token, trusted):
    iat = NOW
    exp = NOW + timedelta(minutes=5)
    verify_canonical_assertion(token, trusted, AUD, exp - timedelta(seconds=1))
    assert _reason(token, trusted, now=exp)[0] == "expired"
    assert _reason(token, trusted, now=exp + timedelta(days=1))[0] == "expired"
    assert _reason(token, trusted, now=iat - timedelta(seconds=1))[0] == "not_yet_valid"
    verify_canonical_assertion(token, trusted, AUD, exp, leeway=timedelta(seconds=30))
    verify_canonical_assertion(
        token, trusted, AUD, iat - timedelta(seconds=10), leeway=timedelta(seconds=30)
    )


def test_wrong_audience(token, trusted):
    reason, message = _reason(token, trusted, audience="ah-pension")
    assert reason == "wrong_audience"
    assert message == f"assertion audience: expected 'ah-pension', got '{AUD}'"


def test_unknown_kid(token):
    other = PrivateKey.generate().public_key
    reason, message = _reason(token, {other.key_id: other})
    assert reason == "unknown_issuer"
    assert message.startswith("assertion signing key: expected a trusted kid, got ")
    assert reason == _reason(token, {})[0]


def test_issuer_pinning(token, trusted):
    verify_canonical_assertion(token, trusted, AUD, NOW, issuer="yrd-gateway")
    assert _reason(token, trusted, issuer="other-gateway")[0] == "unknown_issuer"


def test_required_level(token, trusted):
    verify_canonical_assertion(token, trusted, AUD, NOW, required_level="substantial")
    reason, message = _reason(token, trusted, required_level=AssuranceLevel.HIGH)
    assert reason == "level_too_low"
    assert message == "assurance level too low: expected at least high, got substantial"


def test_tampered_payload(token, trusted):
    header, payload, sig = _parts(token)
    claims = json.loads(_unb64(payload))
    claims["level"] = "high"
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{sig}"
    assert _reason(forged, trusted)[0] == "bad_signature"


def test_tampered_signature(token, trusted):
    header, payload, sig = _parts(token)
    raw = bytearray(_unb64(sig))
    raw[-1] ^= 0x01
    assert _reason(f"{header}.{payload}.{_b64(bytes(raw))}", trusted)[0] == "bad_signature"
    assert _reason(f"{header}.{payload}.{_b64(b'0' * 70)}", trusted)[0] == "bad_signature"


def test_signed_by_another_key_under_our_kid(token, trusted, ident, gateway_key):
    impostor = PrivateKey.generate()
    header, payload, _ = _parts(token)
    sig = impostor.sign(f"{header}.{payload}".encode())
    assert _reason(f"{header}.{payload}.{_b64(sig)}", trusted)[0] == "bad_signature"


def test_every_single_character_change_is_refused(token, trusted):
    """Flip each character of the header and payload; none may verify."""
    header, payload, sig = _parts(token)
    signed = f"{header}.{payload}"
    for i in range(0, len(signed), 7):
        if signed[i] == ".":
            continue
        swapped = "A" if signed[i] != "A" else "B"
        bad = signed[:i] + swapped + signed[i + 1 :] + "." + sig
        with pytest.raises(AssertionRejected):
            verify_canonical_assertion(bad, trusted, AUD, NOW)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda t: t + ".x", "parts: expected 3, got 4"),
        (lambda t: t.replace(".", "", 1), "parts: expected 3, got 2"),
        (lambda t: "!" + t, "expected base64url"),
        (lambda t: t.split(".")[0] + "=." + ".".join(t.split(".")[1:]), "expected base64url"),
        (lambda t: "A" * 9000, "size: expected at most 8192"),
    ],
)
def test_malformed_shapes(token, trusted, mutate, match):
    reason, message = _reason(mutate(token), trusted)
    assert reason == "malformed"
    assert match in message


def test_non_string_token(trusted):
    assert _reason(b"a.b.c", trusted)[0] == "malformed"


@pytest.mark.parametrize(
    ("header_change", "payload_change", "match"),
    [
        (lambda h: h.update(alg="none"), None, "header alg: expected SM2-SM3, got 'none'"),
        (lambda h: h.update(typ="JWT"), None, "header typ"),
        (lambda h: h.update(x5u="http://evil"), None, "header fields"),
        (None, lambda p: p.pop("exp"), "missing exp"),
        (None, lambda p: p.update(raw_id="x"), "unexpected raw_id"),
        (None, lambda p: p.update(iat=True), "claim iat: expected int, got bool"),
        (None, lambda p: p.update(exp=1.5), "claim exp: expected int, got float"),
        (None, lambda p: p.update(level="ultra"), "claim level"),
        (None, lambda p: p.update(methods=[["password"]]), "claim methods"),
        (None, lambda p: p.update(methods=[]), "claim methods"),
        (None, lambda p: p.update(person_key="11010519491231002X"), "claim person_key"),
        (None, lambda p: p.update(exp=p["iat"]), "lifetime"),
    ],
)
def test_malformed_but_signed(token, trusted, gateway_key, header_change, payload_change, match):
    header = json.loads(_unb64(_parts(token)[0]))
    payload = json.loads(_unb64(_parts(token)[1]))
    if header_change:
        header_change(header)
    if payload_change:
        payload_change(payload)
    reason, message = _reason(_resign(gateway_key, header, payload), trusted)
    assert reason == "malformed"
    assert match in message


def test_duplicate_keys_and_nan_are_malformed(token, trusted, gateway_key):
    header_b64, payload_b64, _ = _parts(token)
    payload = _unb64(payload_b64).decode()
    for raw in (payload[:-1] + ',"aud":"ah-pension"}', payload.replace('"iat":', '"iat":NaN,"x":')):
        signing_input = f"{header_b64}.{_b64(raw.encode())}"
        forged = f"{signing_input}.{_b64(gateway_key.sign(signing_input.encode()))}"
        assert _reason(forged, trusted)[0] == "malformed"


def test_issue_refuses_bad_arguments(ident, gateway_key):
    with pytest.raises(ValueError, match="ttl"):
        issue_canonical_assertion(ident, AUD, gateway_key, NOW, timedelta(0))
    with pytest.raises(ValueError, match="ttl"):
        issue_canonical_assertion(ident, AUD, gateway_key, NOW, timedelta(days=2))
    with pytest.raises(ValueError, match="timezone-aware"):
        issue_canonical_assertion(ident, AUD, gateway_key, datetime(2025, 5, 1))
    with pytest.raises(ValueError, match="audience"):
        issue_canonical_assertion(ident, "", gateway_key, NOW)


def test_rejection_chains_the_signature_error(token, trusted):
    from ledger.errors import SignatureError

    header, payload, _ = _parts(token)
    with pytest.raises(AssertionRejected) as info:
        verify_canonical_assertion(f"{header}.{payload}.{_b64(b'x')}", trusted, AUD, NOW)
    assert isinstance(info.value.__cause__, SignatureError)
