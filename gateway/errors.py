"""Errors raised by the gateway, their machine codes, and the one table that maps refusals to
gRPC status codes.

Hierarchy (every error the gateway raises on purpose; ``code`` is its machine code, an enum
member beside the lowercase message that names the check)::

    Error                                   Code.*, or the package's own enum
    ├── Refusal                             Reason.*   a request refused; ``status``: gRPC code
    │   └── gateway.registry.errors.RegistryExpiredRefusal   Reason.REGISTRY_EXPIRED
    ├── ConfigError                         Code.CONFIG    settings, keys or registry unusable
    │   ├── gateway.app.instance.DataDirInUse   Code.DATA_DIR_IN_USE
    │   └── gateway.app.instance.PortInUse      Code.PORT_IN_USE
    ├── gateway.cli.UsageError, gateway.app.init_cmd.InitError   Code.USAGE   bad CLI input
    ├── gateway.web.limits.BodyTooLarge     Code.BODY_TOO_LARGE  an HTTP body over its limit
    ├── gateway.workdays.CalendarError      Code.CALENDAR  calendar data malformed (ValueError)
    ├── gateway.exchange.answers.AnswerMismatch    Code.ANSWER_MISMATCH  not this request's answer
    ├── StorageError                        Code.STORAGE   a store could not read or write (sqlite3)
    ├── gateway.exchange.loopguard.OnLoopError   Code.STORE_ON_LOOP  a store call on the event loop
    ├── gateway.registry.errors.RegistryError       RegistryCode.*   the trust registry
    ├── gateway.identity.errors.IdentityError       IdentityCode.*   identity data (ValueError)
    │   └── AssertionRejected                       RejectionReason.*
    ├── gateway.dialects.errors.DialectError        DialectCode.*    adapters, delivery, catalogue
    ├── gateway.matters.errors.MatterError          MatterCode.*     matter data (ValueError)
    └── gateway.cases.errors.CaseError              CaseCode.*       a refused case operation

Callers branch on ``code`` (or ``Refusal.reason``, the same member), never on message text.
Foreign exceptions are translated where they arise, ``raise ... from exc``: sqlite3 by each
store's public methods (:func:`storage_boundary`), aiohttp in ``gateway.dialects.transport``,
json/xml in ``gateway.dialects``; the ledger's own errors derive from ``ledger.errors.Error``.

Every refusal names the failing check in a lowercase message. Echoed input values go
through :func:`clip`, and a refusal's message (1024 characters) and ``ErrorInfo`` metadata
values (128) are cut so the status always fits in its trailer. Every gRPC method runs behind
``gateway.rpc.guard``: request bytes that do not decode are ``malformed``, any other
unexpected exception is ``internal`` (logged once with its cause); no client sees
``UNKNOWN``. The reasons (``Reason``, a ``StrEnum`` of lower-case values used inside the
gateway) travel on the wire as :attr:`Reason.wire`, the upper-case member name, which is
the value name of ``yrd.v1.ErrorReason`` (protos/yrd/v1/errors.proto, docs/errors.md) in
``ErrorInfo.reason`` and ``SubmitError.reason`` alike. The reasons and their codes:
"""

from __future__ import annotations

import enum

import grpc

from ledger import errors as _ledger_errors

__all__ = [
    "MAX_ECHO",
    "MAX_MESSAGE",
    "MAX_METADATA_VALUE",
    "REASON_CODES",
    "Code",
    "ConfigError",
    "Error",
    "Reason",
    "Refusal",
    "StorageError",
    "clip",
    "storage_boundary",
]

# A refusal travels in the grpc-status-details-bin trailer, which grpc caps (8 KiB soft,
# 16 KiB hard): a long echoed value used to replace the reason by RESOURCE_EXHAUSTED.
MAX_MESSAGE = 1024
MAX_METADATA_VALUE = 128
MAX_ECHO = 80


