"""What accounts read: the filtered case list, one case with its timeline, and receipts.

Reads never write or sign. The countdown is derived from the working-day calendar at read
time, so a stored deadline never has to be rewritten as days pass; applicants appear only in
their masked forms and by person key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from gateway.cases._clock import business_day
from gateway.cases.accounts import Account, Role
from gateway.cases.deadlines import countdown, parse_years
from gateway.cases.errors import CaseInvalid, CaseNotFound
from gateway.cases.lifecycle import load_case, may_read, next_steps, transition_label
from gateway.cases.model import CITIES, CLOSED, OPEN, RATINGS, REGION_NAMES, Status
from gateway.cases.store import CaseStore
from gateway.matters import REGIONS
from gateway.workdays import WorkdayCalendar

__all__ = ["CaseViews"]

_EXCHANGE_FIELDS = ("exchange_id", "kind", "sender", "recipient", "leaf_index", "tree_size")


class CaseViews:
    """Reads of the cases in ``store``; ``clock`` and ``calendar`` (the calendar in use) give
    the countdowns."""

    def __init__(
        self,
        store: CaseStore,
        clock: Callable[[], datetime],
        calendar: Callable[[], WorkdayCalendar],
    ) -> None:
        self._store = store
        self._clock = clock
        self._calendar = calendar

    def cases(
        self,
        account: Account,
        *,
        status: str | None = None,
        city: str | None = None,
        province: str | None = None,
        overdue: bool | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Summaries, newest first; a handler sees only its own province's cases."""
        sql = "SELECT * FROM cases WHERE 1=1"
        params: list[str | int | None] = []
        if account.role is Role.HANDLER:
            sql += " AND handling_region = ?"
            params.append(account.region)
        if status:
            if status not in {s.value for s in Status}:
                raise CaseInvalid("invalid", f"未知的状态筛选 {status[:20]!r}", "status")
            sql += " AND status = ?"
            params.append(status)
        if city:
            if city not in CITIES:
                raise CaseInvalid("invalid", f"不是 G60 城市：{city[:20]!r}", "city")
            sql += " AND receiving_city = ?"
            params.append(city)
        if province:
            if province not in REGIONS:
                raise CaseInvalid("invalid", f"未知的承办省份 {province[:20]!r}", "province")
            sql += " AND handling_region = ?"
            params.append(province)
        if overdue is not None:
            today = business_day(self._clock()).isoformat()
            open_ = ",".join(f"'{s.value}'" for s in OPEN)
            cond = (
                f"((status IN ({open_}) AND deadline < ?)"
                " OR (finished_on IS NOT NULL AND finished_on > deadline))"
            )
            sql += f" AND {'' if overdue else 'NOT '}{cond}"
            params.append(today)
        sql += " ORDER BY submitted_at DESC, case_id LIMIT ?"
        params.append(max(1, min(limit, 1000)))
        return [self.summary(dict(r)) for r in self._store.query(sql, params)]

    def detail(self, account: Account, case_id: str) -> dict[str, Any]:
        """The summary with the timeline, the materials and what ``account`` may do next."""
        case = load_case(self._store, case_id)
        may_read(account, case)
        out = self.summary(case)
        out["timeline"] = self._timeline(case_id)
        out["materials"] = self._store.materials(case_id)
        out["next"] = next_steps(account, case)
        out["can_rate"] = (
            account.role is Role.CLERK
            and account.city == case["receiving_city"]
            and Status(case["status"]) in CLOSED
            and case["rating"] is None
        )
        return out

    def _timeline(self, case_id: str) -> list[dict[str, Any]]:
        """The case's exchanges, with the system events (no exchange) merged in by time."""
        timeline = [
            {
                "seq": e["seq"],
                "transition": e["transition"],
                "label": transition_label(e["transition"]),
                "status_after": e["status_after"],
                "at": e["at"],
                "actor": e["actor"],
                "note": e["note"],
                "exchange_id": e["exchange_id"],
                "kind": e["kind"],
                "sender": e["sender"],
                "recipient": e["recipient"],
                "leaf_index": e["leaf_index"],
                "tree_size": e["tree_size"],
                "system": False,
            }
            for e in self._store.events(case_id)
        ]
        system = [
            {
                "seq": None,
                "system": True,
                "transition": e["transition"],
                "label": transition_label(e["transition"]),
                "status_after": None,
                "at": e["at"],
                "actor": e["actor"],
                "note": e["note"],
                **dict.fromkeys(_EXCHANGE_FIELDS),  # no exchange: the gateway's own change
                "detail": e["detail"],
            }
            for e in self._store.system_events(case_id)
        ]
        # merged by time; a system event follows the exchanges of its second
        return sorted(timeline + system, key=lambda e: e["at"]) if system else timeline

    def receipt(self, exchange_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(event, receipt) of one exchange of a case."""
        event = self._store.event_by_exchange(exchange_id)
        if event is None:
            raise CaseNotFound("not_found", f"找不到办件交换 {exchange_id[:40]}")
        return event, json.loads(event["receipt"])

    def events(self, case_id: str) -> list[dict[str, Any]]:
        load_case(self._store, case_id)
        return self._store.events(case_id)

    def summary(self, case: dict[str, Any]) -> dict[str, Any]:
        status = Status(case["status"])
        deadline = date.fromisoformat(case["deadline"])
        finished = date.fromisoformat(case["finished_on"]) if case["finished_on"] else None
        if status not in OPEN and finished is None:
            finished = deadline  # archived without finishing date: never overdue
        city = CITIES[case["receiving_city"]]
        return {
            "case_id": case["case_id"],
            "number": case["number"],
            "receiving_city": city.code,
            "receiving_city_name": city.name_zh,
            "window_region": case["window_region"],
            "handling_region": case["handling_region"],
            "handling_region_name": REGION_NAMES[case["handling_region"]],
            "matter_code": case["matter_code"],
            "matter_name": case["matter_name"],
            "handling_mode": case["handling_mode"],
            "status": status.value,
            "status_label": status.label_zh,
            "applicant": {
                "name": case["applicant_name_masked"],
                "id_number": case["applicant_id_masked"],
                "person_key": case["applicant_person_key"],
                "level": case["applicant_level"],
            },
            "promised_limit": json.loads(case["promised_limit"]),
            "submitted_at": case["submitted_at"],
            "accepted_on": case["accepted_on"],
            "finished_on": case["finished_on"],
            "deadline_provisional": case["accepted_on"] is None,
            "countdown": countdown(
                deadline,
                business_day(self._clock()),
                self._calendar(),
                finished_on=finished,
                missing_years=parse_years(case["deadline_missing_years"]),
            ).to_dict(),
            "rating": case["rating"],
            "rating_label": RATINGS.get(case["rating"]) if case["rating"] else None,
            "rating_comment": case["rating_comment"],
            "clerk": case["clerk"],
            "updated_at": case["updated_at"],
        }
