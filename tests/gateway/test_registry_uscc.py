"""GB 32100 unified social credit codes: the check character."""

from __future__ import annotations

import pytest

from gateway.registry import (
    MemberId,
    RegistryFormatError,
    check_character,
    is_valid_uscc,
    uscc_problem,
)

VALID = [
    "91350100M000100Y43",  # the commonly cited example code
    "91310000MA1K300060",  # check character 0: 31 - (sum mod 31) = 31, written as 0
    "1131000000YRD00016",  # dev members (invented, with valid check characters)
    "1132050000YRD00027",
    "1133010000YRD0003R",  # a letter as check character
    "1134010000YRD00041",
]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes(code):
    assert is_valid_uscc(code)
    assert check_character(code[:17]) == code[17]


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("91350100M000100Y44", "check character mismatch: expected 3, got 4"),
        ("91310000MA1K300061", "check character mismatch: expected 0, got 1"),
        ("91350100M000100Y4", "length: expected 18, got 17"),
        ("91350100M000100Y433", "length: expected 18, got 19"),
        ("91350100m000100Y43", "got 'm' (use upper case)"),
        ("91350100I000100Y43", "character 9: expected one of"),  # I, O, Z, S, V are excluded
        ("91350100O000100Y43", "got 'O'"),
        ("9135010SM000100Y43", "got 'S'"),
        ("94350100M000100Y4R", "organisation type for department 9"),  # the GB 32100 table
    ],
)
def test_invalid_codes(code, problem):
    assert not is_valid_uscc(code)
    assert problem in uscc_problem(code)


def test_non_string_is_invalid():
    assert "expected a string" in uscc_problem(913501)


def test_member_id_validates_org_code():
    with pytest.raises(RegistryFormatError) as info:
        MemberId("SH", "91350100M000100Y44", "platform")
    assert info.value.field == "org_code"
    member = MemberId.parse("JS/91350100M000100Y43/suzhou")
    assert str(member) == "JS/91350100M000100Y43/suzhou"
    with pytest.raises(RegistryFormatError, match="REGION/ORG_CODE/SUBSYSTEM"):
        MemberId.parse("JS/91350100M000100Y43")
