"""The three provinces' identity-assertion formats: each verifies, maps and refuses on its own.

Every format is driven through the same contract (``AssertionFormat.verify``); the
format-specific tests below check what makes each one different (token header, XML
structure and canonical form, GB18030 and canonical JSON).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

import adapters.anhui.identity as ah
import adapters.zhejiang.identity as zj
from gateway.dialects import default_dialects
from gateway.identity import (
    DEFAULT_POLICY,
    AssertionRejected,
    AssuranceLevel,
    AuthMethod,
    DocumentType,
    is_valid_resident_id,
)
from gateway.identity.province import AssertionFormat, level_from_mapping
from gateway.registry import Region
from gateway.registry._dev import DEV_LOA_MAPPINGS
from ledger.crypto import PrivateKey

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
KEY = PrivateKey.generate()
KEYS = [(KEY.public_key.key_id, KEY.public_key)]
PROVINCES = ("JS", "ZJ", "AH")
GOOD = {"JS": "js-0001", "ZJ": "zj-0001", "AH": "ah-0001"}
BAD = {"JS": "js-9001", "ZJ": "zj-9001", "AH": "ah-9001"}


@pytest.fixture(params=PROVINCES)
def fmt(request) -> AssertionFormat:
    fmt = default_dialects().get(request.param).identity
    assert isinstance(fmt, AssertionFormat)
    return fmt


def make(fmt: AssertionFormat, person: str | None = None, key=KEY, **kw) -> bytes:
    kw.setdefault("audience", "yrd-gateway")
    kw.setdefault("now", NOW)
    claims = fmt.claims_for(
        fmt.sample_people[person or GOOD[fmt.province.value]], assertion_id="_a1b2c3", **kw
    )
    return fmt.issue(claims, key)


def verify(fmt: AssertionFormat, data: bytes, **kw):
    kw.setdefault("audience", "yrd-gateway")
    kw.setdefault("now", NOW + timedelta(seconds=10))
    return fmt.verify(data, kw.pop("keys", KEYS), **kw)


def rejected(fmt, data, reason, **kw) -> str:
    with pytest.raises(AssertionRejected) as info:
        verify(fmt, data, **kw)
    assert info.value.reason == reason, str(info.value)
    return str(info.value)


# -- the contract, per province ------------------------------------------------------------


def test_round_trip(fmt):
    person = fmt.sample_people[GOOD[fmt.province.value]]
    got = verify(fmt, make(fmt))
    assert got.province.value == fmt.province.value
    assert got.subject.document_number == person["document_number"]
    assert got.subject.name == person["name"]
    assert got.subject.date_of_birth.isoformat() == person["date_of_birth"]
    assert got.local_methods == fmt.default_methods
    assert got.not_after - got.not_before == timedelta(minutes=5)
    assert len(got.digest) == 32


def test_sample_people_are_valid_except_the_deliberate_one(fmt):
    for person_id, person in fmt.sample_people.items():
        if person["document_type"] != "resident_id_card":
            continue
        assert is_valid_resident_id(person["document_number"]) == (person_id != BAD[fmt.province])


def test_invalid_id_number_is_refused_after_the_signature(fmt):
    message = rejected(fmt, make(fmt, BAD[fmt.province.value]), "invalid_id_number")
    number = fmt.sample_people[BAD[fmt.province.value]]["document_number"]
    assert "check digit mismatch" in message and number not in message


def test_other_key_is_refused(fmt):
    other = PrivateKey.generate()
    # the key id hint names a key the registry does not list
    rejected(fmt, make(fmt, key=other), "unknown_issuer")
    # the hint is honoured: the right id with another key's signature does not verify
    rejected(
        fmt, make(fmt, key=other), "bad_signature", keys=[(other.public_key.key_id, KEY.public_key)]
    )
    rejected(fmt, make(fmt), "unknown_issuer", keys=[])


def test_time_window(fmt):
    data = make(fmt, ttl=timedelta(minutes=5))
    rejected(fmt, data, "expired", now=NOW + timedelta(minutes=5))
    rejected(fmt, data, "not_yet_valid", now=NOW - timedelta(seconds=1))
    verify(fmt, data, now=NOW - timedelta(seconds=1), leeway=timedelta(seconds=5))
    verify(fmt, data, now=NOW + timedelta(minutes=5, seconds=1), leeway=timedelta(seconds=5))


def test_audience_and_issuer(fmt):
    assert "other-rp" in rejected(fmt, make(fmt, audience="other-rp"), "wrong_audience")
    rejected(fmt, make(fmt), "wrong_audience", audience="another-gateway")
    claims = fmt.claims_for(
        fmt.sample_people[GOOD[fmt.province.value]],
        audience="yrd-gateway",
        now=NOW,
        assertion_id="_x",
    )
    forged = fmt.issue(type(claims)(**{**claims.__dict__, "issuer": "https://evil"}), KEY)
    rejected(fmt, forged, "unknown_issuer")


def test_unknown_method_code_is_refused(fmt):
    assert "NOPE" in rejected(fmt, make(fmt, methods=["NOPE"]), "malformed")


@pytest.mark.parametrize("junk", [b"", b"x", b"\xff\xfe" * 10, b"{}", b"<a/>", b"a.b.c"])
def test_junk_is_malformed(fmt, junk):
    rejected(fmt, junk, "malformed")


def test_oversized_is_malformed(fmt):
    assert "size" in rejected(fmt, b" " * (fmt.max_bytes + 1), "malformed")


def test_repr_masks_claims(fmt):
    person = fmt.sample_people[GOOD[fmt.province.value]]
    claims = fmt.claims_for(person, audience="a", now=NOW, assertion_id="_x")
    assert person["document_number"] not in repr(claims)
    assert person["name"] not in repr(claims)
    assert person["document_number"] not in repr(verify(fmt, make(fmt)))


# -- method -> level mapping data ----------------------------------------------------------


def test_loa_matches_the_default_policy_and_the_dev_registry(fmt):
    """The declarative tables agree with the canonical policy and with the dev registry."""
    for code, level in fmt.loa.items():
        methods = frozenset().union(*(fmt.methods[c] for c in code.split("+")))
        assert DEFAULT_POLICY.level_for(methods).value == level, code
    assert dict(DEV_LOA_MAPPINGS[Region(fmt.province.value)]) == dict(fmt.loa)


def test_every_province_maps_the_five_methods(fmt):
    wanted = {
        AuthMethod.PASSWORD,
        AuthMethod.SMS_OTP,
        AuthMethod.FACE_RECOGNITION,
        AuthMethod.ELECTRONIC_ID_CARD,
        AuthMethod.USB_KEY,
    }
    assert wanted <= frozenset().union(*fmt.methods.values())
    assert set(fmt.document_types.values()) == set(DocumentType)


@pytest.mark.parametrize(
    ("region", "codes", "level"),
    [
        ("JS", ["PWD"], "low"),
        ("JS", ["SMS"], "low"),
        ("JS", ["PWD", "SMS"], "substantial"),
        ("JS", ["FACE"], "substantial"),
        ("JS", ["PWD", "CTID"], "high"),
        ("JS", ["UKEY"], "high"),
        ("ZJ", ["urn:zjzwfw:ac:classes:Password"], "low"),
        ("ZJ", ["urn:zjzwfw:ac:classes:PasswordSmsOtp"], "substantial"),
        ("ZJ", ["urn:zjzwfw:ac:classes:FaceLiveness"], "substantial"),
        ("ZJ", ["urn:zjzwfw:ac:classes:CTID"], "high"),
        ("AH", ["01"], "low"),
        ("AH", ["02"], "low"),
        ("AH", ["03"], "substantial"),
        ("AH", ["04"], "substantial"),
        ("AH", ["05"], "high"),
        ("AH", ["06"], "high"),
    ],
)
def test_level_from_mapping(region, codes, level):
    fmt = default_dialects().get(region).identity
    assert level_from_mapping(codes, fmt.loa) == AssuranceLevel(level)


def test_level_from_mapping_refuses_unknown_codes():
    with pytest.raises(AssertionRejected) as info:
        level_from_mapping(["PWD", "IRIS"], {"PWD": "low"})
    assert info.value.reason == "malformed" and "IRIS" in str(info.value)


# -- Jiangsu: compact token ----------------------------------------------------------------


def _js_parts(data: bytes) -> list[dict]:
    return [
        json.loads(base64.urlsafe_b64decode(p + b"=" * (-len(p) % 4))) for p in data.split(b".")[:2]
    ]


def test_jiangsu_token_layout():
    fmt = default_dialects().get("JS").identity
    header, claims = _js_parts(make(fmt))
    assert header == {"alg": "SM2SM3", "kid": KEY.public_key.key_id, "typ": "JSZWFW-ID", "ver": 1}
    assert set(claims) == {
        "lpbh", "qfz", "jsf", "qfsj", "sxsj", "xm", "zjlx", "zjhm", "csrq", "rzfs", "rzsj"
    }  # fmt: skip
    assert claims["zjlx"] == "111" and claims["csrq"] == "19900307"
    assert claims["rzfs"] == ["PWD", "SMS"]


def test_jiangsu_header_and_claims_are_strict():
    fmt = default_dialects().get("JS").identity
    data = make(fmt)
    _, body, sig = data.split(b".")
    bad_head = base64.urlsafe_b64encode(b'{"alg":"none","kid":"x","typ":"JSZWFW-ID","ver":1}')
    rejected(fmt, b".".join((bad_head.rstrip(b"="), body, sig)), "malformed")
    # a signature over an extra claim still fails the claim check (after the signature)
    _, claims = _js_parts(data)
    claims["extra"] = 1
    header = base64.urlsafe_b64encode(
        json.dumps(_js_parts(data)[0], separators=(",", ":")).encode()
    ).rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    signature = base64.urlsafe_b64encode(KEY.sign(header + b"." + payload)).rstrip(b"=")
    assert "extra" in rejected(fmt, b".".join((header, payload, signature)), "malformed")
    # non-canonical base64url (padding) is refused
    rejected(fmt, data + b"=", "malformed")


# -- Zhejiang: XML -------------------------------------------------------------------------


def test_zhejiang_canonical_form_ignores_layout_but_binds_values():
    fmt = default_dialects().get("ZJ").identity
    data = make(fmt).decode()
    # re-indenting and re-prefixing keep the signature valid
    relaid = data.replace("\n  ", "\n\t\t").replace("zj:", "idp:").replace("xmlns:zj", "xmlns:idp")
    assert verify(fmt, relaid.encode()).subject.name == "林晓燕"
    # a changed audience, method or birth date breaks it
    for old, new in [
        (">yrd-gateway<", ">yrd-gateway2<"),
        ("PasswordSmsOtp", "CTID"),
        ("1992-04-18", "1992-04-19"),
    ]:
        rejected(fmt, data.replace(old, new).encode(), "bad_signature")


def test_zhejiang_structure_is_strict():
    fmt = default_dialects().get("ZJ").identity
    data = make(fmt).decode()
    doctype = data.replace("<zj:Assertion", '<!DOCTYPE x [<!ENTITY e "e">]>\n<zj:Assertion', 1)
    assert "document type" in rejected(fmt, doctype.encode(), "malformed")
    # unsigned text between elements is refused, not ignored
    smuggled = data.replace("</zj:Issuer>", "</zj:Issuer>hello", 1)
    rejected(fmt, smuggled.encode(), "malformed")
    # an element added before the Signature is signed content: the signature breaks
    added = data.replace("  <zj:Signature>", "  <zj:Extra/>\n  <zj:Signature>", 1)
    rejected(fmt, added.encode(), "bad_signature")
    # the Signature must be the last child: nothing may follow it unsigned
    after = data.replace("  </zj:Signature>", "  </zj:Signature>\n  <zj:Extra/>", 1)
    assert "last child" in rejected(fmt, after.encode(), "malformed")
    # an unknown element signed by the provider is still refused by the structure check
    body = data.split("  <zj:Signature>")[0] + "</zj:Assertion>"
    body = body.replace('<?xml version="1.0" encoding="UTF-8"?>\n', "")
    body = body.replace("  </zj:AttributeStatement>\n", "  </zj:AttributeStatement>\n  <zj:X/>\n")
    import xml.etree.ElementTree as ET

    sig = base64.b64encode(KEY.sign(zj.canonical_form(ET.fromstring(body)))).decode()
    signed = body.replace(
        "</zj:Assertion>",
        f"  <zj:Signature><zj:KeyName>{KEY.public_key.key_id}</zj:KeyName>"
        f"<zj:SignatureValue>{sig}</zj:SignatureValue></zj:Signature>\n</zj:Assertion>",
    )
    assert "children" in rejected(fmt, signed.encode(), "malformed")


def test_zhejiang_two_authn_statements_combine():
    fmt = default_dialects().get("ZJ").identity
    methods = ["urn:zjzwfw:ac:classes:Password", "urn:zjzwfw:ac:classes:SmsOtp"]
    got = verify(fmt, make(fmt, methods=methods))
    assert got.local_methods == tuple(methods)
    assert level_from_mapping(got.local_methods, fmt.loa) == AssuranceLevel.LOW
    assert got.methods == {AuthMethod.PASSWORD, AuthMethod.SMS_OTP}


# -- Anhui: GB18030 signed JSON ------------------------------------------------------------


def test_anhui_document_is_gb18030_with_epoch_ms():
    fmt = default_dialects().get("AH").identity
    data = make(fmt)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    doc = json.loads(data.decode("gb18030"))
    assert doc["head"]["ver"] == "AHZW-ID/1.0"
    assert doc["data"]["issueTime"] == int(NOW.timestamp() * 1000)
    assert doc["data"]["user"]["certType"] == "SFZ"
    assert doc["data"]["user"]["birthday"] == 802886400000  # 1995-06-12 00:00 Beijing
    assert doc["sign"] == doc["sign"].upper()


def test_anhui_signature_is_over_canonical_json():
    fmt = default_dialects().get("AH").identity
    doc = json.loads(make(fmt).decode("gb18030"))
    # key order and whitespace on the wire do not matter
    reordered = json.dumps(dict(reversed(list(doc.items()))), ensure_ascii=False)
    assert verify(fmt, reordered.encode("gb18030")).subject.name == "吴海峰"
    # values do
    doc["data"]["auth"]["authMode"] = "05"
    rejected(fmt, json.dumps(doc, ensure_ascii=False).encode("gb18030"), "bad_signature")
    # duplicate keys and floats are refused outright
    text = json.dumps(doc, ensure_ascii=False)
    rejected(fmt, text.replace('"sign"', '"sign": "00", "sign"', 1).encode("gb18030"), "malformed")
    rejected(
        fmt,
        text.replace('"authTime": ', '"authTime": 1.5, "x": ', 1).encode("gb18030"),
        "malformed",
    )
    assert ah.canonical_bytes(doc).startswith(b'{"data":{"appId"')


def test_anhui_birthday_must_be_midnight_beijing():
    fmt = default_dialects().get("AH").identity
    doc = json.loads(make(fmt).decode("gb18030"))
    doc["data"]["user"]["birthday"] += 1000
    doc["sign"] = KEY.sign(ah.canonical_bytes(doc)).hex().upper()
    assert "birthday" in rejected(
        fmt, json.dumps(doc, ensure_ascii=False).encode("gb18030"), "malformed"
    )
