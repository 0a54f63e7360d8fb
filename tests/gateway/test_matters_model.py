"""The canonical matter model: validation and dict round trips."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from gateway.matters import (
    MATTER_TYPE_CODES,
    AssuranceLevel,
    Fee,
    ImplementingBody,
    Material,
    MaterialForm,
    Matter,
    MatterError,
    MatterType,
    OnlineDepth,
    TimeLimit,
    TimeUnit,
    default_catalogue,
    implementation_code,
    uscc_is_valid,
)

USCC = "11310000MB0000001C"


def make(**over) -> Matter:
    fields = {
        "basic_code": "010010300100",
        "name": "企业设立登记",
        "matter_type": MatterType.LICENSING,
        "legal_time_limit": TimeLimit(3, TimeUnit.WORKING_DAYS),
        "promised_time_limit": TimeLimit(1, TimeUnit.WORKING_DAYS),
        "online_depth": OnlineDepth.FULL,
        "min_assurance": AssuranceLevel.SUBSTANTIAL,
        "version": "1",
        "valid_from": date(2025, 1, 1),
        "region": "SH",
        "materials": (Material("M01", "申请书", True, MaterialForm.ELECTRONIC),),
        "fees": (Fee("工本费", 500, "示例"),),
        "implementing_body": ImplementingBody("示例局", USCC),
        "implementation_code": implementation_code(USCC, "010010300100", "01"),
        "local_code": "YWTB-SH-0001",
    }
    fields.update(over)
    return Matter(**fields)


def test_uscc_check_character() -> None:
    assert uscc_is_valid(USCC)
    assert not uscc_is_valid(USCC[:-1] + "D")
    assert not uscc_is_valid("11310000MB000000IC")  # I is not in the alphabet


def test_round_trip_through_dict() -> None:
    m = make()
    assert Matter.from_dict(m.to_dict()) == m
    for record in default_catalogue().list("AH"):
        assert Matter.from_dict(record.to_dict()) == record


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"basic_code": "01001030010"}, "basic_code"),
        ({"basic_code": "200010300100"}, "basic_code"),  # type digits say 公共服务
        ({"implementation_code": USCC + "010010300100" + "1"}, "implementation_code"),
        ({"implementation_code": USCC + "010010300200" + "01"}, "implementation_code"),
        ({"implementing_body": None}, "implementing_body"),
        ({"promised_time_limit": TimeLimit(4, TimeUnit.WORKING_DAYS)}, "promised_time_limit"),
        ({"valid_to": date(2024, 1, 1)}, "valid_to"),
        ({"region": "BJ"}, "region"),
        (
            {"materials": (Material("M01", "a", True, MaterialForm.COPY),) * 2},
            "materials",
        ),
    ],
)
def test_invalid_matters_name_the_field(over: dict, field: str) -> None:
    with pytest.raises(MatterError) as info:
        make(**over)
    assert info.value.field == field


def test_shareable_material_needs_a_source() -> None:
    with pytest.raises(MatterError, match="source department"):
        Material("M01", "身份证", True, MaterialForm.ELECTRONIC, shareable=True)


def test_bad_uscc_and_from_dict_errors() -> None:
    with pytest.raises(MatterError, match="GB 32100"):
        ImplementingBody("x", USCC[:-1] + "0")
    d = make().to_dict()
    d["matter_type"] = "行政处罚"
    with pytest.raises(MatterError) as info:
        Matter.from_dict(d)
    assert info.value.field == "matter_type"
    d = make().to_dict() | {"online_depth": 5}
    with pytest.raises(MatterError, match=r"1\.\.4"):
        Matter.from_dict(d)


def test_natural_and_working_limits_are_not_compared() -> None:
    m = make(promised_time_limit=TimeLimit(5, TimeUnit.NATURAL_DAYS))
    assert m.promised_time_limit.unit is TimeUnit.NATURAL_DAYS


def test_helpers() -> None:
    m = replace(make(), valid_to=date(2025, 12, 31))
    assert m.is_valid_on(date(2025, 6, 1)) and not m.is_valid_on(date(2026, 1, 1))
    assert m.total_fee_fen == 500
    assert m.material("M01") is not None and m.material("M09") is None
    assert set(MATTER_TYPE_CODES) == set(MatterType)
