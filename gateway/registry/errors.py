"""Errors raised by the trust registry.

Hierarchy (``code`` is each error's :class:`RegistryCode`)::

    gateway.errors.Error
    └── RegistryError                          ERROR
        ├── RegistryFormatError (ValueError)   FORMAT        a field is missing, malformed or
        │                                                    inconsistent
        ├── RegistryTrustError                 the document is not signed by a trusted key
        │   ├── RegistryUnsignedError          UNSIGNED      no signature at all
        │   ├── RegistryUntrustedKeyError      UNTRUSTED_KEY signed by (or naming) a key we do
        │   │                                                not trust
        │   └── RegistrySignatureError         SIGNATURE     the signature does not verify
        ├── RegistryValidityError              outside [issued_at, expires_at)
        │   ├── RegistryExpired                EXPIRED
        │   │   └── RegistryExpiredRefusal     also a gateway Refusal past the grace period;
        │   │                                  its code is ``Reason.REGISTRY_EXPIRED``
        │   └── RegistryNotYetValid            NOT_YET_VALID
        ├── RegistryRollbackError              ROLLBACK      a reload would go back to an older
        │                                                    serial
        ├── RegistrySourceError                SOURCE        the registry file could not be read
        └── RegistryLookupError (LookupError)  LOOKUP        an unknown member or key, or a key
                                                             not valid then

Messages are lowercase, name the failed check, and say expected vs got; callers branch on the
class or ``code``, never on the text.
"""

from __future__ import annotations

import enum
from datetime import datetime

from gateway.errors import Error, Refusal

__all__ = [
    "RegistryCode",
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


class RegistryCode(enum.StrEnum):
    """The machine code of a trust registry error."""

    ERROR = "registry_error"
    FORMAT = "registry_format"
    UNSIGNED = "registry_unsigned"
    UNTRUSTED_KEY = "registry_untrusted_key"
    SIGNATURE = "registry_signature"
    EXPIRED = "registry_expired"
    NOT_YET_VALID = "registry_not_yet_valid"
    ROLLBACK = "registry_rollback"
    SOURCE = "registry_source"
    LOOKUP = "registry_lookup"


class RegistryError(Error):
    """Root of every error the trust registry raises on purpose."""

    code: enum.Enum = RegistryCode.ERROR


class RegistryFormatError(RegistryError, ValueError):
    """A registry field is missing, malformed or inconsistent.

    ``field`` is the path of the offending field, e.g. ``members[2].keys[0].not_after``
    (empty for the document as a whole); the message starts with it.
    """

    code = RegistryCode.FORMAT

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


class RegistryTrustError(RegistryError):
    """The document is not signed by a trusted governance key."""


class RegistryUnsignedError(RegistryTrustError):
    """The document carries no signature."""

    code = RegistryCode.UNSIGNED


class RegistryUntrustedKeyError(RegistryTrustError):
    """The signature is by, or the document names, a key that is not trusted."""

    code = RegistryCode.UNTRUSTED_KEY


class RegistrySignatureError(RegistryTrustError):
    """The signature is malformed or does not verify over the canonical document bytes."""

    code = RegistryCode.SIGNATURE


class RegistryValidityError(RegistryError):
    """The registry is used outside its validity period [issued_at, expires_at)."""

    def __init__(self, message: str, now: datetime, issued_at: datetime, expires_at: datetime):
        self.now = now
        self.issued_at = issued_at
        self.expires_at = expires_at
        super().__init__(message)


class RegistryExpired(RegistryValidityError):
    """Now is at or after the registry's ``expires_at``."""

    code = RegistryCode.EXPIRED


# its code is Refusal's (Reason.REGISTRY_EXPIRED, set per instance), not RegistryExpired's
class RegistryExpiredRefusal(RegistryExpired, Refusal):  # type: ignore[misc]
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

    code = RegistryCode.NOT_YET_VALID


class RegistryRollbackError(RegistryError):
    """A new copy does not advance the serial of the one in use (replay or downgrade)."""

    code = RegistryCode.ROLLBACK


class RegistrySourceError(RegistryError):
    """The registry file could not be read."""

    code = RegistryCode.SOURCE


class RegistryLookupError(RegistryError, LookupError):
    """An unknown member or key, or a key used outside its validity period."""

    code = RegistryCode.LOOKUP
