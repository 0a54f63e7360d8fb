"""Finding 11: four USCC validators (identity, registry, matters, adapter schema) disagreed.

Identity applied the GB 32100 department/type table and accepted lower case; the other three
did neither. Every call site now asks ``gateway.uscc``; this table is judged by all of them
and they must agree. Resident ID numbers (GB 11643) likewise have one validator, and every
place that judges one agrees.
"""

from __future__ import annotations

from datetime import date

import pytest

from gateway.dialects import AdapterError
from gateway.dialects.schema import check_scalar
from gateway.identity import (
    DocumentType,
    IdentityError,
    LegalPerson,
    NaturalPerson,
    is_valid_resident_id,
    validate_document_number,
    validate_resident_id,
    validate_uscc,
)
from gateway.matters import MatterError
from gateway.matters.model import ImplementingBody
from gateway.ops.privacy import contains_raw_id_number
from gateway.registry import MemberId, RegistryFormatError
from gateway.uscc import check_character, is_valid_uscc

VALID = [
    "91350100M000100Y43",  # the commonly cited example
    "91310000MA1K300060",  # check character 0
    "1131000000YRD00016",  # the dev members' codes
    "1133010000YRD0003R",
    "Y1310000MA1FL0QX5" + check_character("Y1310000MA1FL0QX5"),  # department Y, type 1
    "N2310000MA1FL0QX5" + check_character("N2310000MA1FL0QX5"),
]
INVALID = {
    "lower case": "91350100m000100y43",
    "lower case letter only in the body": "91310000ma1k300060",
    "type 4 under market regulation": "94310000MA1FL0QX5" + check_character("94310000MA1FL0QX5"),
    "type 2 under 'others'": "Y2310000MA1FL0QX5" + check_character("Y2310000MA1FL0QX5"),
    "unknown department B": "B1310000MA1FL0QX5" + check_character("B1310000MA1FL0QX5"),
    "unknown department 0": "01310000MA1FL0QX5" + check_character("01310000MA1FL0QX5"),
    "letter in the division": "9131A000MA1FL0QX5" + check_character("9131A000MA1FL0QX5"),
    "wrong check character": "91350100M000100Y44",
    "excluded letter I": "91350100I000100Y43",
    "17 characters": "91350100M000100Y4",
    "trailing newline": "91350100M000100Y43\n",
    "full-width digit": "９1350100M000100Y43",
}


def identity_accepts(code: str) -> bool:
    try:
        validate_uscc(code)
        LegalPerson("某某科技有限公司", code, "李四")
    except IdentityError:
        return False
    return True


def registry_accepts(code: str) -> bool:
    try:
        MemberId("JS", code, "suzhou")
    except RegistryFormatError:
        return False
    return True


def matters_accepts(code: str) -> bool:
    try:
        ImplementingBody("某某局", code)
    except MatterError:
        return False
    return True


def schema_accepts(code: str) -> bool:
    try:
        check_scalar("uscc", code, "implementing_body.uscc")
    except AdapterError:
        return False
    return True


CALL_SITES = {
    "identity": identity_accepts,
    "registry": registry_accepts,
    "matters": matters_accepts,
    "adapter schema": schema_accepts,
}


@pytest.mark.parametrize("code", VALID)
def test_valid_codes_are_accepted_everywhere(code):
    verdicts = {site: accepts(code) for site, accepts in CALL_SITES.items()}
    assert all(verdicts.values()), verdicts
    assert is_valid_uscc(code)


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_codes_are_refused_everywhere(case):
    code = INVALID[case]
    verdicts = {site: accepts(code) for site, accepts in CALL_SITES.items()}
    assert not any(verdicts.values()), verdicts
    assert not is_valid_uscc(code)


def test_every_site_names_the_failing_check():
    with pytest.raises(RegistryFormatError, match="organisation type for department 9"):
        MemberId("JS", INVALID["type 4 under market regulation"], "suzhou")
    with pytest.raises(MatterError, match="use upper case"):
        ImplementingBody("某某局", INVALID["lower case"])
    with pytest.raises(AdapterError, match="registration department"):
        check_scalar("uscc", INVALID["unknown department B"], "implementing_body.uscc")


# -- resident ID numbers (GB 11643) ---------------------------------------------------------

TODAY = date(2026, 11, 30)
ID_VALID = ["11010519491231002X", "320505199003070122", "33038219880702012x"]
ID_INVALID = {
    "wrong check digit": "110105194912310021",
    "not a calendar date": "110105194902300028",
    "unknown province 99": "990105194912310020",
    "17 digits": "11010519491231002",
    "full-width digit": "１10105194912310021",
}


def _natural(number: str) -> bool:
    try:
        NaturalPerson("王小明", DocumentType.RESIDENT_ID_CARD, number, _birth(number))
    except IdentityError:
        return False
    return True


def _birth(number: str) -> date:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return date(1990, 1, 1)


def _document(number: str) -> bool:
    try:
        validate_document_number(DocumentType.RESIDENT_ID_CARD, number, today=TODAY)
    except IdentityError:
        return False
    return True


def _detector(number: str) -> bool:
    return bool(contains_raw_id_number(f"note: {number} end"))


ID_SITES = {
    "validate_resident_id": lambda n: is_valid_resident_id(n, today=TODAY),
    "document number": _document,
    "natural person": _natural,
    "privacy detector": _detector,
}


@pytest.mark.parametrize("number", ID_VALID)
def test_valid_resident_ids_are_accepted_everywhere(number):
    verdicts = {site: judge(number) for site, judge in ID_SITES.items()}
    assert all(verdicts.values()), verdicts
    assert validate_resident_id(number, today=TODAY) == number.upper()


@pytest.mark.parametrize("case", sorted(ID_INVALID))
def test_invalid_resident_ids_are_refused_everywhere(case):
    number = ID_INVALID[case]
    verdicts = {site: judge(number) for site, judge in ID_SITES.items()}
    assert not any(verdicts.values()), verdicts
