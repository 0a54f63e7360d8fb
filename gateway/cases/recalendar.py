"""Recomputing calendar-provisional deadlines once their year's holiday calendar is loaded.

A deadline counted through a year with no calendar data was computed on weekends only
(``deadlines.Deadline.missing_years``). When the calendar in use gains one of those years,
every open case with such a deadline is recomputed from the same start (the acceptance day,
or the submission day before acceptance):

(1) find the open cases whose missing years the calendar now covers (one query on a covering
    index; the service runs the pass when the file changed and once a minute, which also
    catches a case written with the previous calendar during a reload);
(2) under the case's lock (shared with steps, so a step in flight finishes first), compute
    the deadline again with the calendar in use;
(3) write the new deadline, its remaining missing years and a ``deadline_recomputed``
    system event on the case's timeline in one transaction, if the case has not moved.

The deadline is the gateway's own reckoning (no exchange signs it), so the recomputation is
a system event of the timeline rather than an exchange.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from gateway.cases._clock import business_day, stamp
from gateway.cases.deadlines import compute_deadline, parse_years
from gateway.cases.lifecycle import DEADLINE_RECOMPUTED
from gateway.cases.model import OPEN
from gateway.cases.store import CaseStore
from gateway.matters import TimeLimit
from gateway.workdays import WorkdayCalendar

__all__ = ["SYSTEM_ACTOR", "Recalendar"]

log = logging.getLogger("gateway.cases")

SYSTEM_ACTOR = "系统（节假日安排）"
_OPEN = tuple(s.value for s in OPEN)


class Recalendar:
    """Recomputes the provisional deadlines of ``store``'s open cases (steps (1)-(3))."""

    def __init__(
        self,
        store: CaseStore,
        calendar: Callable[[], WorkdayCalendar],
        clock: Callable[[], datetime],
        locks: dict[str, asyncio.Lock],
    ) -> None:
        self._store = store
        self._calendar = calendar
        self._clock = clock
        self._locks = locks

    def open_provisional(self) -> int:
        """How many open cases have a calendar-provisional deadline (the alarm gauge)."""
        return self._store.count_provisional(_OPEN)

    async def run(self) -> int:
        """Recompute what the calendar in use now covers; the number of cases recomputed."""
        # (1): candidates
        done = 0
        years = self._calendar().years
        for case_id in await self._store.run(self._store.provisional, _OPEN, covered=years):
            # (2): under the case's lock
            async with self._locks.setdefault(case_id, asyncio.Lock()):
                case = await self._store.run(self._store.case, case_id)
                if case is None or case["status"] not in _OPEN:
                    continue
                calendar = self._calendar()
                before = parse_years(case["deadline_missing_years"])
                if not set(before) & calendar.years:
                    continue
                limit = TimeLimit.from_dict(json.loads(case["promised_limit"]))
                deadline = compute_deadline(_start(case), limit, calendar)
                # (3): durably, with its timeline event
                now = self._clock()
                loaded = "、".join(str(y) for y in before if y in calendar.years)
                note = (
                    f"{loaded} 年节假日安排已载入："
                    f"办结时限由 {case['deadline']} 重新计算为 {deadline.day}"
                )
                if deadline.provisional:
                    note += f"（仍为暂定：{'、'.join(map(str, deadline.missing_years))} 年未载入）"
                event = {
                    "at": stamp(now),
                    "transition": DEADLINE_RECOMPUTED,
                    "actor": SYSTEM_ACTOR,
                    "note": note,
                    "detail": {
                        "deadline_before": case["deadline"],
                        "deadline_after": deadline.day.isoformat(),
                        "missing_years_before": list(before),
                        "missing_years_after": list(deadline.missing_years),
                    },
                }
                sets = {
                    "deadline": deadline.day.isoformat(),
                    "deadline_missing_years": deadline.stored_years(),
                    "updated_at": stamp(now),
                }
                if await self._store.run(self._store.set_deadline, case_id, case, sets, event):
                    done += 1
                    log.info(
                        "deadline of case %s recomputed with the loaded calendar: %s -> %s",
                        case_id, case["deadline"], deadline.day,
                    )  # fmt: skip
        return done


def _start(case: dict[str, Any]) -> date:
    """The day a case's limit counts from: acceptance, or submission before it."""
    if case["accepted_on"]:
        return date.fromisoformat(case["accepted_on"])
    return business_day(datetime.fromisoformat(case["submitted_at"]))
