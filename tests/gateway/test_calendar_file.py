"""The calendar file: strict checks naming the entry, the overlay on the bundled notices, and
``CalendarFile`` reloading on change while keeping the calendar in use on a bad file."""

from __future__ import annotations

import copy
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gateway.workdays import (
    CalendarError,
    CalendarFile,
    WorkdayCalendar,
    bundled_data,
    overlay,
    read_data,
)

GOOD: dict[str, Any] = {
    "format": "yrd-workday-calendar/1",
    "title": "test data shaped like a notice",
    "sources": [{"year": 2027, "document": "test"}],
    "weekend": [5, 6],
    "years": {
        "2027": {
            "holidays": [
                {"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"},
                {"name": "春节", "from": "2027-02-06", "to": "2027-02-13"},
            ],
            "makeup_workdays": [{"name": "春节", "date": "2027-02-20"}],  # a Saturday
        }
    },
}


def _with(path: str, value: Any) -> dict[str, Any]:
    """GOOD with the entry at ``path`` (dot-separated, list indexes as numbers) replaced;
    ``...`` as value deletes it."""
    doc = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    key: Any = int(last) if isinstance(node, list) else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return doc


def _holiday(name: str, first: str, last: str) -> dict[str, str]:
    return {"name": name, "from": first, "to": last}


def test_a_good_file_loads() -> None:
    cal = WorkdayCalendar.from_dict(GOOD)
    assert cal.years == {2027}
    assert not cal.is_working_day(date(2027, 1, 1))
    assert cal.is_working_day(date(2027, 2, 20))


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        (_with("format", "yrd-workday-calendar/2"), "calendar format"),
        (_with("comment", "x"), "calendar: unknown key 'comment'"),
        (_with("years", {}), "years: expected a non-empty object"),
        (_with("weekend", [5, 7]), "weekend: expected distinct weekday numbers"),
        (_with("weekend", [6, 6]), "weekend: expected distinct weekday numbers"),
        (_with("years", {"27": GOOD["years"]["2027"]}), "years.27: expected a four-digit year"),
        (_with("years.2027.holidays", []), "years.2027.holidays: expected a non-empty list"),
        (_with("years.2027.extra", []), "years.2027: unknown key 'extra'"),
        (_with("years.2027.holidays.1.to", ...), "years.2027.holidays[1]: missing to"),
        (_with("years.2027.holidays.0.name", ""), "years.2027.holidays[0].name"),
        (_with("years.2027.holidays.1.from", "2027-2-6"), "years.2027.holidays[1] (春节).from"),
        (_with("years.2027.holidays.1.to", "2027-02-30"), "(春节).to: no such day"),
        (_with("years.2027.holidays.1.to", "2027-02-01"), "(春节): bad range: from 2027-02-06"),
        (_with("years.2027.holidays.1.to", "2027-03-13"), "(春节): bad range 2027-02-06..2027-03"),
        (
            _with("years.2027.holidays.1", _holiday("春节", "2028-02-06", "2028-02-08")),
            "years.2027.holidays[1] (春节): bad range",
        ),
        (
            _with("years.2027.holidays.1", _holiday("春节", "2027-01-03", "2027-01-05")),
            "years.2027.holidays[1] (春节): 2027-01-03 is already listed by years.2027.holidays[0]",
        ),
        (
            _with("years.2027.makeup_workdays.0.date", "2027-02-19"),
            "years.2027.makeup_workdays[0] (春节): 2027-02-19 is a Friday, not a weekend day",
        ),
        (
            _with("years.2027.makeup_workdays.0.name", "国庆节"),
            "years.2027.makeup_workdays[0] (国庆节): names no holiday of 2027",
        ),
        (
            _with("years.2027.makeup_workdays.0.date", "2027-02-06"),
            "makeup_workdays[0] (春节): date is both a holiday and a make-up workday: 2027-02-06",
        ),
        (
            _with("years.2027.makeup_workdays.0.date", "2029-02-17"),
            "makeup_workdays[0] (春节): 2029-02-17 is not in or next to 2027",
        ),
    ],
)  # fmt: skip
def test_a_bad_entry_is_refused_by_name(doc: dict, needle: str) -> None:
    with pytest.raises(CalendarError) as info:
        WorkdayCalendar.from_dict(doc)
    assert needle in str(info.value)


