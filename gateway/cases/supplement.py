"""补正 (supplement): the handler returns a case naming what is missing; the window uploads it
and resubmits. Each of the two steps is one signed, logged ``case.status`` exchange.

The dialects carry five canonical statuses and none means 补正, so the request travels as
``in_progress`` with the note ``[supplement_requested] 请补正：<材料>…`` (handling province to
window) and the resubmission as ``received`` with ``[supplemented] 已补正：<材料>（SM3 …）``
(window to handling province), the way the other transitions name themselves in the note.

The time limit does not run during 补正 (``supplement_requested`` is not in ``OPEN``): the
resubmission counts what was left at the pause again from the day of resubmission
(``deadlines.resume_deadline``); a case returned before acceptance gets a new provisional
deadline from that day. Every round is kept (``supplements`` table) with the deadline before
and after it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from gateway.cases._clock import business_day, stamp
from gateway.cases.accounts import Account
from gateway.cases.deadlines import (
    Deadline,
    compute_deadline,
    log_provisional,
    resume_deadline,
)
from gateway.cases.errors import CaseForbidden, CaseInvalid, TransitionRefused
from gateway.cases.exchanges import CaseExchanges
from gateway.cases.lifecycle import actor_for, actor_label, check_step, load_case
from gateway.cases.materials import Materials
from gateway.cases.model import (
    CANONICAL_STATUS,
    SUPPLEMENTED,
    SUPPLEMENTED_CANONICAL,
    TRANSITIONS,
    Actor,
    Status,
)
from gateway.cases.store import CaseStore
from gateway.cases.submission import incomplete
from gateway.matters import Catalogue, TimeLimit
from gateway.ops.privacy import scrub
from gateway.workdays import WorkdayCalendar

__all__ = ["Supplements", "paused_on", "supplement_view"]


def paused_on(store: CaseStore, case: Mapping[str, Any]) -> date | None:
    """The day a case waiting for 补正 was returned (its clock stands still there)."""
    if case["status"] != Status.SUPPLEMENT_REQUESTED.value:
        return None
    rounds = store.supplements(case["case_id"])
    return date.fromisoformat(rounds[-1]["requested_on"]) if rounds else None


def supplement_view(store: CaseStore, account: Account, case: Mapping[str, Any]) -> dict:
    """The 补正 part of a case's detail: its rounds, the open one, and who may act."""
    rounds = store.supplements(case["case_id"])
    status = Status(case["status"])
    try:
        actor: Actor | None = actor_for(account, case)
    except CaseForbidden:
        actor = None
    waiting = status is Status.SUPPLEMENT_REQUESTED
    return {
        "supplements": rounds,
        "supplement_open": rounds[-1] if waiting and rounds else None,
        "can_request_supplement": actor is Actor.HANDLER
        and Status.SUPPLEMENT_REQUESTED in TRANSITIONS[status],
        "can_supplement": actor is Actor.WINDOW and waiting,
    }


