"""Errors raised by the identity package.

Hierarchy (``code`` is each error's machine code)::

    gateway.errors.Error
    └── IdentityError (ValueError)   IdentityCode.INVALID      malformed identity data or
        │                                                      configuration
        ├── InvalidIdNumber          IdentityCode.ID_NUMBER    a personal document number
        │                                                      failed a named check (GB 11643)
        ├── InvalidCreditCode        IdentityCode.CREDIT_CODE  a unified social credit code
        │                                                      failed a named check (GB 32100)
        └── AssertionRejected        RejectionReason.*         a canonical identity assertion
                                                               was refused (``reason``)

Messages are lowercase, name the failing check, and say expected vs got. They never contain a
full raw document number: numbers are masked before they reach a message. Callers branch on
``code`` / ``reason``, never on the text.
"""

from __future__ import annotations

import enum
from typing import Any

from gateway.errors import Error

__all__ = [
    "REJECTION_REASONS",
    "AssertionRejected",
    "IdentityCode",
    "IdentityError",
    "InvalidCreditCode",
    "InvalidIdNumber",
    "RejectionReason",
]


class IdentityCode(enum.StrEnum):
    """The machine code of an identity error that is not an assertion rejection."""

    INVALID = "invalid_identity"
    ID_NUMBER = "invalid_id_number"
    CREDIT_CODE = "invalid_credit_code"


class RejectionReason(enum.StrEnum):
    """Why an identity assertion was refused (the ``reason`` and ``code`` of AssertionRejected);
    each value is also a refusal reason on the wire (``gateway.errors.Reason``)."""

    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_AUDIENCE = "wrong_audience"
    LEVEL_TOO_LOW = "level_too_low"
    INVALID_ID_NUMBER = "invalid_id_number"
    UNKNOWN_ISSUER = "unknown_issuer"
    MALFORMED = "malformed"
    REPLAY = "replay"  # this assertion (issuer, id) was already presented
    REVOKED = "revoked"  # the assertion or the provider key is on the revocation list
    WRONG_SUBJECT_KIND = "wrong_subject_kind"  # natural vs legal person, per the matter


#: Every value ``AssertionRejected.reason`` may take; callers branch on these, not on text.
REJECTION_REASONS: frozenset[str] = frozenset(RejectionReason)


class IdentityError(Error, ValueError):
    """Root of every error the identity package raises on purpose."""

    code: enum.Enum = IdentityCode.INVALID


class InvalidIdNumber(IdentityError):
    """A resident ID number or other personal document number failed a named check."""

    code = IdentityCode.ID_NUMBER


class InvalidCreditCode(IdentityError):
    """A unified social credit code (GB 32100-2015) failed a named check."""

    code = IdentityCode.CREDIT_CODE


class AssertionRejected(IdentityError):
    """An identity assertion was refused.

    ``reason`` (also ``code``) is a :class:`RejectionReason`; the message says which check
    failed. A reason given as a string must be one of its values.
    """

    code: RejectionReason

    def __init__(self, reason: RejectionReason | str, message: str) -> None:
        try:
            code = RejectionReason(reason)
        except ValueError:
            raise ValueError(f"unknown rejection reason: got {reason!r}") from None
        super().__init__(message)
        self.code = code

    @property
    def reason(self) -> RejectionReason:
        return self.code

    def __reduce__(self) -> tuple[Any, ...]:  # keep ``reason`` across pickling
        return (type(self), (self.code, str(self)))
