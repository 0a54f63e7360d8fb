"""The cross-region case (办件): G60 windows, statuses, the lifecycle and its actors.

Lifecycle (every arrow is one signed, logged exchange)::

    submitted (申请) -> accepted (受理) -> transferred (流转) -> approved (审批通过)
                     |                                      |      -> certificate_issued (发证)
                     |                                      `-> denied (审批不予许可)
                     `-> refused (不予受理)
    certificate_issued | denied | refused -> archived (归档)

    submitted | accepted | transferred -> supplement_requested (退回补正) -> the status it left
                                                                        | refused (不予受理)

补正 (supplement): the handler names the missing materials; the window uploads them and
resubmits (``gateway.cases.supplement``), which returns the case to the status it was
returned from. The time limit does not run during 补正 (it is not in ``OPEN``).

``submitted`` and ``archived`` are the receiving window's acts (signed with its region's
member key); the rest are the handling province's (signed with that region's key). The
canonical ``case.status`` message has five statuses, so each transition travels as one of
them with the transition named at the start of its note (``[approved] ...``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from gateway.regions import NAMES as REGION_NAMES

__all__ = [
    "CANONICAL_STATUS",
    "CITIES",
    "CLOSED",
    "FINISHED",
    "OPEN",
    "RATINGS",
    "REGION_NAMES",
    "SUPPLEMENTED",
    "SUPPLEMENTED_CANONICAL",
    "TRANSITIONS",
    "Actor",
    "City",
    "Status",
]


class Status(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    TRANSFERRED = "transferred"
    APPROVED = "approved"
    DENIED = "denied"
    CERTIFICATE_ISSUED = "certificate_issued"
    ARCHIVED = "archived"
    SUPPLEMENT_REQUESTED = "supplement_requested"

    @property
    def label_zh(self) -> str:
        return _LABELS[self]


_LABELS = {
    Status.SUBMITTED: "已申请",
    Status.ACCEPTED: "已受理",
    Status.REFUSED: "不予受理",
    Status.TRANSFERRED: "已流转",
    Status.APPROVED: "审批通过",
    Status.DENIED: "审批不予许可",
    Status.CERTIFICATE_ISSUED: "已发证",
    Status.ARCHIVED: "已归档",
    Status.SUPPLEMENT_REQUESTED: "待补正",
}


class Actor(StrEnum):
    WINDOW = "window"  # the receiving G60 window
    HANDLER = "handler"  # the handling province


#: status -> {next status: who may take that step}
TRANSITIONS = MappingProxyType(
    {
        Status.SUBMITTED: {Status.ACCEPTED: Actor.HANDLER, Status.REFUSED: Actor.HANDLER,
                           Status.SUPPLEMENT_REQUESTED: Actor.HANDLER},
        Status.ACCEPTED: {Status.TRANSFERRED: Actor.HANDLER,
                          Status.SUPPLEMENT_REQUESTED: Actor.HANDLER},
        Status.TRANSFERRED: {Status.APPROVED: Actor.HANDLER, Status.DENIED: Actor.HANDLER,
                             Status.SUPPLEMENT_REQUESTED: Actor.HANDLER},
        Status.APPROVED: {Status.CERTIFICATE_ISSUED: Actor.HANDLER},
        Status.CERTIFICATE_ISSUED: {Status.ARCHIVED: Actor.WINDOW},
        Status.DENIED: {Status.ARCHIVED: Actor.WINDOW},
        Status.REFUSED: {Status.ARCHIVED: Actor.WINDOW},
        Status.ARCHIVED: {},
        # left by the window's resubmission (gateway.cases.supplement), or refused
        Status.SUPPLEMENT_REQUESTED: {Status.REFUSED: Actor.HANDLER},
    }
)  # fmt: skip

#: Statuses in which the time limit is running.
OPEN = frozenset({Status.SUBMITTED, Status.ACCEPTED, Status.TRANSFERRED, Status.APPROVED})
#: Statuses that end the handling (the completion date is set on entering one).
FINISHED = frozenset({Status.REFUSED, Status.DENIED, Status.CERTIFICATE_ISSUED})
#: Statuses in which the applicant may rate the service (好差评).
CLOSED = frozenset({*FINISHED, Status.ARCHIVED})

#: The canonical ``case.status`` status each transition travels as.
CANONICAL_STATUS = MappingProxyType(
    {
        Status.ACCEPTED: "accepted",
        Status.REFUSED: "rejected",
        Status.TRANSFERRED: "in_progress",
        Status.APPROVED: "in_progress",
        Status.DENIED: "rejected",
        Status.CERTIFICATE_ISSUED: "completed",
        Status.ARCHIVED: "completed",
        # the dialects have no 补正 status: the note names the transition
        Status.SUPPLEMENT_REQUESTED: "in_progress",
    }
)

#: The window's resubmission after 补正: a transition (not a status) and the canonical
#: ``case.status`` it travels as (the materials were received again).
SUPPLEMENTED = "supplemented"
SUPPLEMENTED_CANONICAL = "received"

#: 好差评 grades, 5 (very satisfied) to 1 (very dissatisfied).
RATINGS = MappingProxyType({5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"})


@dataclass(frozen=True)
class City:
    """A G60 corridor city with a special window, and the region it belongs to."""

    code: str
    name_zh: str
    region: str


CITIES = MappingProxyType(
    {
        c.code: c
        for c in (
            City("songjiang", "松江", "SH"),
            City("jiaxing", "嘉兴", "ZJ"),
            City("hangzhou", "杭州", "ZJ"),
            City("jinhua", "金华", "ZJ"),
            City("suzhou", "苏州", "JS"),
            City("huzhou", "湖州", "ZJ"),
            City("xuancheng", "宣城", "AH"),
            City("wuhu", "芜湖", "AH"),
            City("hefei", "合肥", "AH"),
        )
    }
)
