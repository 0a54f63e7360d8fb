"""Public matter types validate their arguments (issue 14): ``TimeLimit(3, "working_days")``
counts working days like ``TimeLimit(3, TimeUnit.WORKING_DAYS)``, and a misspelt unit, a
negative or non-integer value, or a look-alike enum value is refused with ``MatterError``
naming the field, never silently taken as natural days."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.matters import (
    HandlingMode,
    Material,
    MaterialForm,
    MatterError,
    MatterType,
    OnlineDepth,
    TimeLimit,
    TimeUnit,
)
from tests.gateway.test_matters_model import make


def test_a_unit_given_as_text_is_the_enum_member() -> None:
    limit = TimeLimit(3, "working_days")  # type: ignore[arg-type]
    assert limit.unit is TimeUnit.WORKING_DAYS
    assert limit == TimeLimit(3, TimeUnit.WORKING_DAYS)
    assert TimeLimit(5, "natural_days").unit is TimeUnit.NATURAL_DAYS  # type: ignore[arg-type]


def test_a_text_unit_counts_working_days_across_the_national_day_break() -> None:
    """2026-09-30 + 3 working days skips 10-01..10-07 (National Day): the deadline the
    text unit gives is the working-day one, not 2026-10-03."""
    from datetime import date

    from gateway.cases.deadlines import deadline_for
    from gateway.workdays import default_calendar

    start, calendar = date(2026, 9, 30), default_calendar()
    text = deadline_for(start, TimeLimit(3, "working_days"), calendar)  # type: ignore[arg-type]
    enum = deadline_for(start, TimeLimit(3, TimeUnit.WORKING_DAYS), calendar)
    assert text == enum
    assert text > date(2026, 10, 7)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((3, "workdays"), "time_limit.unit"),
        ((3, "WORKING_DAYS"), "time_limit.unit"),
        ((3, None), "time_limit.unit"),
        ((-1, "working_days"), "time_limit.value"),
        (("3", "working_days"), "time_limit.value"),
        ((True, "working_days"), "time_limit.value"),
        ((2.5, "natural_days"), "time_limit.value"),
    ],
)
def test_bad_time_limits_are_refused(args: tuple, field: str) -> None:
    with pytest.raises(MatterError) as info:
        TimeLimit(*args)
    assert info.value.field == field


def test_material_form_and_matter_enums_are_coerced_or_refused() -> None:
    material = Material("M01", "申请书", True, "electronic")  # type: ignore[arg-type]
    assert material.form is MaterialForm.ELECTRONIC
    with pytest.raises(MatterError) as info:
        Material("M01", "申请书", True, "pdf")  # type: ignore[arg-type]
    assert info.value.field == "materials[M01].form"
    matter = make(matter_type="行政许可", online_depth=4, handling_modes=("全程网办",))
    assert matter.matter_type is MatterType.LICENSING
    assert matter.online_depth is OnlineDepth.FULL
    assert matter.handling_modes == (HandlingMode.FULL_ONLINE,)
    for over, field in [
        ({"matter_type": "licensing"}, "matter_type"),
        ({"online_depth": 5}, "online_depth"),
        ({"min_assurance": "very high"}, "min_assurance"),
        ({"handling_modes": ("网办",)}, "handling_modes"),
        ({"legal_time_limit": (3, "working_days")}, "legal_time_limit"),
    ]:
        with pytest.raises(MatterError) as info:
            make(**over)
        assert info.value.field == field, over
    assert replace(make(), name="企业变更登记").name == "企业变更登记"
