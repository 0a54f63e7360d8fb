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
from gateway.cases.model import CITIES, CLOSED, FINISHED, OPEN, RATINGS, REGION_NAMES, Status
from gateway.cases.store import CASE_SELECT, CaseStore
from gateway.cases.supplement import paused_on, supplement_view
from gateway.cases.wording import (
    action_label,
    limit_label,
    outcome,
    state_class,
    state_label,
    time_state,
)
from gateway.matters import REGIONS
from gateway.workdays import WorkdayCalendar

__all__ = ["CaseViews"]

_EXCHANGE_FIELDS = ("exchange_id", "kind", "sender", "recipient", "leaf_index", "tree_size")
_DUE = ("overdue", "warning", "normal")  # the time filter of the list
_MAX_PAGE_SIZE = 100


class CaseViews:
    """Reads of the cases in ``store``; ``clock`` and ``calendar`` (the calendar in use) give
    the countdowns; ``issues_licence`` (by matter code) picks 发证 or 办结, and an open case
    with at most ``warning_workdays`` working days left is shown as a warning."""

    def __init__(
        self,
        store: CaseStore,
        clock: Callable[[], datetime],
        calendar: Callable[[], WorkdayCalendar],
        issues_licence: Callable[[str], bool] = lambda code: False,
        warning_workdays: int = 1,
    ) -> None:
        self._store = store
        self._clock = clock
        self._calendar = calendar
        self._issues_licence = issues_licence
        self._warning = warning_workdays

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
        rows, _ = self.search(
            account, status=status, city=city, province=province, overdue=overdue, size=limit
        )
        return rows

    def search(
        self,
        account: Account,
        *,
        status: str | None = None,
        city: str | None = None,
        province: str | None = None,
        overdue: bool | None = None,
        q: str | None = None,
        number: str | None = None,
        matter: str | None = None,
        applicant: str | None = None,
        due: str | None = None,
        page: int = 1,
        size: int = 200,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of summaries, newest first, and how many match in all. ``q`` matches the
        办件编号, the matter (code or name) or the masked applicant name; ``due`` is
        ``overdue``/``warning``/``normal`` among open cases."""
        if page < 1:
            raise CaseInvalid("invalid", "页码须为不小于 1 的整数", "page")
        sql = " FROM cases WHERE 1=1"
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
        today = business_day(self._clock())
        open_ = ",".join(f"'{s.value}'" for s in OPEN)
        if overdue is not None:
            cond = (
                f"((status IN ({open_}) AND deadline < ?)"
                " OR (finished_on IS NOT NULL AND finished_on > deadline))"
            )
            sql += f" AND {'' if overdue else 'NOT '}{cond}"
            params.append(today.isoformat())
        for text, columns, field in (
            (q, ("number", "matter_code", "matter_name", "applicant_name_masked"), "q"),
            (number, ("number",), "number"),
            (matter, ("matter_code", "matter_name"), "matter"),
            (applicant, ("applicant_name_masked",), "applicant"),
        ):
            if text is None or not text.strip():
                continue
            if len(text) > 100:
                raise CaseInvalid("invalid", "检索内容不能超过 100 个字符", field)
            like = "%" + _like_escape(text.strip()) + "%"
            # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not
            match = "lower({}) LIKE lower(?) ESCAPE '\\'"
            sql += " AND (" + " OR ".join(match.format(c) for c in columns) + ")"
            params.extend([like] * len(columns))
        if due:
            if due not in _DUE:
                raise CaseInvalid(
                    "invalid", f"未知的时限筛选 {due!r}，可选：overdue、warning、normal", "due"
                )
            # warning: at most N working days left, i.e. before the (N+1)-th working day
            cutoff = self._calendar().add_working_days(today, self._warning + 1).isoformat()
            sql += (
                f" AND status IN ({open_}) AND "
                + {
                    "overdue": "deadline < ?",
                    "warning": "deadline >= ? AND deadline < ?",
                    "normal": "deadline >= ?",
                }[due]
            )
            params.extend(
                {"overdue": [today.isoformat()], "warning": [today.isoformat(), cutoff],
                 "normal": [cutoff]}[due]
            )  # fmt: skip
        total = int(self._store.query("SELECT COUNT(*)" + sql, params)[0][0])
        size = max(1, min(size, 1000))
        rows = self._store.query(
            # newest first; cases submitted in the same second in the order they came
            f"SELECT {CASE_SELECT}" + sql + " ORDER BY submitted_at DESC, rowid DESC"
            " LIMIT ? OFFSET ?",
            [*params, size, (page - 1) * size],
        )
        return [self.summary(dict(r)) for r in rows], total

    def detail(self, account: Account, case_id: str) -> dict[str, Any]:
        """The summary with the timeline, the materials and what ``account`` may do next."""
        case = load_case(self._store, case_id)
        may_read(account, case)
        out = self.summary(case)
        out["timeline"] = self._timeline(case_id, self._issues_licence(case["matter_code"]))
        out["materials"] = self._store.materials(case_id)
        licence = self._issues_licence(case["matter_code"])
        out["next"] = [
            dict(n, label=action_label(n["to"], licence), state_label=state_label(n["to"], licence))
            for n in next_steps(account, case)
        ]
        out.update(supplement_view(self._store, account, case))
        out["can_rate"] = (
            account.role is Role.CLERK
            and account.city == case["receiving_city"]
            and Status(case["status"]) in CLOSED
            and case["rating"] is None
        )
        return out

    def _timeline(self, case_id: str, licence: bool = False) -> list[dict[str, Any]]:
        """The case's exchanges, with the system events (no exchange) merged in by time."""
        timeline = [
            {
                "seq": e["seq"],
                "transition": e["transition"],
                "label": _event_label(e["transition"], licence),
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
        system += self._accesses(case_id)
        # merged by time; a system event follows the exchanges of its second
        return sorted(timeline + system, key=lambda e: e["at"]) if system else timeline

    def _accesses(self, case_id: str) -> list[dict[str, Any]]:
        """Each opening of a sealed item (material, applicant) as a timeline entry: who, when,
        which item; never its content."""
        return [
            {
                "seq": None,
                "system": True,
                "transition": "accessed",
                "label": "查阅",
                "status_after": None,
                "at": a["at"],
                "actor": a["actor"],
                "note": f"查阅{a['item_label']}",
                **dict.fromkeys(_EXCHANGE_FIELDS),
                "detail": {"item": a["item"], "username": a["username"]},
            }
            for a in self._store.accesses(case_id)
        ]

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
        paused = paused_on(self._store, case)  # 补正: the countdown stands still at the pause
        if paused is not None:
            finished = paused
        elif status not in OPEN and finished is None:
            finished = deadline  # archived without finishing date: never overdue
        city = CITIES[case["receiving_city"]]
        licence = self._issues_licence(case["matter_code"])
        limit = json.loads(case["promised_limit"])
        instant = not limit.get("value")
        left = countdown(
            deadline,
            business_day(self._clock()),
            self._calendar(),
            finished_on=finished,
            missing_years=parse_years(case["deadline_missing_years"]),
        ).to_dict()
        time_class, time_words = time_state(status.value, left, instant, self._warning)
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
            "status_label": state_label(status.value, licence),
            "status_class": state_class(status.value),
            "issues_licence": licence,
            "applicant": {
                "name": case["applicant_name_masked"],
                "id_number": case["applicant_id_masked"],
                "person_key": case["applicant_person_key"],
                "level": case["applicant_level"],
            },
            "promised_limit": limit,
            "promised_label": limit_label(limit),
            "instant": instant,
            "submitted_at": case["submitted_at"],
            "accepted_on": case["accepted_on"],
            "finished_on": case["finished_on"],
            "deadline_provisional": case["accepted_on"] is None,
            "countdown": left | {"paused": paused is not None},
            "time_class": time_class,
            "time_label": time_words,
            "outcome": outcome(status.value, self._finished_status(case), left),
            "rating": case["rating"],
            "rating_label": RATINGS.get(case["rating"]) if case["rating"] else None,
            "rating_comment": case["rating_comment"],
            "clerk": case["clerk"],
            "updated_at": case["updated_at"],
        }

    def _finished_status(self, case: dict[str, Any]) -> str | None:
        """The status that ended an archived case (refused, denied or issued); else None."""
        if case["status"] != Status.ARCHIVED.value:
            return None
        ends = sorted(s.value for s in FINISHED)
        rows = self._store.query(
            "SELECT status_after FROM events WHERE case_id = ? AND status_after IN (?, ?, ?)"
            " ORDER BY seq DESC LIMIT 1",
            [case["case_id"], *ends],
        )
        return str(rows[0][0]) if rows else None


def _event_label(transition: str, licence: bool) -> str:
    """A timeline entry: a finished matter without a certificate reads 已办结, not 已发证."""
    if transition == Status.CERTIFICATE_ISSUED.value:
        return state_label(transition, licence)
    return transition_label(transition)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
