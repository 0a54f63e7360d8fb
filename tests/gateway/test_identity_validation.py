"""GB 11643 / GB 32100 validation: check characters, properties, precise errors."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.identity import (
    InvalidCreditCode,
    InvalidIdNumber,
    compute_id_check_digit,
    compute_uscc_check_char,
    is_valid_resident_id,
    is_valid_uscc,
)
from gateway.identity.validation import (
    PROVINCE_CODES,
    USCC_ALPHABET,
    resident_id_birth_date,
    validate_resident_id,
    validate_uscc,
)

TODAY = date(2025, 6, 1)


def test_published_examples():
    assert compute_id_check_digit("11010519491231002") == "X"
    assert compute_id_check_digit("44052418800101001") == "4"
    assert compute_uscc_check_char("91350100M000100Y4") == "3"


def test_weights_from_the_standards():
    # GB 11643: weight i = 2^(17-i) mod 11; a single 1 at each position isolates its weight.
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    for i, w in enumerate(weights):
        body = "0" * i + "1" + "0" * (16 - i)
        assert compute_id_check_digit(body) == "10X98765432"[w % 11]
    # GB 32100: weight i = 3^i mod 31.
    for i in range(17):
        body = "0" * i + "1" + "0" * (16 - i)
        expected = (31 - pow(3, i, 31) % 31) % 31
        assert compute_uscc_check_char(body) == USCC_ALPHABET[expected]
    assert compute_uscc_check_char("0" * 17) == "0"  # 31 -> 0


def test_province_codes():
    assert {"11", "31", "32", "33", "34", "65", "71", "81", "82", "83"} <= PROVINCE_CODES
    assert not {"10", "16", "20", "24", "38", "47", "55", "66", "84", "99"} & PROVINCE_CODES
    assert len(PROVINCE_CODES) == 5 + 3 + 7 + 6 + 5 + 5 + 4


@pytest.mark.parametrize("bad", ["1234567890123456", "1234567890123456A", "１" * 17])
def test_compute_id_check_digit_refuses_bad_bodies(bad):
    with pytest.raises(InvalidIdNumber, match="expected 17 ascii digits"):
        compute_id_check_digit(bad)


def test_compute_uscc_check_char_refuses_bad_bodies():
    with pytest.raises(InvalidCreditCode, match="length: expected 17, got 3"):
        compute_uscc_check_char("913")
    with pytest.raises(InvalidCreditCode, match=r"character 2: .* got 'I'"):
        compute_uscc_check_char("9I350100M000100Y4")


_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
_regions = st.sampled_from(sorted(PROVINCE_CODES))


@st.composite
def resident_ids(draw):
    body = (
        draw(_regions)
        + draw(st.text("0123456789", min_size=4, max_size=4))
        + draw(_dates).strftime("%Y%m%d")
        + draw(st.text("0123456789", min_size=3, max_size=3))
    )
    return body + compute_id_check_digit(body)


@given(resident_ids())
def test_generated_resident_ids_validate(number):
    assert validate_resident_id(number, today=TODAY) == number
    assert validate_resident_id(number.lower(), today=TODAY) == number
    assert resident_id_birth_date(number).strftime("%Y%m%d") == number[6:14]


@given(resident_ids(), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_substitution_is_detected(number, pos, delta):
    changed = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
    assert not is_valid_resident_id(changed, today=TODAY)


@given(resident_ids(), st.integers(0, 16))
def test_any_adjacent_transposition_is_detected(number, pos):
    swapped = number[:pos] + number[pos + 1] + number[pos] + number[pos + 2 :]
    if swapped != number:
        assert not is_valid_resident_id(swapped, today=TODAY)


@st.composite
def usccs(draw):
    dept_type = draw(st.sampled_from(["11", "12", "51", "52", "53", "91", "92", "93", "Y1"]))
    division = draw(st.text("0123456789", min_size=6, max_size=6))
    subject = draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    body = dept_type + division + subject
    return body + compute_uscc_check_char(body)


@given(usccs())
def test_generated_usccs_validate(code):
    assert validate_uscc(code) == code
    if code.lower() != code:  # upper case only, as everywhere (gateway.uscc)
        assert not is_valid_uscc(code.lower())


@given(usccs(), st.integers(0, 16), st.integers(1, 30))
def test_any_single_uscc_substitution_is_detected(code, pos, delta):
    replaced = USCC_ALPHABET[(USCC_ALPHABET.index(code[pos]) + delta) % 31]
    changed = code[:pos] + replaced + code[pos + 1 :]
    assert not is_valid_uscc(changed)


@pytest.mark.parametrize("value", [None, 11010519491231002, b"11010519491231002X", ["x"]])
def test_non_strings_are_refused_not_crashed(value):
    assert not is_valid_resident_id(value)
    assert not is_valid_uscc(value)
    with pytest.raises(InvalidIdNumber, match="expected a string"):
        validate_resident_id(value)
    with pytest.raises(InvalidCreditCode, match="expected a string"):
        validate_uscc(value)


def test_future_birth_date_uses_injected_today():
    number = "310101202506020011"
    number = number[:17] + compute_id_check_digit(number[:17])
    assert validate_resident_id(number, today=date(2025, 6, 2)) == number
    with pytest.raises(InvalidIdNumber, match="is in the future: today is 2025-06-01"):
        validate_resident_id(number, today=TODAY)


def test_errors_are_value_errors_and_never_echo_the_number():
    number = "310101199003071235"
    with pytest.raises(ValueError) as info:
        validate_resident_id(number)
    assert number not in str(info.value)
    assert str(info.value).startswith("resident id check digit mismatch: expected ")