class Reason(enum.StrEnum):
    """Why a request was refused. On the wire it is :attr:`wire` (``ErrorInfo.reason``,
    ``SubmitError.reason``): one catalogue, ``yrd.v1.ErrorReason``, for every service."""

    MALFORMED = "malformed"
    DIGEST_MISMATCH = "digest_mismatch"
    STALE = "stale"
    NORMALISATION_FAILED = "normalisation_failed"
    UNKNOWN_RECIPIENT = "unknown_recipient"
    NOT_FOUND = "not_found"
    UNAUTHENTICATED = "unauthenticated"
    SIGNATURE_INVALID = "signature_invalid"
    KEY_INVALID = "key_invalid"
    SENDER_MISMATCH = "sender_mismatch"
    NOT_PERMITTED = "not_permitted"
    REPLAY = "replay"
    CONFLICT = "conflict"
    TOO_LARGE = "too_large"
    # matter_ref resolution (gateway.exchange.core)
    UNKNOWN_MATTER = "unknown_matter"
    MATTER_MISMATCH = "matter_mismatch"
    # answers (Envelope.in_reply_to)
    UNKNOWN_REQUEST = "unknown_request"
    ANSWER_MISMATCH = "answer_mismatch"
    ALREADY_ANSWERED = "already_answered"
    # identity recognition (gateway.rpc.identity): a province assertion refused
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_ISSUER = "unknown_issuer"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_AUDIENCE = "wrong_audience"
    INVALID_ID_NUMBER = "invalid_id_number"
    LEVEL_TOO_LOW = "level_too_low"
    UNAVAILABLE = "unavailable"
    # the trust registry in use expired longer ago than registry_expiry_grace_seconds
    REGISTRY_EXPIRED = "registry_expired"
    INTERNAL = "internal"
    # identity assertions and e-licences withdrawn by their issuer, or of the wrong kind
    REVOKED = "revoked"
    WRONG_SUBJECT_KIND = "wrong_subject_kind"
    NOT_ISSUING_AUTHORITY = "not_issuing_authority"
    HOLDER_MISMATCH = "holder_mismatch"
    # admission control: too many requests in flight (for the gateway, or for this member)
    OVERLOADED = "overloaded"

    @property
    def wire(self) -> str:
        """The string a client receives: the ``yrd.v1.ErrorReason`` value name, e.g. MALFORMED."""
        return self.name

    @classmethod
    def from_wire(cls, text: str) -> Reason | None:
        """The member a wire reason names (either case), or None for a reason we do not know."""
        try:
            return cls[text.upper()]
        except KeyError:
            return None