class Supplements:
    """补正 rounds of the cases in ``store``; ``locks`` is shared with the other steps."""

    def __init__(
        self,
        store: CaseStore,
        exchanges: CaseExchanges,
        materials: Materials,
        catalogue: Catalogue,
        clock: Callable[[], datetime],
        calendar: Callable[[], WorkdayCalendar],
        locks: dict[str, asyncio.Lock],
    ) -> None:
        self._store = store
        self._exchanges = exchanges
        self._materials = materials
        self._catalogue = catalogue
        self._clock = clock
        self._calendar = calendar
        self._locks = locks

    async def request(
        self, account: Account, case_id: str, material_ids: Any, note: str | None
    ) -> None:
        """The handling province returns the case for 补正, naming the missing materials."""
        case = await self._store.run(load_case, self._store, case_id)
        if actor_for(account, case) is not Actor.HANDLER:
            raise CaseForbidden("wrong_actor", "退回补正由承办地办理", "materials")
        matter = self._catalogue.get(case["matter_code"], case["handling_region"])
        if not isinstance(material_ids, list) or not material_ids:
            raise CaseInvalid("invalid", "退回补正须写明所缺材料（至少一项）", "materials")
        items, seen = [], set()
        for n, mid in enumerate(material_ids):
            spec = matter.material(str(mid))
            if spec is None:
                raise CaseInvalid(
                    "unknown_material", f"{str(mid)[:32]!r} 不是本事项的材料", f"materials[{n}]"
                )
            if spec.material_id not in seen:
                seen.add(spec.material_id)
                items.append({"material_id": spec.material_id, "name": spec.name})
        clean = scrub(note or "")[:300] or None
        text = "请补正：" + "、".join(f"{i['name']}（{i['material_id']}）" for i in items)
        text += f"；{clean}" if clean else ""
        async with self._locks.setdefault(case_id, asyncio.Lock()):
            case = await self._store.run(load_case, self._store, case_id)
            target = Status.SUPPLEMENT_REQUESTED
            check_step(Status(case["status"]), target, Actor.HANDLER)
            now = self._clock()
            opened = {
                "from_status": case["status"],
                "requested_at": stamp(now),
                "requested_on": business_day(now).isoformat(),
                "items": items,
                "note": clean,
                "deadline_before": case["deadline"],
            }
            await self._exchanges.send_status(
                case, Actor.HANDLER, target.value, CANONICAL_STATUS[target], text,
                {"status": target.value, "updated_at": stamp(now)}, now, actor_label(account),
                status_after=target, extra={"supplement_open": opened},
            )  # fmt: skip

    async def resubmit(self, account: Account, case_id: str, items: Any, note: str | None) -> None:
        """The receiving window attaches every requested material and resubmits; the case
        returns to the status it was returned from, its clock running again."""
        case = await self._store.run(load_case, self._store, case_id)
        if actor_for(account, case) is not Actor.WINDOW:
            raise CaseForbidden("wrong_actor", "补正材料由受理窗口提交", "materials")
        async with self._locks.setdefault(case_id, asyncio.Lock()):
            case = await self._store.run(load_case, self._store, case_id)
            if case["status"] != Status.SUPPLEMENT_REQUESTED.value:
                raise TransitionRefused(
                    "out_of_order", "该办件不在待补正状态，无需提交补正材料", "materials"
                )
            rounds = await self._store.run(self._store.supplements, case_id)
            current = rounds[-1]
            matter = self._catalogue.get(case["matter_code"], case["handling_region"])
            given = await self._store.run(self._materials.resolve, account, items or [], matter)
            have = {m["material_id"] for m in given}
            missing = [
                spec
                for i in current["items"]
                if i["material_id"] not in have
                and (spec := matter.material(i["material_id"])) is not None
            ]
            if missing:
                raise incomplete(missing)
            now = self._clock()
            today = business_day(now)
            back = Status(current["from_status"])
            deadline = await self._store.run(self._deadline, case, back, today)
            log_provisional(case_id, deadline)
            sets = {
                "status": back.value,
                "updated_at": stamp(now),
                "deadline": deadline.day.isoformat(),
                "deadline_missing_years": deadline.stored_years(),
            }
            extra = {
                "supplement_close": {
                    "resumed_at": stamp(now),
                    "resumed_on": today.isoformat(),
                    "deadline_after": deadline.day.isoformat(),
                },
                "attach": [{k: m[k] for k in ("upload_id", "material_id", "name")} for m in given],
            }
            clean = scrub(note or "")[:200] or None
            text = "已补正：" + "、".join(
                f"{m['name']}（{m['material_id']}，SM3 {m['sm3']}）" for m in given
            )
            text += f"；{clean}" if clean else ""
            await self._exchanges.send_status(
                case, Actor.WINDOW, SUPPLEMENTED, SUPPLEMENTED_CANONICAL, text, sets, now,
                actor_label(account), status_after=back, extra=extra,
            )  # fmt: skip

    def _deadline(self, case: Mapping[str, Any], back: Status, today: date) -> Deadline:
        """Before acceptance: a new provisional deadline from today (the application is
        complete today). After: what the spans since acceptance left, counted from today."""
        limit = TimeLimit.from_dict(json.loads(case["promised_limit"]))
        calendar = self._calendar()
        if back is Status.SUBMITTED or not case["accepted_on"]:
            return compute_deadline(today, limit, calendar)
        running, start = [], date.fromisoformat(case["accepted_on"])
        for r in self._store.supplements(case["case_id"]):
            if r["from_status"] == Status.SUBMITTED.value:
                continue  # before acceptance: the limit had not started
            running.append((start, date.fromisoformat(r["requested_on"])))
            if r["resumed_on"] is None:
                break
            start = date.fromisoformat(r["resumed_on"])
        deadline = date.fromisoformat(case["deadline"])
        return resume_deadline(deadline, running, today, limit, calendar)
