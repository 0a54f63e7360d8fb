"""Cross-region cases (跨省通办 办件) received at G60 windows and handled in another province.

Public names only; the modules are the implementation: ``service`` (the ``CaseService``
facade), ``submission``, ``lifecycle``, ``ratings``, ``exchanges``, ``answers``,
``materials``, ``views``, ``store``, ``accounts``, ``_signing`` and ``_clock``. See
``docs/cases.md``.
"""

from .accounts import Account, Accounts, Role, hash_password, verify_password
from .deadlines import Countdown, countdown, deadline_for
from .errors import (
    CaseError,
    CaseForbidden,
    CaseInvalid,
    CaseNotFound,
    CaseUnavailable,
    TransitionRefused,
)
from .model import (
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
from .service import BEIJING, CaseService

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
