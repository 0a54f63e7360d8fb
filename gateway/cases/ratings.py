"""Ratings (好差评): the applicant's grade of a finished case, recorded once by its window.

A rating is logged like a step, as a ``case.status`` exchange (status ``completed``,
transition ``rated``), so it is as verifiable as any other; it leaves the status unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from gateway.cases._clock import stamp
from gateway.cases.accounts import Account
from gateway.cases.errors import CaseForbidden, CaseInvalid, TransitionRefused
from gateway.cases.lifecycle import actor_for, actor_label, load_case
from gateway.cases.model import CLOSED, RATINGS, Actor, Status
from gateway.cases.store import CaseStore
from gateway.cases.wording import status_zh
from gateway.ops.privacy import scrub

if TYPE_CHECKING:
    from gateway.cases.exchanges import CaseExchanges

__all__ = ["Ratings"]


class Ratings:
    """Ratings of cases. ``locks`` (by case id) is shared with ``lifecycle.Transitions``."""

    def __init__(
        self,
        store: CaseStore,
        exchanges: CaseExchanges,
        clock: Callable[[], datetime],
        locks: dict[str, asyncio.Lock],
    ) -> None:
        self._store = store
        self._exchanges = exchanges
        self._clock = clock
        self._locks = locks

    async def rate(self, account: Account, case_id: str, grade: int, comment: str | None) -> None:
        """Record ``grade`` (1..5) once the case is closed; :class:`TransitionRefused` before
        that or if it is already rated."""
        case = load_case(self._store, case_id)
        if actor_for(account, case) is not Actor.WINDOW:
            raise CaseForbidden("forbidden", "好差评由受理窗口登记")
        if grade not in RATINGS:
            raise CaseInvalid("invalid", f"评价等级应为 1 至 5，收到 {grade!r}", "grade")
        lock = self._locks.setdefault(case_id, asyncio.Lock())
        async with lock:
            case = load_case(self._store, case_id)
            if Status(case["status"]) not in CLOSED:
                raise TransitionRefused(
                    "out_of_order",
                    f"办件当前为“{status_zh(case['status'])}”，办结后才能评价",
                    "grade",
                )
            if case["rating"] is not None:
                raise TransitionRefused("already_rated", "该办件已评价过")
            now = self._clock()
            text = scrub(comment or "")[:200] or None
            note = f"{grade} {RATINGS[grade]}" + (f"：{text}" if text else "")
            sets = {"rating": grade, "rating_comment": text, "updated_at": stamp(now)}
            await self._exchanges.send_status(
                case, Actor.WINDOW, "rated", "completed", note, sets, now,
                actor_label(account), status_after=Status(case["status"]),
            )  # fmt: skip
