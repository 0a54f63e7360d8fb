"""Working-day calendar: hand-checked dates around the 2025 and 2026 holidays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.workdays import (
    CalendarError,
    WorkdayCalendar,
    add_working_days,
    default_calendar,
    is_working_day,
    natural_to_working_days,
    working_days_between,
    working_to_natural_days,
)

D = date


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2025, 10, 1), False),  # National Day
        (D(2025, 10, 8), False),  # last day of the combined National Day / Mid-Autumn break
        (D(2025, 9, 28), True),  # Sunday, make-up working day
        (D(2025, 10, 11), True),  # Saturday, make-up working day
        (D(2025, 10, 12), False),  # ordinary Sunday
        (D(2025, 1, 26), True),  # Sunday before Spring Festival, make-up
        (D(2025, 1, 28), False),  # Spring Festival eve
        (D(2025, 4, 27), True),  # make-up for Labour Day
        (D(2025, 6, 2), False),  # Dragon Boat (Monday)
        (D(2026, 1, 4), True),  # Sunday, make-up for New Year
        (D(2026, 2, 14), True),  # Saturday, make-up for Spring Festival
        (D(2026, 2, 23), False),  # last day of the 9-day Spring Festival break
        (D(2026, 2, 28), True),  # Saturday, make-up
        (D(2026, 9, 25), False),  # Mid-Autumn
        (D(2026, 10, 10), True),  # Saturday, make-up
        (D(2026, 10, 9), True),  # ordinary Friday
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_add_working_days_across_national_day_2025() -> None:
    assert add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 9)
    # Fri 26 Sep + 3: Sun 28 (make-up), Mon 29, Tue 30
    assert add_working_days(D(2025, 9, 26), 3) == D(2025, 9, 30)
    assert add_working_days(D(2025, 9, 26), 4) == D(2025, 10, 9)
    assert add_working_days(D(2025, 10, 9), -1) == D(2025, 9, 30)
    assert add_working_days(D(2025, 10, 3), 0) == D(2025, 10, 3)


def test_add_working_days_across_spring_festival_2026() -> None:
    assert add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)  # make-up Saturday
    assert add_working_days(D(2026, 2, 14), 1) == D(2026, 2, 24)


def test_working_days_between_and_conversions() -> None:
    # 10/9 Thu, 10/10 Fri, 10/11 Sat (make-up); 10/12 Sunday is not
    assert working_days_between(D(2025, 9, 30), D(2025, 10, 12)) == 3
    assert working_days_between(D(2025, 10, 12), D(2025, 9, 30)) == -3
    # 10 natural days after Fri 26 Sep 2025: 28, 29, 30 Sep only
    assert natural_to_working_days(D(2025, 9, 26), 10) == 3
    # 7 natural days after Thu 12 Feb 2026: Fri 13, Sat 14 (make-up)
    assert natural_to_working_days(D(2026, 2, 12), 7) == 2
    assert working_to_natural_days(D(2025, 9, 30), 1) == 9


def test_outside_covered_years_the_calendar_says_it_does_not_know() -> None:
    cal = default_calendar()
    assert cal.covers(D(2026, 5, 1)) and not cal.covers(D(2027, 1, 1))
    # a count through 2027 is a guess on weekends only: the calendar names the year
    assert cal.missing_years(D(2026, 12, 31), D(2027, 1, 4)) == (2027,)
    assert cal.missing_years(D(2027, 3, 1), D(2026, 3, 1)) == (2027,)
    assert cal.missing_years(D(2025, 1, 1), D(2026, 12, 31)) == ()


def test_calendar_is_configurable_data() -> None:
    cal = WorkdayCalendar.from_dict(
        {
            "format": "yrd-workday-calendar/1",
            "years": {
                "2030": {
                    "holidays": [{"name": "x", "from": "2030-01-01", "to": "2030-01-02"}],
                    "makeup_workdays": [{"name": "x", "date": "2030-01-05"}],
                }
            },
        }
    )
    assert not cal.is_working_day(D(2030, 1, 2))
    assert cal.is_working_day(D(2030, 1, 5))  # a Saturday
    assert cal.holiday_name(D(2030, 1, 1)) == "x"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"format": "other"}, "format"),
        (
            {
                "format": "yrd-workday-calendar/1",
                "years": {"2030": {"holidays": [{"name": "x", "from": "2030-01-03",
                                                 "to": "2030-01-01"}]}},
            },
            "bad range",
        ),
        (
            {
                "format": "yrd-workday-calendar/1",
                "years": {"2030": {
                    "holidays": [{"name": "x", "from": "2030-01-05", "to": "2030-01-05"}],
                    "makeup_workdays": [{"name": "x", "date": "2030-01-05"}],
                }},
            },
            "both a holiday and a make-up",
        ),
    ],
)  # fmt: skip
def test_bad_calendar_data_is_refused(data: dict, needle: str) -> None:
    with pytest.raises(CalendarError, match=needle):
        WorkdayCalendar.from_dict(data)


def test_bundled_data_lists_every_holiday() -> None:
    names = set(default_calendar().holidays.values())
    for holiday in ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"):
        assert any(holiday in n for n in names), holiday
    for d in default_calendar().makeup_workdays:
        assert d.weekday() in (5, 6)  # make-up days are weekend days


days = st.dates(min_value=D(2024, 12, 1), max_value=D(2026, 12, 31))


@given(days, st.integers(min_value=0, max_value=60))
def test_add_then_count_is_identity(start: date, n: int) -> None:
    end = add_working_days(start, n)
    assert working_days_between(start, end) == n
    assert n == 0 or is_working_day(end)


@given(days, days)
def test_count_then_add_never_overshoots(a: date, b: date) -> None:
    n = working_days_between(a, b)
    if a <= b:
        assert add_working_days(a, n) <= b
        assert n <= (b - a).days
    assert natural_to_working_days(a, abs((b - a).days)) == working_days_between(
        a, a + timedelta(days=abs((b - a).days))
    )