REASON_CODES: dict[Reason, grpc.StatusCode] = {
    Reason.MALFORMED: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.DIGEST_MISMATCH: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.STALE: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.NORMALISATION_FAILED: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.UNKNOWN_RECIPIENT: grpc.StatusCode.NOT_FOUND,
    Reason.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    Reason.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    Reason.SIGNATURE_INVALID: grpc.StatusCode.UNAUTHENTICATED,
    Reason.KEY_INVALID: grpc.StatusCode.UNAUTHENTICATED,
    Reason.SENDER_MISMATCH: grpc.StatusCode.PERMISSION_DENIED,
    Reason.NOT_PERMITTED: grpc.StatusCode.PERMISSION_DENIED,
    Reason.REPLAY: grpc.StatusCode.ALREADY_EXISTS,
    Reason.CONFLICT: grpc.StatusCode.ALREADY_EXISTS,
    Reason.TOO_LARGE: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Reason.UNKNOWN_MATTER: grpc.StatusCode.NOT_FOUND,
    Reason.MATTER_MISMATCH: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.UNKNOWN_REQUEST: grpc.StatusCode.NOT_FOUND,
    Reason.ANSWER_MISMATCH: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.ALREADY_ANSWERED: grpc.StatusCode.ALREADY_EXISTS,
    # identity recognition (gateway.rpc.identity): a province assertion refused
    Reason.BAD_SIGNATURE: grpc.StatusCode.UNAUTHENTICATED,
    Reason.UNKNOWN_ISSUER: grpc.StatusCode.UNAUTHENTICATED,
    Reason.EXPIRED: grpc.StatusCode.UNAUTHENTICATED,
    Reason.NOT_YET_VALID: grpc.StatusCode.UNAUTHENTICATED,
    Reason.WRONG_AUDIENCE: grpc.StatusCode.UNAUTHENTICATED,
    Reason.INVALID_ID_NUMBER: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.LEVEL_TOO_LOW: grpc.StatusCode.PERMISSION_DENIED,
    Reason.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    # the trust registry in use expired longer ago than registry_expiry_grace_seconds
    Reason.REGISTRY_EXPIRED: grpc.StatusCode.FAILED_PRECONDITION,
    Reason.INTERNAL: grpc.StatusCode.INTERNAL,
    Reason.REVOKED: grpc.StatusCode.PERMISSION_DENIED,
    Reason.WRONG_SUBJECT_KIND: grpc.StatusCode.PERMISSION_DENIED,
    Reason.NOT_ISSUING_AUTHORITY: grpc.StatusCode.PERMISSION_DENIED,
    Reason.HOLDER_MISMATCH: grpc.StatusCode.PERMISSION_DENIED,
    Reason.OVERLOADED: grpc.StatusCode.RESOURCE_EXHAUSTED,
}
__doc__ = (__doc__ or "") + "\n".join(f"    {r}: {c.name}" for r, c in REASON_CODES.items())


def clip(value: object, limit: int = MAX_ECHO) -> str:
    """The ``repr`` of an input value a message echoes, cut to ``limit`` characters: the one
    way to echo a value, so a refusal always fits in its trailer (and shows a stray newline)."""
    return _cut(repr(value), limit)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...({len(text)} chars)"


class Code(enum.StrEnum):
    """The machine code of a gateway error that is not a refusal and has no package enum."""

    ERROR = "error"
    CONFIG = "config"
    DATA_DIR_IN_USE = "data_dir_in_use"
    PORT_IN_USE = "port_in_use"
    STORAGE = "storage"
    USAGE = "usage"
    BODY_TOO_LARGE = "body_too_large"
    CALENDAR = "calendar"
    ANSWER_MISMATCH = "answer_mismatch"
    TIMESTAMP_RANGE = "timestamp_range"
    STORE_ON_LOOP = "store_on_loop"


class Error(Exception):
    """Root of every error the gateway raises on purpose; ``code`` says which (an enum member)."""

    code: enum.Enum = Code.ERROR


class Refusal(Error):
    """A request refused by a named check; nothing was written.

    ``reason`` (also ``code``) is a :class:`Reason`; ``status`` is its gRPC status code from
    :data:`REASON_CODES`. A ``reason`` given as a string must be one of the Reason values.
    """

    code: Reason

    def __init__(self, reason: Reason | str, message: str, **metadata: str) -> None:
        try:
            self.code = Reason(reason)
        except ValueError:
            raise ValueError(f"unknown refusal reason {reason!r}") from None
        message = _cut(message, MAX_MESSAGE)
        super().__init__(message)
        self.message = message
        self.metadata = {k[:64]: _cut(str(v), MAX_METADATA_VALUE) for k, v in metadata.items()}

    @property
    def reason(self) -> Reason:
        return self.code

    @property
    def status(self) -> grpc.StatusCode:
        return REASON_CODES[self.code]


class ConfigError(Error):
    """The gateway cannot start: bad settings, missing keys, or an unusable registry."""

    code = Code.CONFIG


class StorageError(Error):
    """A gateway store could not read or write (a ``sqlite3.Error`` is its ``__cause__``)."""

    code = Code.STORAGE


#: Class decorator for a gateway store: its constructor and public methods raise
#: :class:`StorageError` ``from`` any ``sqlite3.Error`` (see ``ledger.errors.storage_boundary``).
storage_boundary = _ledger_errors.storage_boundary(StorageError)
