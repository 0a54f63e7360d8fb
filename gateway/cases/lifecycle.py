"""Lifecycle rules of a case: who may act on it, which step may follow which, what a step sets.

The table itself is ``model.TRANSITIONS``; this module applies it to an account and a case,
so that the window, the handler and the answer watcher are held to the same checks.
``Transitions`` takes a step: the checks run again under the case's lock (a concurrent step
may have moved the case), then the step goes out as one ``case.status`` exchange.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gateway.cases._clock import business_day, stamp
from gateway.cases.accounts import Account, Role
from gateway.cases.chinese import ROLES_ZH, city_zh, region_zh
from gateway.cases.deadlines import compute_deadline, log_provisional
from gateway.cases.errors import CaseForbidden, CaseInvalid, CaseNotFound, TransitionRefused
from gateway.cases.model import (
    CANONICAL_STATUS,
    CITIES,
    FINISHED,
    REGION_NAMES,
    TRANSITIONS,
    Actor,
    Status,
)
from gateway.cases.store import CaseStore
from gateway.matters import TimeLimit
from gateway.ops.privacy import scrub
from gateway.regions import Region
from gateway.workdays import WorkdayCalendar

if TYPE_CHECKING:
    from gateway.cases.exchanges import CaseExchanges

__all__ = [
    "DEADLINE_RECOMPUTED",
    "Transitions",
    "actor_for",
    "actor_label",
    "check_step",
    "load_case",
    "may_read",
    "next_steps",
    "parse_status",
    "require",
    "step_sets",
    "transition_label",
]


DEADLINE_RECOMPUTED = "deadline_recomputed"  # a system event: a newly loaded calendar


_ACTORS_ZH = {Actor.WINDOW: "受理窗口", Actor.HANDLER: "承办地"}


def load_case(store: CaseStore, case_id: str) -> dict[str, Any]:
    """The case row; :class:`CaseNotFound` if there is none."""
    case = store.case(case_id)
    if case is None:
        raise CaseNotFound("not_found", f"找不到办件 {case_id[:40]}")
    return case


def require(account: Account, role: Role) -> None:
    if account.role is not role:
        raise CaseForbidden(
            "forbidden",
            f"此操作需要{ROLES_ZH[role.value]}账号，当前为{ROLES_ZH[account.role.value]}",
        )


def may_read(account: Account, case: Mapping[str, Any]) -> None:
    """A handler reads only the cases of its own province; clerks and auditors read all."""
    if account.role is Role.HANDLER and account.region != case["handling_region"]:
        raise CaseForbidden(
            "forbidden", f"该办件由{region_zh(case['handling_region'])}承办，"
            f"本账号承办{region_zh(account.region)}的办件",
        )  # fmt: skip


def actor_for(account: Account, case: Mapping[str, Any]) -> Actor:
    """The side ``account`` acts for on ``case``: its receiving window or its handler."""
    if account.role is Role.CLERK:
        if account.city != case["receiving_city"]:
            raise CaseForbidden(
                "wrong_city",
                f"该办件由{city_zh(case['receiving_city'])}窗口受理，"
                f"本账号属于{city_zh(account.city)}窗口",
            )
        return Actor.WINDOW
    if account.role is Role.HANDLER:
        if account.region != case["handling_region"]:
            raise CaseForbidden(
                "wrong_region",
                f"该办件由{region_zh(case['handling_region'])}承办，"
                f"本账号承办{region_zh(account.region)}的办件",
            )
        return Actor.HANDLER
    raise CaseForbidden("forbidden", f"{ROLES_ZH[account.role.value]}账号不能办理办件")


def actor_label(account: Account) -> str:
    """Who took a step, as the timeline shows it."""
    if account.role is Role.CLERK:
        assert account.city is not None  # Accounts.create requires a clerk's city
        return f"{CITIES[account.city].name_zh}窗口 {account.display_name}"
    assert account.region is not None  # and a handler's region
    return f"{REGION_NAMES[Region(account.region)]}承办 {account.display_name}"


def next_steps(account: Account, case: Mapping[str, Any]) -> list[dict[str, str]]:
    """The steps ``account`` may take next on ``case`` (none if it may not act on it)."""
    try:
        actor = actor_for(account, case)
    except CaseForbidden:
        return []
    return [
        {"to": s.value, "label": s.label_zh}
        for s, who in TRANSITIONS[Status(case["status"])].items()
        if who is actor and s is not Status.SUPPLEMENT_REQUESTED  # its own form: what is missing
    ]


def transition_label(transition: str) -> str:
    if transition == "rated":
        return "好差评"
    if transition == DEADLINE_RECOMPUTED:
        return "办结时限重新计算"
    if transition in _SUPPLEMENT_LABELS:
        return _SUPPLEMENT_LABELS[transition]
    try:
        return Status(transition).label_zh
    except ValueError:
        return transition


_SUPPLEMENT_LABELS = {"supplement_requested": "退回补正", "supplemented": "已补正"}


def parse_status(to: str) -> Status:
    try:
        return Status(to)
    except ValueError:
        raise CaseInvalid(
            "invalid", f"未知的办件状态 {to[:20]!r}，可选："
            f"{'、'.join(f'{s.value}（{s.label_zh}）' for s in Status)}", "to",
        ) from None  # fmt: skip


def check_step(current: Status, target: Status, actor: Actor) -> None:
    """``target`` is a next step from ``current`` and is taken by ``actor``."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        expected = "、".join(s.label_zh for s in allowed) or "无（办件已归档）"
        raise TransitionRefused(
            "out_of_order",
            f"办件当前为“{current.label_zh}”，不能转为“{target.label_zh}”；下一步可为：{expected}",
            "to",
        )
    if allowed[target] is not actor:
        raise CaseForbidden(
            "wrong_actor",
            f"“{current.label_zh}”转为“{target.label_zh}”由{_ACTORS_ZH[allowed[target]]}办理，"
            f"不由{_ACTORS_ZH[actor]}办理",
            "to",
        )


