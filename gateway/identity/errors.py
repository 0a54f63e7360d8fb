"""Errors raised by the identity package.

Hierarchy::

    IdentityError (ValueError)      malformed identity data or configuration
    ├── InvalidIdNumber             a personal document number failed a named check (GB 11643)
    ├── InvalidCreditCode           a unified social credit code failed a named check (GB 32100)
    └── AssertionRejected           a canonical identity assertion was refused; carries ``reason``

Messages are lowercase, name the failing check, and say expected vs got. They never contain a
full raw document number: numbers are masked before they reach a message.
"""

from __future__ import annotations

__all__ = [
    "REJECTION_REASONS",
    "AssertionRejected",
    "IdentityError",
    "InvalidCreditCode",
    "InvalidIdNumber",
]

#: Every value ``AssertionRejected.reason`` may take; callers branch on these, not on text.
REJECTION_REASONS: frozenset[str] = frozenset(
    {
        "bad_signature",
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "level_too_low",
        "invalid_id_number",
        "unknown_issuer",
        "malformed",
    }
)


class IdentityError(ValueError):
    """Root of every error the identity package raises on purpose."""


class InvalidIdNumber(IdentityError):
    """A resident ID number or other personal document number failed a named check."""


class InvalidCreditCode(IdentityError):
    """A unified social credit code (GB 32100-2015) failed a named check."""


class AssertionRejected(IdentityError):
    """An identity assertion was refused.

    ``reason`` is one of :data:`REJECTION_REASONS`; the message says which check failed.
    """

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REJECTION_REASONS:
            raise ValueError(f"unknown rejection reason: got {reason!r}")
        super().__init__(message)
        self.reason = reason

    def __reduce__(self):  # keep ``reason`` across pickling (multiprocessing, logging queues)
        return (type(self), (self.reason, str(self)))
