"""Working-day calendar: public holidays and adjusted working days (放假调休).

Government-service time limits are mostly counted in working days (工作日; the
Administrative Licensing Law, art. 82, counts its limits in working days, excluding
statutory holidays). A working day is a day that is

1. a make-up working day (调休上班日, a Saturday or Sunday announced as a working day), or
2. not a public holiday and not a weekend day (Saturday, Sunday).

The schedule is data: ``gateway/matters/data/calendar_cn.json`` holds the State Council
General Office notices for 2025 and 2026, each with its source. Outside the years a
calendar covers, only the weekend rule applies (``covers()`` tells which years are known);
load a newer data file when the next notice is published.

Counting convention (the same as for deadlines: a limit runs from the day after intake):

- ``add_working_days(start, n)`` is the n-th working day after ``start`` (``start`` itself
  is not counted; ``n == 0`` gives ``start``; negative ``n`` counts backwards).
- ``working_days_between(a, b)`` counts the working days ``d`` with ``a < d <= b``
  (negative when ``b < a``), so ``add_working_days(a, working_days_between(a, b)) <= b``.
- ``natural_to_working_days(start, n)`` is the number of working days among the ``n``
  natural days after ``start``: ``working_days_between(start, start + n days)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import Error

__all__ = [
    "CalendarError",
    "WorkdayCalendar",
    "add_working_days",
    "default_calendar",
    "is_working_day",
    "natural_to_working_days",
    "working_days_between",
    "working_to_natural_days",
]

_DEFAULT_DATA = ("gateway.matters.data", "calendar_cn.json")
_FORMAT = "yrd-workday-calendar/1"


class CalendarError(Error, ValueError):
    """The calendar data is malformed or inconsistent (the message names the entry)."""


@dataclass(frozen=True)
class WorkdayCalendar:
    """An immutable working-day calendar.

    ``holidays`` maps each public holiday to its name; ``makeup_workdays`` maps each
    make-up working day to the holiday it compensates; ``years`` are the years whose
    official schedule is included; ``weekend`` holds ``date.weekday()`` numbers (5, 6).
    """

    holidays: Mapping[date, str] = field(default_factory=dict)
    makeup_workdays: Mapping[date, str] = field(default_factory=dict)
    years: frozenset[int] = frozenset()
    weekend: frozenset[int] = frozenset({5, 6})

    def __post_init__(self) -> None:
        both = sorted(set(self.holidays) & set(self.makeup_workdays))
        if both:
            raise CalendarError(f"date is both a holiday and a make-up workday: {both[0]}")

    # -- loading -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkdayCalendar:
        """Build a calendar from the ``yrd-workday-calendar/1`` JSON structure."""
        if data.get("format") != _FORMAT:
            raise CalendarError(
                f"calendar format: expected {_FORMAT!r}, got {data.get('format')!r}"
            )
        holidays: dict[date, str] = {}
        makeups: dict[date, str] = {}
        years: set[int] = set()
        try:
            for year_text, spec in data["years"].items():
                year = int(year_text)
                years.add(year)
                for h in spec.get("holidays", []):
                    first, last = date.fromisoformat(h["from"]), date.fromisoformat(h["to"])
                    if last < first or first.year != year:
                        raise CalendarError(f"holiday {h['name']!r} {first}..{last}: bad range")
                    d = first
                    while d <= last:
                        holidays[d] = h["name"]
                        d += timedelta(days=1)
                for m in spec.get("makeup_workdays", []):
                    d = date.fromisoformat(m["date"])
                    if d.year != year:
                        raise CalendarError(f"make-up workday {d} listed under year {year}")
                    makeups[d] = m["name"]
            weekend = frozenset(int(x) for x in data.get("weekend", (5, 6)))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, CalendarError):
                raise
            raise CalendarError(f"malformed calendar data: {exc!r}") from exc
        return cls(holidays, makeups, frozenset(years), weekend)

    @classmethod
    def load(cls, path: str | Path | None = None) -> WorkdayCalendar:
        """Load a calendar file; without ``path``, the bundled 2025-2026 PRC schedule."""
        if path is None:
            text = resources.files(_DEFAULT_DATA[0]).joinpath(_DEFAULT_DATA[1]).read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        return cls.from_dict(json.loads(text))

    # -- queries -------------------------------------------------------------------

    def covers(self, day: date) -> bool:
        """True if the official schedule for ``day``'s year is in this calendar."""
        return day.year in self.years

    def holiday_name(self, day: date) -> str | None:
        return self.holidays.get(day)

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() not in self.weekend

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (before it if ``n < 0``)."""
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        day = start
        while remaining:
            day += timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """Working days ``d`` with ``a < d <= b``; the negated count if ``b < a``."""
        if b < a:
            return -self.working_days_between(b, a)
        return sum(1 for d in _days(a + timedelta(days=1), b) if self.is_working_day(d))

    def natural_to_working_days(self, start: date, natural_days: int) -> int:
        """How many working days the ``natural_days`` days after ``start`` contain."""
        if natural_days < 0:
            raise CalendarError(f"natural days must be >= 0, got {natural_days}")
        return self.working_days_between(start, start + timedelta(days=natural_days))

    def working_to_natural_days(self, start: date, working_days: int) -> int:
        """Natural days from ``start`` to the ``working_days``-th working day after it."""
        if working_days < 0:
            raise CalendarError(f"working days must be >= 0, got {working_days}")
        return (self.add_working_days(start, working_days) - start).days


def _days(first: date, last: date) -> Iterable[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


@cache
def default_calendar() -> WorkdayCalendar:
    """The bundled PRC calendar (2025-2026), loaded once."""
    return WorkdayCalendar.load()


def is_working_day(day: date) -> bool:
    return default_calendar().is_working_day(day)


def add_working_days(start: date, n: int) -> date:
    return default_calendar().add_working_days(start, n)


def working_days_between(a: date, b: date) -> int:
    return default_calendar().working_days_between(a, b)


def natural_to_working_days(start: date, natural_days: int) -> int:
    return default_calendar().natural_to_working_days(start, natural_days)


def working_to_natural_days(start: date, working_days: int) -> int:
    return default_calendar().working_to_natural_days(start, working_days)
