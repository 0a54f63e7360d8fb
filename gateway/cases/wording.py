"""The words a window shows for a case: actions on buttons, states on badges, time left.

Staff at a window read a button as what it does (受理, 流转, 发证) and a badge as where the
case stands (已受理, 已流转, 已发证); one table for each keeps the two apart. A matter that
ends in no certificate or licence (公积金提取, 异地就医备案) is finished with 办结, not 发证.
A case refused (不予受理) or denied (不予许可) was not handled "on time": its outcome says
what happened instead. A promised limit of 0 is 即办 (handled on the spot), not "0 days".

Status values stay the machine codes of ``model.Status``; only the words change here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.cases.model import OPEN, Status

__all__ = [
    "action_label",
    "limit_label",
    "outcome",
    "state_class",
    "state_label",
    "time_state",
]

#: the button: what the step does
_ACTIONS = {
    Status.ACCEPTED.value: "受理",
    Status.REFUSED.value: "不予受理",
    Status.TRANSFERRED.value: "流转",
    Status.APPROVED.value: "审批通过",
    Status.DENIED.value: "不予许可",
    Status.ARCHIVED.value: "归档",
}

#: the badge: where the case stands (the rest: ``Status.label_zh``)
_STATES = {
    Status.SUBMITTED.value: "待受理",
    Status.DENIED.value: "不予许可",
}

#: one colour per class of state (style.css ``.badge.state-<class>``)
_CLASSES = {
    Status.SUBMITTED.value: "waiting",
    Status.ACCEPTED.value: "working",
    Status.TRANSFERRED.value: "working",
    Status.APPROVED.value: "working",
    Status.CERTIFICATE_ISSUED.value: "done",
    Status.REFUSED.value: "refused",
    Status.DENIED.value: "refused",
    Status.ARCHIVED.value: "archived",
}

#: closing statuses that are not a handling "on time" or "late"
_NOT_HANDLED = {
    Status.REFUSED.value: ("refused", "不予受理"),
    Status.DENIED.value: ("denied", "不予许可"),
}


def action_label(to: str, issues_licence: bool) -> str:
    """The button that takes a case to ``to``: 发证 or 办结 per matter for the last step."""
    if to == Status.CERTIFICATE_ISSUED.value:
        return "发证" if issues_licence else "办结"
    return _ACTIONS.get(to) or _fallback(to)


def state_label(status: str, issues_licence: bool) -> str:
    """The badge of a case in ``status``."""
    if status == Status.CERTIFICATE_ISSUED.value:
        return "已发证" if issues_licence else "已办结"
    return _STATES.get(status) or _fallback(status)


def state_class(status: str) -> str:
    """The colour class of ``status``: waiting, working, done, refused, archived (or other)."""
    return _CLASSES.get(status, "other")


def limit_label(limit: Mapping[str, Any]) -> str:
    """A promised limit as a window says it: 即办, 3 个工作日, 30 个自然日."""
    if not limit.get("value"):
        return "即办"
    unit = "工作日" if limit.get("unit") == "working_days" else "自然日"
    return f"{limit['value']} 个{unit}"


def time_state(
    status: str, countdown: Mapping[str, Any], instant: bool, warning_workdays: int
) -> tuple[str, str]:
    """(class, words) of the time left on an open case: ``normal``, ``warning`` (at most
    ``warning_workdays`` working days left) or ``overdue``; a closed case is ``closed``."""
    left = countdown["working_days_left"]
    if _is_open(status):
        if countdown["overdue"]:  # a weekend after the deadline day: late, 0 working days
            return "overdue", f"已逾期 {-left} 个工作日" if left < 0 else "已逾期"
        if left == 0:
            return "warning", "即办，今日办结" if instant else "今日到期"
        cls = "warning" if left <= warning_workdays else "normal"
        return cls, f"剩余 {left} 个工作日"
    return "closed", "已办结"


def outcome(
    status: str, finished_status: str | None, countdown: Mapping[str, Any]
) -> dict[str, str] | None:
    """How a closed case ended: ``on_time``/``late`` for a handled one, ``refused`` or
    ``denied`` otherwise (never counted as 按时办结); None while it is open."""
    if _is_open(status):
        return None
    ended = finished_status or status
    if ended in _NOT_HANDLED:
        code, label = _NOT_HANDLED[ended]
        return {"code": code, "label": label}
    if countdown["overdue"]:
        return {"code": "late", "label": "逾期办结"}
    return {"code": "on_time", "label": "按时办结"}


def _is_open(status: str) -> bool:
    return status in {s.value for s in OPEN}


def _fallback(status: str) -> str:
    """A status this table does not know yet (added elsewhere): its model label, or itself."""
    try:
        return Status(status).label_zh
    except ValueError:
        return status
