"""Cross-region cases (跨省通办 办件) received at G60 windows and handled in another province.

Public names only; the modules are the implementation: ``service`` (the ``CaseService``
facade), ``submission``, ``lifecycle``, ``ratings``, ``exchanges``, ``answers``,
``materials``, ``views``, ``store``, ``accounts``, ``_signing`` and ``_clock``. See
``docs/cases.md``.
"""

from gateway.cases.accounts import Account, Accounts, Role, hash_password, verify_password
from gateway.cases.deadlines import Countdown, countdown, deadline_for
from gateway.cases.errors import (
    CaseError,
    CaseForbidden,
    CaseInvalid,
    CaseNotFound,
    CaseUnavailable,
    TransitionRefused,
)
from gateway.cases.model import (
    CANONICAL_STATUS,
    CITIES,
    CLOSED,
    FINISHED,
    OPEN,
    RATINGS,
    REGION_NAMES,
    TRANSITIONS,
    Actor,
    City,
    Status,
)
from gateway.cases.service import BEIJING, CaseService

__all__ = [
    "BEIJING",
    "CANONICAL_STATUS",
    "CITIES",
    "CLOSED",
    "FINISHED",
    "OPEN",
    "RATINGS",
    "REGION_NAMES",
    "TRANSITIONS",
    "Account",
    "Accounts",
    "Actor",
    "CaseError",
    "CaseForbidden",
    "CaseInvalid",
    "CaseNotFound",
    "CaseService",
    "CaseUnavailable",
    "City",
    "Countdown",
    "Role",
    "Status",
    "TransitionRefused",
    "countdown",
    "deadline_for",
    "hash_password",
    "verify_password",
]
