"""Finding 10: the one masking function finds ID numbers however they are written.

Before: ``1101 0119 9003 0745 14`` and ``110101-19900307-4514`` passed through unmasked.
"""

from __future__ import annotations

import pytest

from gateway.ops.privacy import contains_raw_id_number, scrub

NUMBER = "110101199003074514"  # valid (GB 11643)
MASKED = "1101**********4514"


@pytest.mark.parametrize(
    "text",
    [
        "证件号 110101199003074514。",
        "证件号 1101 0119 9003 0745 14。",
        "证件号 110101-19900307-4514。",
        "证件号 110101 19900307 4514。",
        "证件号 １１０１０１１９９００３０７４５１４。",
        "证件号 １１０１ ０１１９ ９００３ ０７４５ １４。",
        "证件号 110101－19900307－4514。",  # full-width hyphens
        "证件号 110101\u300019900307\u30004514。",  # ideographic spaces
    ],
)
def test_id_numbers_with_separators_or_full_width_digits_are_masked(text):
    masked = scrub(text)
    assert not contains_raw_id_number(masked.replace(" ", "").replace("-", ""))
    assert "**********" in masked
    assert masked.startswith("证件号 ") and masked.endswith("。")


def test_compact_and_separated_forms_mask_alike():
    assert scrub("1101 0119 9003 0745 14") == MASKED
    assert scrub("110101-19900307-4514") == MASKED


def test_phone_numbers_are_masked_and_ordinary_numbers_left_alone():
    assert scrub("电话 138 1234 5678") == "电话 138 **** 5678"
    assert scrub("+86 13812345678") == "+86 138****5678"
    assert (
        scrub("订单 2024-01-01 12:00，金额 1234 5678 元")
        == "订单 2024-01-01 12:00，金额 1234 5678 元"
    )
