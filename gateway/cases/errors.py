"""Errors raised by ``gateway.cases``.

Hierarchy::

    gateway.errors.Error
    └── CaseError                 a case operation was refused; nothing was written; its
        │                         ``code`` is a :class:`CaseCode`
        ├── CaseInvalid           bad input: unknown matter, invalid id number, bad mode ...
        ├── CaseNotFound          no such case, material, upload or exchange
        ├── CaseForbidden         the signed-in account may not do this (wrong city, role)
        ├── TransitionRefused     the transition is out of order for the case's status
        └── CaseUnavailable       the gateway cannot sign or log right now (no key, refusal)

Every error carries ``code`` (a :class:`CaseCode`, a ``StrEnum`` whose values are the stable
machine names the web API returns), ``field`` (the input at fault, or
``None``) and a Chinese message naming the check (staff read it; programs read ``code``;
``gateway.cases.chinese`` has the shared words). The HTTP layer maps classes to status
codes in one table (``gateway.web``).
"""

from __future__ import annotations

import enum

from gateway.errors import Error

__all__ = [
    "CaseCode",
    "CaseError",
    "CaseForbidden",
    "CaseInvalid",
    "CaseNotFound",
    "CaseUnavailable",
    "TransitionRefused",
]


class CaseCode(enum.StrEnum):
    """Which check refused a case operation (the ``code`` of a CaseError, on the web API)."""

    ALREADY_RATED = "already_rated"
    APPLICANT_CORRUPT = "applicant_corrupt"
    BAD_CREDENTIALS = "bad_credentials"
    BAD_KEY = "bad_key"
    CONFLICT = "conflict"
    EXCHANGE_REFUSED = "exchange_refused"
    EXISTS = "exists"
    FORBIDDEN = "forbidden"
    INVALID = "invalid"
    INVALID_ID_NUMBER = "invalid_id_number"
    INVALID_IDENTITY = "invalid_identity"
    INVALID_MODE = "invalid_mode"
    MATERIAL_CORRUPT = "material_corrupt"
    MATERIALS_INCOMPLETE = "materials_incomplete"
    NO_MEMBER = "no_member"
    NO_SIGNING_KEY = "no_signing_key"
    NOT_CROSS_REGION = "not_cross_region"
    NOT_EXPRESSIBLE = "not_expressible"
    NOT_FOUND = "not_found"
    OUT_OF_ORDER = "out_of_order"
    TOO_LARGE = "too_large"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    UNAUTHENTICATED = "unauthenticated"
    UNKNOWN_MATERIAL = "unknown_material"
    UNKNOWN_MATTER = "unknown_matter"
    UNKNOWN_UPLOAD = "unknown_upload"
    WRONG_ACTOR = "wrong_actor"
    WRONG_CITY = "wrong_city"
    WRONG_CODE = "wrong_code"  # the applicant progress page: 办件编号 + code do not match
    WRONG_REGION = "wrong_region"


class CaseError(Error):
    """A refused case operation; ``code`` and ``field`` say which check failed.

    ``code`` given as a string must be a :class:`CaseCode` value.
    """

    code: CaseCode

    def __init__(self, code: CaseCode | str, message: str, field: str | None = None) -> None:
        try:
            self.code = CaseCode(code)
        except ValueError:
            raise ValueError(f"unknown case error code {code!r}") from None
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        return {"code": str(self.code), "message": self.message, "field": self.field}


class CaseInvalid(CaseError):
    pass


class CaseNotFound(CaseError):
    pass


class CaseForbidden(CaseError):
    pass


class TransitionRefused(CaseError):
    pass


class CaseUnavailable(CaseError):
    pass
