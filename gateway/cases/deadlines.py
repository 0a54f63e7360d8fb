"""Deadlines of cases from the matter's promised time limit (承诺时限).

The limit runs from the day after the case was accepted (受理; before acceptance, from the
day after submission, as a provisional deadline):

- a limit of N working days ends on the N-th working day after the start day, counted with
  the working-day calendar (public holidays and make-up working days, ``gateway.workdays``);
- a limit of N natural days ends N calendar days after the start day; if that day is not a
  working day (a weekend or public holiday), the limit ends on the next working day (Civil
  Code art. 203: a period whose last day is a statutory day of rest ends on the day after).

A case is overdue when it is still open after its deadline day, or finished later than it.

补正 (supplement) pauses the count: a case returned for 补正 on day P and resubmitted on day
R keeps what it had left of its limit at P (working days for a working-day limit, natural
days for a natural-day one, counted from acceptance over every span its clock ran) and counts
that again from R by the same rules (``resume_deadline``). The days in between, holidays or
not, are not counted. A case already overdue at P stays overdue.

A deadline whose count runs through a year the calendar has no notice for (today: 2027,
until a deployment loads it) is computed on weekends only and is **calendar-provisional**:
``Deadline.missing_years`` names those years, the case keeps them, every view marks the
deadline, and loading the year recomputes it (``gateway.cases.recalendar``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from gateway.matters import TimeLimit, TimeUnit
from gateway.workdays import WorkdayCalendar

log = logging.getLogger("gateway.cases")

__all__ = [
    "Countdown",
    "Deadline",
    "compute_deadline",
    "countdown",
    "deadline_for",
    "log_provisional",
    "parse_years",
    "resume_deadline",
]


@dataclass(frozen=True)
class Deadline:
    day: date
    missing_years: tuple[int, ...]  # years counted through with no calendar data

    @property
    def provisional(self) -> bool:
        return bool(self.missing_years)

    def stored_years(self) -> str | None:
        """The ``deadline_missing_years`` column: ``"2027"``, ``"2027,2028"`` or None."""
        return ",".join(str(y) for y in self.missing_years) or None


def compute_deadline(start: date, limit: TimeLimit, calendar: WorkdayCalendar) -> Deadline:
    """``deadline_for`` with the years its count ran through that ``calendar`` lacks."""
    day = deadline_for(start, limit, calendar)
    return Deadline(day, calendar.missing_years(start + timedelta(days=1), day))


def log_provisional(case_id: str, deadline: Deadline) -> None:
    """The log line for a deadline made on weekends only (no personal data: ids and dates)."""
    if deadline.provisional:
        log.warning(
            "provisional deadline %s for case %s: no holiday calendar for %s; load it into"
            " <data_dir>/calendar.json (docs/calendar.md)",
            deadline.day, case_id, ", ".join(map(str, deadline.missing_years)),
        )  # fmt: skip


def parse_years(stored: str | None) -> tuple[int, ...]:
    """The inverse of ``Deadline.stored_years``."""
    return tuple(int(y) for y in stored.split(",")) if stored else ()


def deadline_for(start: date, limit: TimeLimit, calendar: WorkdayCalendar) -> date:
    """The last day of ``limit`` counted from ``start`` (``start`` itself not counted)."""
    if limit.unit is TimeUnit.WORKING_DAYS:
        return calendar.add_working_days(start, limit.value)
    end = start + timedelta(days=limit.value)
    while not calendar.is_working_day(end):
        end += timedelta(days=1)
    return end


def resume_deadline(
    deadline: date,
    running: list[tuple[date, date]],
    resumed_on: date,
    limit: TimeLimit,
    calendar: WorkdayCalendar,
) -> Deadline:
    """The deadline of a case resumed on ``resumed_on`` after 补正. ``running`` are the spans
    ``(from, to)`` since acceptance in which its clock ran (acceptance to the first pause,
    each resumption to the next pause); what they used of ``limit`` (working days or natural
    days, ``from`` not counted) is spent, the rest counts again from ``resumed_on``. A case
    already past ``deadline`` when paused keeps it: the pause forgives nothing."""
    if limit.unit is TimeUnit.WORKING_DAYS:
        used = sum(calendar.working_days_between(a, b) for a, b in running)
    else:
        used = sum((b - a).days for a, b in running)
    if running and running[-1][1] > deadline:
        return Deadline(deadline, ())
    left = TimeLimit(max(limit.value - used, 0), limit.unit)
    return compute_deadline(resumed_on, left, calendar)


@dataclass(frozen=True)
class Countdown:
    deadline: date
    working_days_left: int  # negative once overdue
    natural_days_left: int
    overdue: bool
    missing_years: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        return {
            "deadline": self.deadline.isoformat(),
            "calendar_provisional": bool(self.missing_years),
            "calendar_missing_years": list(self.missing_years),
            "working_days_left": self.working_days_left,
            "natural_days_left": self.natural_days_left,
            "overdue": self.overdue,
        }


def countdown(
    deadline: date,
    today: date,
    calendar: WorkdayCalendar,
    *,
    finished_on: date | None = None,
    missing_years: tuple[int, ...] = (),
) -> Countdown:
    """Days left to ``deadline`` as of ``today``; a finished case counts at ``finished_on``.
    ``missing_years`` (the case's stored ones) mark the deadline as calendar-provisional."""
    at = finished_on or today
    return Countdown(
        deadline=deadline,
        working_days_left=calendar.working_days_between(at, deadline),
        natural_days_left=(deadline - at).days,
        overdue=at > deadline,
        missing_years=missing_years,
    )
