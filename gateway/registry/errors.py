"""Errors raised by the trust registry.

Hierarchy::

    RegistryError
    ├── RegistryFormatError (ValueError)   a field is missing, malformed or inconsistent
    ├── RegistryTrustError                 the document is not signed by a trusted key
    │   ├── RegistryUnsignedError          no signature at all
    │   ├── RegistryUntrustedKeyError      signed by (or naming) a key we do not trust
    │   └── RegistrySignatureError         the signature does not verify (tampered, corrupt)
    ├── RegistryValidityError              outside [issued_at, expires_at)
    │   ├── RegistryExpired
    │   │   └── RegistryExpiredRefusal     also a gateway Refusal: past the grace period
    │   └── RegistryNotYetValid
    ├── RegistryRollbackError              a reload would go back to an older serial
    ├── RegistrySourceError                the registry file could not be read
    └── RegistryLookupError (LookupError)  an unknown member or key, or a key not valid then

Messages are lowercase, name the failed check, and say expected vs got. The root will be
re-parented under ``gateway.errors.Error`` once that module exists.
"""

from __future__ import annotations

from datetime import datetime

from gateway.errors import Refusal

__all__ = [
    "RegistryError",
    "RegistryExpired",
    "RegistryExpiredRefusal",
    "RegistryFormatError",
    "RegistryLookupError",
    "RegistryNotYetValid",
    "RegistryRollbackError",
    "RegistrySignatureError",
    "RegistrySourceError",
    "RegistryTrustError",
    "RegistryUnsignedError",
    "RegistryUntrustedKeyError",
    "RegistryValidityError",
]


class RegistryError(Exception):
    """Root of every error the trust registry raises on purpose."""


class RegistryFormatError(RegistryError, ValueError):
    """A registry field is missing, malformed or inconsistent.

    ``field`` is the path of the offending field, e.g. ``members[2].keys[0].not_after``
    (empty for the document as a whole); the message starts with it.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


class RegistryTrustError(RegistryError):
    """The document is not signed by a trusted governance key."""


class RegistryUnsignedError(RegistryTrustError):
    """The document carries no signature."""


class RegistryUntrustedKeyError(RegistryTrustError):
    """The signature is by, or the document names, a key that is not trusted."""


class RegistrySignatureError(RegistryTrustError):
    """The signature is malformed or does not verify over the canonical document bytes."""


class RegistryValidityError(RegistryError):
    """The registry is used outside its validity period [issued_at, expires_at)."""

    def __init__(self, message: str, now: datetime, issued_at: datetime, expires_at: datetime):
        self.now = now
        self.issued_at = issued_at
        self.expires_at = expires_at
        super().__init__(message)


class RegistryExpired(RegistryValidityError):
    """Now is at or after the registry's ``expires_at``."""


class RegistryExpiredRefusal(RegistryExpired, Refusal):
    """The registry in use expired longer ago than the grace period.

    Raised by ``RegistryHolder.require()``; being a :class:`gateway.errors.Refusal` with
    reason ``registry_expired`` (FAILED_PRECONDITION), every servicer that turns refusals
    into statuses refuses the call with it, and nothing is written.
    """

    def __init__(self, message: str, now: datetime, issued_at: datetime, expires_at: datetime):
        self.now = now
        self.issued_at = issued_at
        self.expires_at = expires_at
        Refusal.__init__(self, "registry_expired", message, expires_at=expires_at.isoformat())


class RegistryNotYetValid(RegistryValidityError):
    """Now is before the registry's ``issued_at``."""


class RegistryRollbackError(RegistryError):
    """A new copy does not advance the serial of the one in use (replay or downgrade)."""


class RegistrySourceError(RegistryError):
    """The registry file could not be read."""


class RegistryLookupError(RegistryError, LookupError):
    """An unknown member or key, or a key used outside its validity period."""
