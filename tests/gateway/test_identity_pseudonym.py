"""Pseudonymous person keys: HMAC-SM3 per RFC 2104, stability, separation, scoping."""

from __future__ import annotations

import base64
from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gateway.identity import (
    DocumentType,
    IdentityError,
    LegalPerson,
    NaturalPerson,
    PersonKeyDeriver,
    canonical_identifier,
    compute_id_check_digit,
    derive_person_key,
)
from gateway.identity.model import PERSON_KEY_RE
from ledger.crypto import sm3

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))


def _hmac_sm3_rfc2104(key: bytes, message: bytes) -> bytes:
    """RFC 2104 written out, with SM3's 64-byte block: an independent cross-check."""
    block = 64
    if len(key) > block:
        key = sm3(key)
    key = key.ljust(block, b"\x00")
    inner = sm3(bytes(b ^ 0x36 for b in key) + message)
    return sm3(bytes(b ^ 0x5C for b in key) + inner)


@st.composite
def people(draw):
    body = (
        draw(st.sampled_from(["310101", "320102", "330106", "340104"]))
        + draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 1, 1))).strftime("%Y%m%d")
        + draw(st.text("0123456789", min_size=3, max_size=3))
    )
    number = body + compute_id_check_digit(body)
    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return NaturalPerson("王五", DocumentType.RESIDENT_ID_CARD, number, born)


def test_matches_rfc2104_written_out():
    p = NaturalPerson("王五", "resident_id_card", "11010519491231002X", date(1949, 12, 31))
    for rp in (None, "sh-social-security"):
        message = b"yrd-person-key/v1\x00resident_id_card:11010519491231002X\x00" + (
            b"global" if rp is None else b"rp:" + rp.encode()
        )
        digest = _hmac_sm3_rfc2104(SECRET, message)[:20]
        want = "pk-" + base64.b32encode(digest).decode().lower()
        assert derive_person_key(p, SECRET, relying_party=rp) == want
    long_key = bytes(100)  # longer than a block: hashed first, both sides agree
    message = b"yrd-person-key/v1\x00resident_id_card:11010519491231002X\x00global"
    want = "pk-" + base64.b32encode(_hmac_sm3_rfc2104(long_key, message)[:20]).decode().lower()
    assert derive_person_key(p, long_key) == want


@given(people())
def test_stable_and_well_formed(p):
    key = derive_person_key(p, SECRET)
    assert PERSON_KEY_RE.fullmatch(key)
    twin = NaturalPerson("王 五", p.document_type, p.document_number.lower(), p.date_of_birth)
    assert derive_person_key(twin, SECRET) == key  # only the document identifies
    assert p.document_number not in key


@given(people(), people())
def test_differs_between_people(a, b):
    assume(a.document_number != b.document_number)
    assert derive_person_key(a, SECRET) != derive_person_key(b, SECRET)


_rp_ids = st.text("abcdefghijklmnopqrstuvwxyz0123456789-.:/上海社保", min_size=1, max_size=40)


@given(people(), _rp_ids, _rp_ids)
def test_differs_between_relying_parties(p, rp1, rp2):
    assume(rp1 != rp2)
    deriver = PersonKeyDeriver(SECRET, per_relying_party=True)
    k1, k2 = deriver.derive(p, rp1), deriver.derive(p, rp2)
    assert k1 != k2
    assert k1 == deriver.derive(p, rp1)
    assert k1 != derive_person_key(p, SECRET)


@given(people())
def test_differs_between_secrets(p):
    assert derive_person_key(p, SECRET) != derive_person_key(p, OTHER_SECRET)


def test_document_types_are_separated():
    a = NaturalPerson("A", "taiwan_travel_permit", "12345678", date(1980, 1, 1))
    b = NaturalPerson("A", "foreign_passport", "12345678", date(1980, 1, 1))
    assert canonical_identifier(a) == "taiwan_travel_permit:12345678"
    assert derive_person_key(a, SECRET) != derive_person_key(b, SECRET)


def test_legal_person_keys():
    org = LegalPerson("某某科技有限公司", "91350100M000100Y43", "李四")
    assert canonical_identifier(org) == "uscc:91350100M000100Y43"
    assert PERSON_KEY_RE.fullmatch(derive_person_key(org, SECRET))


def test_refusals():
    p = NaturalPerson("A", "taiwan_travel_permit", "12345678", date(1980, 1, 1))
    with pytest.raises(IdentityError, match="secret length: expected at least 32 bytes, got 5"):
        derive_person_key(p, b"short")
    with pytest.raises(IdentityError, match="expected bytes, got str"):
        derive_person_key(p, "x" * 40)
    with pytest.raises(IdentityError, match="expected a relying party id"):
        PersonKeyDeriver(SECRET, per_relying_party=True).derive(p)
    with pytest.raises(IdentityError, match="expected no relying party id"):
        PersonKeyDeriver(SECRET).derive(p, "rp")
    with pytest.raises(IdentityError, match="non-empty"):
        derive_person_key(p, SECRET, relying_party="")
    with pytest.raises(IdentityError, match="control"):
        derive_person_key(p, SECRET, relying_party="a\x00b")
    with pytest.raises(IdentityError, match="subject"):
        canonical_identifier("11010519491231002X")
    assert "SECRET" not in repr(PersonKeyDeriver(SECRET)) and "\\x00" not in repr(
        PersonKeyDeriver(SECRET)
    )