def step_sets(
    case: Mapping[str, Any], target: Status, now: datetime, calendar: WorkdayCalendar
) -> dict[str, Any]:
    """The columns a step to ``target`` at ``now`` sets. Acceptance fixes the deadline: the
    promised time limit counts from the day of acceptance, not of submission."""
    today = business_day(now)
    sets: dict[str, Any] = {"status": target.value, "updated_at": stamp(now)}
    if target is Status.ACCEPTED:
        limit = TimeLimit.from_dict(json.loads(case["promised_limit"]))
        sets["accepted_on"] = today.isoformat()
        deadline = compute_deadline(today, limit, calendar)
        log_provisional(case["case_id"], deadline)
        sets["deadline"] = deadline.day.isoformat()
        sets["deadline_missing_years"] = deadline.stored_years()
    if target in FINISHED:
        sets["finished_on"] = today.isoformat()
    return sets


class Transitions:
    """Steps of cases. ``locks`` (by case id) is shared with whatever else changes a case;
    ``calendar`` gives the calendar in use."""

    def __init__(
        self,
        store: CaseStore,
        exchanges: CaseExchanges,
        clock: Callable[[], datetime],
        calendar: Callable[[], WorkdayCalendar],
        locks: dict[str, asyncio.Lock],
    ) -> None:
        self._store = store
        self._exchanges = exchanges
        self._clock = clock
        self._calendar = calendar
        self._locks = locks

    async def take(self, account: Account, case_id: str, to: str, note: str | None) -> None:
        """``account`` takes the step ``to`` (handler: accept ... issue; window: archive)."""
        target = parse_status(to)
        if target is Status.SUPPLEMENT_REQUESTED:
            raise CaseInvalid(
                "invalid",
                "退回补正须写明所缺材料：请用 POST /api/cases/{id}/supplement-request",
                "to",
            )
        case = await self._store.run(load_case, self._store, case_id)
        actor = actor_for(account, case)
        await self.step(case_id, target, actor, note, actor_label(account))

    async def step(
        self, case_id: str, target: Status, actor: Actor, note: str | None, label: str
    ) -> None:
        """Move the case to ``target`` for ``actor``, shown on the timeline as ``label``."""
        lock = self._locks.setdefault(case_id, asyncio.Lock())
        async with lock:
            case = await self._store.run(load_case, self._store, case_id)
            check_step(Status(case["status"]), target, actor)
            now = self._clock()
            sets = step_sets(case, target, now, self._calendar())
            clean = scrub(note or "")[:500] or None
            await self._exchanges.send_status(
                case, actor, target.value, CANONICAL_STATUS[target], clean, sets, now, label,
                status_after=target,
            )  # fmt: skip