def test_a_holiday_may_start_in_the_previous_year() -> None:
    # the 2024 notice gave New Year as 30 December 2023 to 1 January 2024
    doc = _with("years.2027.holidays.0", {"name": "元旦", "from": "2026-12-30", "to": "2027-01-01"})
    assert not WorkdayCalendar.from_dict(doc).is_working_day(date(2026, 12, 30))


def test_file_level_refusals(tmp_path: Path) -> None:
    twice = tmp_path / "twice.json"
    twice.write_text('{"format": "yrd-workday-calendar/1", "years": {}, "years": {}}')
    with pytest.raises(CalendarError, match="key 'years' appears twice"):
        read_data(twice)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({**GOOD, "title": "x" * (1 << 20)}))
    with pytest.raises(CalendarError, match="too large"):
        read_data(big)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(CalendarError, match=r"broken\.json: not valid json"):
        read_data(broken)
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    with pytest.raises(CalendarError, match="expected a json object"):
        read_data(listed)


def test_overlay_adds_a_year_and_keeps_the_bundled_ones() -> None:
    cal = overlay(bundled_data(), GOOD)
    assert cal.years == {2025, 2026, 2027}
    assert not cal.is_working_day(date(2026, 10, 1))  # bundled
    assert not cal.is_working_day(date(2027, 1, 1))  # added
    assert cal.missing_years(date(2026, 12, 30), date(2027, 1, 5)) == ()


def test_overlay_replaces_a_year_it_lists_again() -> None:
    only_new_year = {
        "format": "yrd-workday-calendar/1",
        "years": {
            "2026": {"holidays": [{"name": "元旦", "from": "2026-01-01", "to": "2026-01-03"}]}
        },
    }
    cal = overlay(bundled_data(), only_new_year)
    assert cal.is_working_day(date(2026, 10, 1))  # the file's 2026 has no National Day
    assert not cal.is_working_day(date(2025, 10, 1))


def test_overlay_names_the_files_entry() -> None:
    with pytest.raises(CalendarError, match=r"years\.2027\.makeup_workdays\[0\]"):
        overlay(bundled_data(), _with("years.2027.makeup_workdays.0.date", "2027-02-19"))


def _write(path: Path, doc: dict | str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False))
    os.replace(tmp, path)


def test_calendar_file_reloads_on_change_and_keeps_the_calendar_on_a_bad_file(tmp_path):
    path = tmp_path / "calendar.json"
    watched = CalendarFile(path)
    assert watched.current.years == {2025, 2026} and watched.error is None
    assert watched.check() is False  # nothing changed: one stat
    _write(path, GOOD)
    assert watched.check() is True
    assert watched.current.years == {2025, 2026, 2027}
    assert watched.check() is False
    _write(path, _with("years.2027.holidays.1.to", "2027-02-01"))
    assert watched.check() is False
    assert watched.error is not None and "years.2027.holidays[1] (春节)" in watched.error
    assert watched.current.years == {2025, 2026, 2027}  # kept
    _write(path, _with("years.2027.makeup_workdays", []))
    assert watched.check() is True and watched.error is None
    assert not watched.current.is_working_day(date(2027, 2, 20))
    path.unlink()
    assert watched.check() is True
    assert watched.current.years == {2025, 2026}  # as a restart would have it


def test_a_bad_file_at_start_leaves_the_bundled_calendar(tmp_path):
    path = tmp_path / "calendar.json"
    path.write_text('{"format": "yrd-workday-calendar/1"}')
    watched = CalendarFile(path)
    assert watched.current.years == {2025, 2026}
    assert watched.error == "calendar: missing years"
