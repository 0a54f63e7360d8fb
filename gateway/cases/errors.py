"""Errors raised by ``gateway.cases``.

Hierarchy::

    gateway.errors.Error
    └── CaseError                 a case operation was refused; nothing was written
        ├── CaseInvalid           bad input: unknown matter, invalid id number, bad mode ...
        ├── CaseNotFound          no such case, material, upload or exchange
        ├── CaseForbidden         the signed-in account may not do this (wrong city, role)
        ├── TransitionRefused     the transition is out of order for the case's status
        └── CaseUnavailable       the gateway cannot sign or log right now (no key, refusal)

Every error carries ``code`` (a stable machine name), ``field`` (the input at fault, or
``None``) and a lowercase message naming the check. The HTTP layer maps classes to status
codes in one table (``gateway.web``).
"""

from __future__ import annotations

from gateway.errors import Error

__all__ = [
    "CaseError",
    "CaseForbidden",
    "CaseInvalid",
    "CaseNotFound",
    "CaseUnavailable",
    "TransitionRefused",
]


class CaseError(Error):
    """A refused case operation; ``code`` and ``field`` say which check failed."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


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
