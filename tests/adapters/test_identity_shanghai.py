"""Shanghai's identity format (``sh-oidc/1``): an OIDC-style ID token, JWS compact, SM2 r||s.

The shared contract (``AssertionFormat.verify``) as for the three provinces, the refusal
table of the issue (tampered, expired, not yet valid, wrong audience, wrong issuer, wrong
algorithm, wrong kid, oversized, bad JSON, duplicate keys, bad ID check digit), a Hypothesis
round trip of natural- and legal-person claims through issue/split/decode, the sample data,
and the wiring (catalogue, entry point, dev registry levels).
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.shanghai._signature import der_to_raw, raw_to_der
from adapters.shanghai.identity import ACR_LEGAL_PERSON, ACR_NATURAL_PERSON, create_format
from gateway.identity import (
    AssertionRejected,
    AuthMethod,
)
from gateway.identity.province import Claims
from gateway.registry import Region
from ledger.crypto import N, PrivateKey

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
KEY = PrivateKey.generate()
KEYS = [(KEY.public_key.key_id, KEY.public_key)]
OTHER = PrivateKey.generate()
FMT = create_format()


def b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def unb64(part: bytes) -> bytes:
    return base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))


def claims(person: str = "sh-0001", **kw) -> Claims:
    kw.setdefault("audience", "yrd-gateway")
    kw.setdefault("now", NOW)
    return FMT.claims_for(FMT.sample_people[person], assertion_id="jti-0001", **kw)


def make(person: str = "sh-0001", key: PrivateKey = KEY, **kw) -> bytes:
    return FMT.issue(claims(person, **kw), key)


def parts(data: bytes) -> tuple[dict, dict, bytes]:
    header, body, signature = data.split(b".")
    return json.loads(unb64(header)), json.loads(unb64(body)), unb64(signature)


def forge(header: dict | bytes, body: dict | bytes, key: PrivateKey = KEY) -> bytes:
    """A token of these (raw or JSON) parts, correctly signed by ``key`` in r||s form."""
    h = b64(header if isinstance(header, bytes) else json.dumps(header).encode())
    b = b64(body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode())
    return h + b"." + b + b"." + b64(der_to_raw(key.sign(h + b"." + b)))


def verify(data: bytes, **kw):
    kw.setdefault("audience", "yrd-gateway")
    kw.setdefault("now", NOW + timedelta(seconds=10))
    return FMT.verify(data, kw.pop("keys", KEYS), **kw)


def rejected(data: bytes, reason: str, **kw) -> str:
    with pytest.raises(AssertionRejected) as info:
        verify(data, **kw)
    assert info.value.reason == reason, str(info.value)
    return str(info.value)


def legal_claims(org_id: str = "sh-org-01", **kw) -> Claims:
    org = next(o for o in _organisations() if o["organisation_id"] == org_id)
    base = claims(org["agent_person_id"], methods=["dzyyzz"], **kw)
    return replace(
        base,
        subject_kind="legal_person",
        organisation_name=org["name"],
        uscc=org["uscc"],
        legal_representative=org["legal_representative"],
        role_code=org["role"],
    )


def _mapping() -> dict:
    return json.loads((ROOT / "adapters/shanghai/identity.json").read_text("utf-8"))


def _organisations() -> list[dict]:
    return _mapping()["sample_organisations"]


# -- the token -----------------------------------------------------------------------------


def test_natural_person_round_trip():
    got = verify(make())
    assert (got.province, got.format) == (Region.SH, "sh-oidc/1")
    assert got.subject.name == "张申明"
    assert got.subject.document_number == "310117198805160127"
    assert got.subject.date_of_birth == date(1988, 5, 16)
    assert got.local_methods == ("face",) and got.methods == {AuthMethod.FACE_RECOGNITION}
    assert got.key_id == KEY.public_key.key_id
    assert got.not_after - got.not_before == timedelta(minutes=5)


def test_token_layout():
    data = make(methods=["pwd", "sms"])
    header, body, signature = parts(data)
    assert header == {"alg": "SM2SM3", "typ": "JWT", "kid": KEY.public_key.key_id}
    assert set(body) == {
        "iss", "aud", "sub", "jti", "iat", "nbf", "exp", "auth_time", "acr", "amr",
        "sh_zjlx", "sh_zjhm", "sh_xm", "sh_csrq",
    }  # fmt: skip
    assert body["iss"] == "https://id.sh.gov.example/dev"
    assert body["acr"] == ACR_NATURAL_PERSON and body["amr"] == ["pwd", "sms"]
    assert (body["sh_zjlx"], body["sh_csrq"]) == ("01", "1988-05-16")
    assert body["iat"] == body["nbf"] == int(NOW.timestamp()) and body["exp"] - body["nbf"] == 300
    # the signature is JOSE's fixed-size r || s over the first two parts, not DER
    assert len(signature) == 64
    KEY.public_key.verify(data.rsplit(b".", 1)[0], raw_to_der(signature))


def test_sub_is_pairwise_stable_and_not_the_document_number():
    first, again = parts(make())[1]["sub"], parts(make())[1]["sub"]
    other_rp = parts(make(audience="another-portal"))[1]["sub"]
    other_key = parts(make(key=PrivateKey.generate()))[1]["sub"]
    assert first == again
    assert len({first, other_rp, other_key}) == 3
    assert "310117" not in first


def test_signature_conversion_round_trips_and_is_strict():
    for _ in range(20):
        der = KEY.sign(b"x")
        assert raw_to_der(der_to_raw(der)) == der
    with pytest.raises(ValueError):
        raw_to_der(b"\x01" * 63)
    with pytest.raises(ValueError):
        der_to_raw(b"\x30\x06\x02\x01\x01\x02\x01\x01\x00")  # trailing byte


# -- the refusal table ---------------------------------------------------------------------


def _tampered() -> bytes:
    h, b, s = make().split(b".")
    body = json.loads(unb64(b))
    body["sh_xm"] = "张申亮"
    return h + b"." + b64(json.dumps(body, ensure_ascii=False).encode()) + b"." + s


def _with_header(**changes) -> bytes:
    header, body, _ = parts(make())
    header.update(changes)
    return forge({k: v for k, v in header.items() if v is not None}, body)


def _with_body(text: str) -> bytes:
    header, _, _ = parts(make())
    return forge(header, text.encode())


def _body_text() -> str:
    return json.dumps(parts(make())[1], ensure_ascii=False)


def _hs256() -> bytes:
    header = b64(b'{"alg":"HS256","typ":"JWT","kid":"k"}')
    return header + b"." + make().split(b".")[1] + b"." + b64(b"\x00" * 32)


REFUSALS = {
    # name: (token factory, reason, a phrase of the message, verify options)
    "tampered": (_tampered, "bad_signature", "signature: does not verify", {}),
    "expired": (make, "expired", "expired", {"now": NOW + timedelta(minutes=5)}),
    "not_yet_valid": (make, "not_yet_valid", "not yet valid", {"now": NOW - timedelta(seconds=1)}),
    "wrong_audience": (lambda: make(audience="other-rp"), "wrong_audience", "'other-rp'", {}),
    "expected_other_audience": (make, "wrong_audience", "'yrd-gateway'", {"audience": "x"}),
    "wrong_issuer": (
        lambda: FMT.issue(replace(claims(), issuer="https://evil.example"), KEY),
        "unknown_issuer",
        "https://evil.example",
        {},
    ),
    "alg_none": (
        lambda: b64(b'{"alg":"none","typ":"JWT","kid":"k"}') + b"." + make().split(b".")[1] + b".",
        "malformed",
        "header.alg: expected SM2SM3, got 'none'",
        {},
    ),
    "alg_es256": (
        lambda: _with_header(alg="ES256"),
        "malformed",
        "header.alg: expected SM2SM3, got 'ES256'",
        {},
    ),
    "alg_hs256": (_hs256, "malformed", "header.alg: expected SM2SM3, got 'HS256'", {}),
    "alg_missing": (lambda: _with_header(alg=None), "malformed", "header.alg: missing", {}),
    "alg_lower_case": (lambda: _with_header(alg="sm2sm3"), "malformed", "got 'sm2sm3'", {}),
    "embedded_jwk": (lambda: _with_header(jwk={"kty": "EC"}), "malformed", "unexpected jwk", {}),
    "typ": (lambda: _with_header(typ="at+jwt"), "malformed", "header.typ: expected JWT", {}),
    "wrong_kid": (
        lambda: make(key=PrivateKey.generate()),
        "unknown_issuer",
        "signing key: expected a valid SH identity-provider key",
        {},
    ),
    "right_kid_other_key": (
        lambda: make(key=OTHER),
        "bad_signature",
        "signature: does not verify with the SH identity-provider key",
        {"keys": [(OTHER.public_key.key_id, KEY.public_key)]},
    ),
    "oversized": (lambda: b"a" * (8 * 1024 + 1), "malformed", "size: expected at most 8192", {}),
    "bad_json": (lambda: _with_body("{not json"), "malformed", "claims: invalid json", {}),
    "duplicate_keys": (
        lambda: _with_body(_body_text().replace('"sh_xm"', '"sh_xm":"x","sh_xm"', 1)),
        "malformed",
        "duplicate key 'sh_xm'",
        {},
    ),
    "float_time": (
        lambda: _with_body(_body_text().replace('"exp":', '"exp":1.5e9,"x":', 1)),
        "malformed",
        "non-integer number",
        {},
    ),
    "deep_json": (
        lambda: _with_body('{"a":' * 3 + "1" + "}" * 3),
        "malformed",
        "nested at most 2 deep",
        {},
    ),
    "deep_header": (
        lambda: b64(b"[" * 3000 + b"]" * 3000) + b".e30.AA",
        "malformed",
        "header: expected json nested at most 2 deep",
        {},
    ),
    "bad_check_digit": (
        lambda: make("sh-9001"),
        "invalid_id_number",
        "check digit mismatch",
        {},
    ),
    "jwe": (lambda: b"a.b.c.d.e", "malformed", "3 parts, got 5", {}),
    "padded": (lambda: make() + b"=", "malformed", "signature", {}),
    "der_signature": (
        lambda: make().rsplit(b".", 1)[0] + b"." + b64(KEY.sign(make().rsplit(b".", 1)[0])),
        "malformed",
        "expected 64 bytes r||s",
        {},
    ),
    "s_out_of_range": (
        lambda: make().rsplit(b".", 1)[0] + b"." + b64(b"\x01" * 32 + N.to_bytes(32, "big")),
        "bad_signature",
        "signature",
        {},
    ),
    "unknown_method": (lambda: make(methods=["iris"]), "malformed", "unknown iris", {}),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals(case):
    factory, reason, phrase, options = REFUSALS[case]
    message = rejected(factory(), reason, **options)
    assert phrase in message, message
    assert message.startswith("sh-oidc"), message
    assert "310117198805160127" not in message and "310106198102120115" not in message


def test_leeway_admits_a_little_clock_skew():
    data = make()
    verify(data, now=NOW - timedelta(seconds=1), leeway=timedelta(seconds=5))
    verify(data, now=NOW + timedelta(minutes=5, seconds=1), leeway=timedelta(seconds=5))


@pytest.mark.parametrize(
    ("field", "value", "phrase"),
    [
        ("acr", "urn:other", "claims.acr: expected urn:sh:ywtb:acr:zrr"),
        ("acr", ["x"], "claims.acr: expected"),
        ("aud", ["yrd-gateway"], "claims.aud: expected str, got list"),
        ("amr", [], "claims.amr: expected distinct method codes"),
        ("amr", ["pwd", "pwd"], "claims.amr: expected distinct method codes"),
        ("sub", "310117198805160127", "claims.sub: expected 22..64 base64url"),
        ("sh_csrq", "19880516", "claims.sh_csrq: expected YYYY-MM-DD"),
        ("sh_csrq", "1988-02-30", "claims.sh_csrq: not a date"),
        ("exp", 0, "expected exp > nbf"),
        ("auth_time", 2**40, "expected auth_time <= iat"),
        ("iat", 2**62, "claims.iat: out of range"),
        ("sh_frxx", {"tyshxydm": "x"}, "unexpected sh_frxx"),
        ("extra", 1, "unexpected extra"),
    ],
)
def test_signed_but_wrong_claims_are_refused_after_the_signature(field, value, phrase):
    header, body, _ = parts(make())
    body[field] = value
    assert phrase in rejected(forge(header, body), "malformed")
    # the same body under a wrong signature is refused for the signature first
    assert "signature" in rejected(forge(header, body, PrivateKey.generate()), "bad_signature")


def test_legal_person_token_needs_its_organisation():
    header, body, _ = parts(FMT.issue(legal_claims(), KEY))
    assert body["acr"] == ACR_LEGAL_PERSON
    assert body["sh_frxx"] == {
        "tyshxydm": "91310117MA1GYRD012",
        "qymc": "上海示例松江智造科技有限公司",
        "fddbr": "张申明",
        "jsdm": "FDDBR",
    }
    del body["sh_frxx"]
    assert "missing sh_frxx" in rejected(forge(header, body), "malformed")


# -- round trip ----------------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)
_SECONDS = st.integers(min_value=0, max_value=4_000_000_000)


@st.composite
def any_claims(draw) -> Claims:
    auth, iat, nbf = sorted(draw(st.lists(_SECONDS, min_size=3, max_size=3)))
    iat, nbf = draw(st.permutations([iat, nbf]))  # nbf may precede iat
    auth = min(auth, iat)
    exp = nbf + draw(st.integers(min_value=1, max_value=10**6))
    legal = draw(st.booleans())
    at = lambda s: datetime.fromtimestamp(s, UTC)  # noqa: E731
    return Claims(
        assertion_id=draw(_TEXT),
        issuer=draw(_TEXT),
        audience=draw(_TEXT),
        issued_at=at(iat),
        not_before=at(nbf),
        not_after=at(exp),
        name=draw(_TEXT),
        document_code=draw(st.sampled_from(sorted(FMT.document_types))),
        document_number=draw(_TEXT),
        date_of_birth=draw(st.dates(min_value=date(1, 1, 1))),
        methods=tuple(draw(st.lists(_TEXT, min_size=1, max_size=4, unique=True))),
        authenticated_at=at(auth),
        subject_kind="legal_person" if legal else "natural_person",
        organisation_name=draw(_TEXT) if legal else "",
        uscc=draw(_TEXT) if legal else "",
        legal_representative=draw(_TEXT) if legal else "",
        role_code=draw(st.sampled_from(sorted(_mapping()["roles"]))) if legal else "",
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_claims())
def test_issue_split_decode_round_trip(value):
    data = FMT.issue(value, KEY)
    signed = FMT.split(data)
    KEY.public_key.verify(signed.signed_bytes, signed.signature)
    assert signed.key_id == KEY.public_key.key_id
    assert FMT.decode(signed) == value


def test_legal_person_claims_round_trip_for_every_sample_organisation():
    for org in _organisations():
        value = legal_claims(org["organisation_id"])
        assert FMT.decode(FMT.split(FMT.issue(value, KEY))) == value
