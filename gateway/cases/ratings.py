"""Ratings (好差评): the applicant's grade of a finished case, recorded once: given by the
applicant on the progress page (``progress``), relayed by the receiving window's side.

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
from gateway.ops.privacy import scrub

if TYPE_CHECKING:
    from gateway.cases.exchanges import CaseExchanges

__all__ = ["APPLICANT_LABEL", "Ratings"]

APPLICANT_LABEL = "申请人（办件进度查询）"


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
        that or if it is already rated. Kept for API compatibility: the pages let the
        applicant rate (:meth:`rate_as_applicant`), not the clerk."""
        case = await self._store.run(load_case, self._store, case_id)
        if actor_for(account, case) is not Actor.WINDOW:
            raise CaseForbidden("forbidden", "好差评只能由受理窗口记录")
        await self._record(case_id, grade, comment, actor_label(account))

    async def rate_as_applicant(self, case_id: str, grade: int, comment: str | None) -> None:
        """The applicant's own rating, from the progress page (办件编号 + code checked by the
        caller); sent by the receiving window's side, which relays it."""
        await self._record(case_id, grade, comment, APPLICANT_LABEL)

    async def _record(self, case_id: str, grade: int, comment: str | None, label: str) -> None:
        if grade not in RATINGS:
            raise CaseInvalid("invalid", f"评价等级应为 1 至 5，实为 {grade!r}", "grade")
        lock = self._locks.setdefault(case_id, asyncio.Lock())
        async with lock:
            case = await self._store.run(load_case, self._store, case_id)
            if Status(case["status"]) not in CLOSED:
                raise TransitionRefused(
                    "out_of_order",
                    f"办件当前为“{Status(case['status']).label_zh}”，办结后方可评价",
                    "grade",
                )
            if case["rating"] is not None:
                raise TransitionRefused("already_rated", "该办件已评价，每件只能评价一次")
            now = self._clock()
            text = scrub(comment or "")[:200] or None
            note = f"{grade} {RATINGS[grade]}" + (f"：{text}" if text else "")
            sets = {"rating": grade, "rating_comment": text, "updated_at": stamp(now)}
            await self._exchanges.send_status(
                case, Actor.WINDOW, "rated", "completed", note, sets, now, label,
                status_after=Status(case["status"]),
            )  # fmt: skip
