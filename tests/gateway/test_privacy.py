"""Masking helpers, free-text scrubbing, the logging filter and the raw-ID detector."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.identity import compute_id_check_digit
from gateway.ops.privacy import (
    MaskingFilter,
    contains_raw_id_number,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_uscc,
    scrub,
)

ID = "11010519491231002X"
ID2 = "310101199001011237"  # check digit corrected below
ID2 = ID2[:17] + compute_id_check_digit(ID2[:17])
FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def test_masks():
    assert mask_id_number("310101199001011234") == "3101**********1234"
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("张三") == "张*"
    assert mask_name("张") == "*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name("") == ""
    assert mask_phone("13812345678") == "138****5678"
    assert mask_uscc("91350100M000100Y43") == "91************0Y43"
    assert mask_id_number("1234") == "****"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (f"身份证号{ID}已核验", "身份证号1101**********002X已核验"),
        (f"id={ID.lower()}", "id=1101**********002x"),
        (f"a {ID2} b", f"a 3101**********{ID2[-4:]} b"),
        ("typo 310101199001011230 still masked", "typo 3101**********1230 still masked"),
        ("old id 310101900101123 here", "old id 3101*******1123 here"),
        ("call 13812345678.", "call 138****5678."),
        ("call +8613812345678", "call +86138****5678"),
        ("call 0086 138 1234 5678", "call 0086 138 **** 5678"),
        ("call 138-1234-5678", "call 138-****-5678"),
        ("手机：13912345678，谢谢", "手机：139****5678，谢谢"),
        (f"全角{ID.translate(FULLWIDTH)}", "全角１１０１**********００２Ｘ"),
    ],
)
def test_scrub_masks(text, want):
    assert scrub(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "order 123456789012345678 is not an id (region 12? no: bad date)",
        "trace 999999999999999999",
        "card 6222021234567890123",  # 19 digits: not an ID, not a phone
        "12813812345678",  # phone inside a longer digit run
        "landline 021-12345678",
        "amount 12345678901",  # starts 12: not a mobile prefix
        "uscc 91350100M000100Y43",
        "sha 3f2a0011010519491231002X9",  # ID-shaped run inside a longer one? no: X then 9
    ],
)
def test_scrub_leaves_non_identifiers(text):
    assert scrub(text) == text


def test_scrub_output_has_no_raw_id():
    text = f"{ID} and {ID2} and {ID.translate(FULLWIDTH)}"
    assert contains_raw_id_number(text) == [ID, ID2]
    assert contains_raw_id_number(scrub(text)) == []


@st.composite
def resident_ids(draw):
    body = (
        draw(st.sampled_from(["110105", "310101", "320102", "330106", "340104", "650102"]))
        + draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 1, 1))).strftime("%Y%m%d")
        + draw(st.text("0123456789", min_size=3, max_size=3))
    )
    return body + compute_id_check_digit(body)


_noise = st.text(st.sampled_from("ab ,:;=\n中文号码-_"), max_size=10)


@given(resident_ids(), _noise, _noise)
def test_scrub_always_masks_valid_ids(number, before, after):
    out = scrub(before + number + after)
    assert number not in out
    assert contains_raw_id_number(out) == []


@given(resident_ids())
def test_detector_finds_ids_in_any_encoding(number):
    assert contains_raw_id_number(f"x{number}y") == [number]
    assert contains_raw_id_number(b"\x00\xff" + number.encode() + b"\x01") == [number]
    assert contains_raw_id_number(("n=" + number).encode("utf-16-le")) == [number]
    assert contains_raw_id_number(("n=" + number).encode("utf-16-be")) == [number]
    assert contains_raw_id_number(bytearray(("名" + number).encode("utf-8"))) == [number]
    # inside a longer digit run a leak is still a leak
    assert number in contains_raw_id_number("0" + number + "0")


def test_detector_ignores_invalid_and_reports_order():
    bad = ID[:17] + "1"
    assert contains_raw_id_number(bad) == []
    assert contains_raw_id_number(b"") == []
    blob = ID2.encode() + b"|" + ID.encode() + b"|" + ID2.encode()
    assert contains_raw_id_number(blob) == [ID2, ID]
    assert contains_raw_id_number(memoryview(ID.lower().encode())) == [ID]


def _capture(logger_name: str):
    records: list[str] = []

    class ListHandler(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = ListHandler()
    handler.addFilter(MaskingFilter())
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, handler, records


def test_masking_filter_scrubs_message_args_and_exceptions():
    logger, handler, records = _capture("test_privacy.filter")
    try:
        logger.info("lookup %s phone %s", ID, 13812345678)
        logger.info("dict %(id)s", {"id": ID2})
        logger.info("literal " + ID)
        logger.info("bad format %d", ID)  # a broken format must not leak either
        try:
            raise ValueError(f"no such person {ID}")
        except ValueError:
            logger.exception("failed for %s", ID2)
        logging.getLogger("test_privacy.filter.child").info("child %s", ID)
    finally:
        logger.removeHandler(handler)
    joined = "\n".join(records)
    assert records[0] == "lookup 1101**********002X phone 138****5678"
    assert records[1] == f"dict 3101**********{ID2[-4:]}"
    assert len(records) == 6
    assert contains_raw_id_number(joined) == []
    assert "13812345678" not in joined
    assert "no such person 1101**********002X" in joined


def test_masking_filter_keeps_records():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "id %s", (ID,), None)
    assert MaskingFilter().filter(record) is True
    assert record.getMessage() == "id 1101**********002X"
    assert record.args is None


def test_contains_raw_credit_code_finds_valid_codes_in_text_and_utf16():
    from gateway.ops.privacy import contains_raw_credit_code

    code = "91320500MA1YRD0013"
    assert contains_raw_credit_code(f"x{code}y") == [code]
    assert contains_raw_credit_code(code.encode("utf-16-le")) == [code]
    assert contains_raw_credit_code(code.encode("utf-16-be")) == [code]
    assert contains_raw_credit_code(code[:-1] + "4") == []  # wrong check character
    assert contains_raw_credit_code("91************0013") == []  # masked
