"""Errors raised by the gateway, and the one table that maps them to gRPC status codes.

Hierarchy::

    Error
    ├── Refusal            a request is refused; carries a stable ``reason`` and a gRPC code
    └── ConfigError        settings, keys or registry unusable at start

Every refusal names the failing check in a lowercase message. Echoed input values go
through :func:`clip`, and a refusal's message (1024 characters) and ``ErrorInfo`` metadata
values (128) are cut so the status always fits in its trailer. Every gRPC method runs behind
``gateway.rpc.guard``: request bytes that do not decode are ``malformed``, any other
unexpected exception is ``internal`` (logged once with its cause); no client sees
``UNKNOWN``. The reasons and their codes:
"""

from __future__ import annotations

import grpc

__all__ = ["REASON_CODES", "ConfigError", "Error", "Refusal", "clip"]

# A refusal travels in the grpc-status-details-bin trailer, which grpc caps (8 KiB soft,
# 16 KiB hard): a long echoed value used to replace the reason by RESOURCE_EXHAUSTED.
MAX_MESSAGE = 1024
MAX_METADATA_VALUE = 128
MAX_ECHO = 80

REASON_CODES: dict[str, grpc.StatusCode] = {
    "malformed": grpc.StatusCode.INVALID_ARGUMENT,
    "digest_mismatch": grpc.StatusCode.INVALID_ARGUMENT,
    "stale": grpc.StatusCode.INVALID_ARGUMENT,
    "normalisation_failed": grpc.StatusCode.INVALID_ARGUMENT,
    "unknown_recipient": grpc.StatusCode.NOT_FOUND,
    "not_found": grpc.StatusCode.NOT_FOUND,
    "unauthenticated": grpc.StatusCode.UNAUTHENTICATED,
    "signature_invalid": grpc.StatusCode.UNAUTHENTICATED,
    "key_invalid": grpc.StatusCode.UNAUTHENTICATED,
    "sender_mismatch": grpc.StatusCode.PERMISSION_DENIED,
    "not_permitted": grpc.StatusCode.PERMISSION_DENIED,
    "replay": grpc.StatusCode.ALREADY_EXISTS,
    "conflict": grpc.StatusCode.ALREADY_EXISTS,
    "too_large": grpc.StatusCode.RESOURCE_EXHAUSTED,
    # identity recognition (gateway.rpc.identity): a province assertion refused
    "bad_signature": grpc.StatusCode.UNAUTHENTICATED,
    "unknown_issuer": grpc.StatusCode.UNAUTHENTICATED,
    "expired": grpc.StatusCode.UNAUTHENTICATED,
    "not_yet_valid": grpc.StatusCode.UNAUTHENTICATED,
    "wrong_audience": grpc.StatusCode.UNAUTHENTICATED,
    "invalid_id_number": grpc.StatusCode.INVALID_ARGUMENT,
    "level_too_low": grpc.StatusCode.PERMISSION_DENIED,
    "unavailable": grpc.StatusCode.UNAVAILABLE,
    # the trust registry in use expired longer ago than registry_expiry_grace_seconds
    "registry_expired": grpc.StatusCode.FAILED_PRECONDITION,
    "internal": grpc.StatusCode.INTERNAL,
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


class Error(Exception):
    """Root of every error the gateway raises on purpose."""


class Refusal(Error):
    """A request refused by a named check; nothing was written."""

    def __init__(self, reason: str, message: str, **metadata: str) -> None:
        if reason not in REASON_CODES:
            raise ValueError(f"unknown refusal reason {reason!r}")
        message = _cut(message, MAX_MESSAGE)
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata = {k[:64]: _cut(str(v), MAX_METADATA_VALUE) for k, v in metadata.items()}

    @property
    def code(self) -> grpc.StatusCode:
        return REASON_CODES[self.reason]


class ConfigError(Error):
    """The gateway cannot start: bad settings, missing keys, or an unusable registry."""
