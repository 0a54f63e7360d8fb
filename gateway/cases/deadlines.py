"""Deadlines of cases from the matter's promised time limit (承诺时限).

The limit runs from the day after the case was accepted (受理; before acceptance, from the
day after submission, as a provisional deadline):

- a limit of N working days ends on the N-th working day after the start day, counted with
  the working-day calendar (public holidays and make-up working days, ``gateway.workdays``);
- a limit of N natural days ends N calendar days after the start day; if that day is not a
  working day (a weekend or public holiday), the limit ends on the next working day (Civil
  Code art. 203: a period whose last day is a statutory day of rest ends on the day after).

A case is overdue when it is still open after its deadline day, or finished later than it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..matters import TimeLimit, TimeUnit
from ..workdays import WorkdayCalendar

__all__ = ["Countdown", "countdown", "deadline_for"]


def deadline_for(start: date, limit: TimeLimit, calendar: WorkdayCalendar) -> date:
    """The last day of ``limit`` counted from ``start`` (``start`` itself not counted)."""
    if limit.unit is TimeUnit.WORKING_DAYS:
        return calendar.add_working_days(start, limit.value)
    end = start + timedelta(days=limit.value)
    while not calendar.is_working_day(end):
        end += timedelta(days=1)
    return end


@dataclass(frozen=True)
class Countdown:
    deadline: date
    working_days_left: int  # negative once overdue
    natural_days_left: int
    overdue: bool

    def to_dict(self) -> dict:
        return {
            "deadline": self.deadline.isoformat(),
            "working_days_left": self.working_days_left,
            "natural_days_left": self.natural_days_left,
            "overdue": self.overdue,
        }


def countdown(
    deadline: date, today: date, calendar: WorkdayCalendar, *, finished_on: date | None = None
) -> Countdown:
    """Days left to ``deadline`` as of ``today``; a finished case counts at ``finished_on``."""
    at = finished_on or today
    return Countdown(
        deadline=deadline,
        working_days_left=calendar.working_days_between(at, deadline),
        natural_days_left=(deadline - at).days,
        overdue=at > deadline,
    )
