"""Canonical identity model: construction, normalisation, JSON round trips, masked repr."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from gateway.identity import (
    MINIMUM_DATA_SET,
    AssuranceLevel,
    AuthMethod,
    DocumentType,
    IdentityError,
    InvalidCreditCode,
    InvalidIdNumber,
    LegalPerson,
    NaturalPerson,
    Province,
    RecognisedIdentity,
    subject_from_dict,
)

ID = "11010519491231002X"
USCC = "91350100M000100Y43"
KEY = "pk-" + "a" * 32


def person(**over):
    args = {
        "name": "张三丰",
        "document_type": DocumentType.RESIDENT_ID_CARD,
        "document_number": ID,
        "date_of_birth": date(1949, 12, 31),
    }
    args.update(over)
    return NaturalPerson(**args)


def identity(**over):
    args = {
        "subject": person(),
        "level": AssuranceLevel.SUBSTANTIAL,
        "methods": {AuthMethod.PASSWORD, AuthMethod.SMS_OTP},
        "authenticated_at": datetime(2025, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))),
        "issuing_province": Province.SH,
        "person_key": KEY,
    }
    args.update(over)
    return RecognisedIdentity(**args)


def test_assurance_levels_are_ordered():
    low, sub, high = AssuranceLevel.LOW, AssuranceLevel.SUBSTANTIAL, AssuranceLevel.HIGH
    assert low < sub < high
    assert high > sub > low and high >= high and low <= low
    assert max([sub, high, low]) is high
    assert sorted([high, low, sub]) == [low, sub, high]
    with pytest.raises(TypeError):
        _ = low < "high"  # never an alphabetical string comparison


def test_natural_person_normalises_and_round_trips():
    p = person(document_number=ID.lower(), name="  张三丰 ", document_type="resident_id_card")
    assert p.document_number == ID
    assert p.name == "张三丰"
    assert p.document_type is DocumentType.RESIDENT_ID_CARD
    data = p.to_dict()
    assert data == {
        "kind": "natural_person",
        "name": "张三丰",
        "document_type": "resident_id_card",
        "document_number": ID,
        "date_of_birth": "1949-12-31",
    }
    assert set(data) - {"kind"} == set(MINIMUM_DATA_SET["natural_person"])
    assert NaturalPerson.from_dict(json.loads(json.dumps(data))) == p
    assert subject_from_dict(data) == p


def test_natural_person_other_documents():
    p = person(
        document_type=DocumentType.HK_MACAO_TRAVEL_PERMIT,
        document_number="h12345678",
        date_of_birth=date(1980, 1, 2),
    )
    assert p.document_number == "H12345678"
    assert DocumentType.HK_MACAO_TRAVEL_PERMIT.label_zh == "港澳居民来往内地通行证"


def test_birth_date_must_match_the_id_number():
    with pytest.raises(IdentityError, match=r"expected 1949-12-31 .* got 1950-01-01"):
        person(date_of_birth=date(1950, 1, 1))


@pytest.mark.parametrize(
    ("over", "error", "match"),
    [
        ({"document_number": "11010519491231002"}, InvalidIdNumber, "length"),
        ({"document_type": "driving_licence"}, IdentityError, "document type: expected one of"),
        ({"name": "   "}, IdentityError, "non-empty"),
        ({"name": "张\x00三"}, IdentityError, "control character"),
        ({"name": 42}, IdentityError, "expected a string"),
        ({"date_of_birth": "1949-12-31"}, IdentityError, "expected a date"),
        ({"date_of_birth": datetime(1949, 12, 31)}, IdentityError, "expected a date"),
    ],
)
def test_natural_person_refuses(over, error, match):
    with pytest.raises(error, match=match):
        person(**over)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.pop("date_of_birth"), "missing date_of_birth"),
        (lambda d: d.update(phone="13812345678"), "unexpected phone"),
        (lambda d: d.update(date_of_birth="31/12/1949"), "expected YYYY-MM-DD"),
        (lambda d: d.update(date_of_birth=19491231), "expected YYYY-MM-DD"),
        (lambda d: d.update(kind="legal_person"), "legal person fields"),
        (lambda d: d.update(kind="robot"), "subject kind"),
    ],
)
def test_subject_from_dict_is_strict(change, match):
    data = person().to_dict()
    change(data)
    with pytest.raises(IdentityError, match=match):
        subject_from_dict(data)


def test_legal_person_round_trip_and_errors():
    org = LegalPerson("某某科技有限公司", USCC, "李四")
    assert org.uscc == USCC
    with pytest.raises(InvalidCreditCode, match="use upper case"):  # as everywhere
        LegalPerson("某某科技有限公司", USCC.lower(), "李四")
    data = org.to_dict()
    assert set(data) - {"kind"} == set(MINIMUM_DATA_SET["legal_person"])
    assert subject_from_dict(data) == org
    with pytest.raises(InvalidCreditCode, match="check character mismatch"):
        LegalPerson("x", USCC[:17] + "4", "李四")
    with pytest.raises(IdentityError, match="legal representative name"):
        LegalPerson("x", USCC, "")


def test_recognised_identity_round_trip():
    ident = identity()
    assert ident.authenticated_at == datetime(2025, 5, 1, 0, 0, tzinfo=UTC)
    assert ident.method == "password+sms_otp"
    data = ident.to_dict()
    assert data["authenticated_at"] == "2025-05-01T00:00:00Z"
    assert data["methods"] == ["password", "sms_otp"]
    assert data["level"] == "substantial"
    again = RecognisedIdentity.from_dict(json.loads(json.dumps(data)))
    assert again == ident
    org = identity(subject=LegalPerson("某某科技有限公司", USCC, "李四"), methods=["usb_key"])
    assert RecognisedIdentity.from_dict(org.to_dict()) == org


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"level": "very_high"}, "identity level: expected one of low, substantial, high"),
        ({"methods": set()}, "expected at least one"),
        ({"methods": {"carrier_pigeon"}}, "identity method"),
        ({"authenticated_at": datetime(2025, 5, 1)}, "timezone-aware"),
        ({"issuing_province": "BJ"}, "issuing province"),
        ({"person_key": "pk-short"}, "person key"),
        ({"subject": {"kind": "natural_person"}}, "expected NaturalPerson or LegalPerson"),
    ],
)
def test_recognised_identity_refuses(over, match):
    with pytest.raises(IdentityError, match=match):
        identity(**over)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.update(methods="password"), "list of strings"),
        (lambda d: d.update(methods=["password", "password"]), "no repeats"),
        (lambda d: d.update(authenticated_at="yesterday"), "ISO 8601"),
        (lambda d: d.update(authenticated_at="2025-05-01T00:00:00"), "timezone-aware"),
        (lambda d: d.pop("person_key"), "missing person_key"),
    ],
)
def test_recognised_identity_from_dict_is_strict(change, match):
    data = identity().to_dict()
    change(data)
    with pytest.raises(IdentityError, match=match):
        RecognisedIdentity.from_dict(data)


def test_repr_never_shows_the_raw_number():
    text = repr(identity())
    assert ID not in text
    assert "1101**********002X" in text
    assert "张*丰" in text and "张三丰" not in text
    assert USCC not in repr(LegalPerson("某某科技有限公司", USCC, "李四"))


def test_objects_are_immutable():
    p = person()
    with pytest.raises(AttributeError):
        p.document_number = "x"
