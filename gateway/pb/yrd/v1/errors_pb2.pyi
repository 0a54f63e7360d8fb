from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    MALFORMED: _ClassVar[ErrorReason]
    DIGEST_MISMATCH: _ClassVar[ErrorReason]
    STALE: _ClassVar[ErrorReason]
    NORMALISATION_FAILED: _ClassVar[ErrorReason]
    UNKNOWN_RECIPIENT: _ClassVar[ErrorReason]
    NOT_FOUND: _ClassVar[ErrorReason]
    UNAUTHENTICATED: _ClassVar[ErrorReason]
    SIGNATURE_INVALID: _ClassVar[ErrorReason]
    KEY_INVALID: _ClassVar[ErrorReason]
    SENDER_MISMATCH: _ClassVar[ErrorReason]
    NOT_PERMITTED: _ClassVar[ErrorReason]
    REPLAY: _ClassVar[ErrorReason]
    CONFLICT: _ClassVar[ErrorReason]
    TOO_LARGE: _ClassVar[ErrorReason]
    UNKNOWN_MATTER: _ClassVar[ErrorReason]
    MATTER_MISMATCH: _ClassVar[ErrorReason]
    UNKNOWN_REQUEST: _ClassVar[ErrorReason]
    ANSWER_MISMATCH: _ClassVar[ErrorReason]
    ALREADY_ANSWERED: _ClassVar[ErrorReason]
    BAD_SIGNATURE: _ClassVar[ErrorReason]
    UNKNOWN_ISSUER: _ClassVar[ErrorReason]
    EXPIRED: _ClassVar[ErrorReason]
    NOT_YET_VALID: _ClassVar[ErrorReason]
    WRONG_AUDIENCE: _ClassVar[ErrorReason]
    INVALID_ID_NUMBER: _ClassVar[ErrorReason]
    LEVEL_TOO_LOW: _ClassVar[ErrorReason]
    UNAVAILABLE: _ClassVar[ErrorReason]
    REGISTRY_EXPIRED: _ClassVar[ErrorReason]
    INTERNAL: _ClassVar[ErrorReason]
    REVOKED: _ClassVar[ErrorReason]
    WRONG_SUBJECT_KIND: _ClassVar[ErrorReason]
    NOT_ISSUING_AUTHORITY: _ClassVar[ErrorReason]
    HOLDER_MISMATCH: _ClassVar[ErrorReason]
    OVERLOADED: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
MALFORMED: ErrorReason
DIGEST_MISMATCH: ErrorReason
STALE: ErrorReason
NORMALISATION_FAILED: ErrorReason
UNKNOWN_RECIPIENT: ErrorReason
NOT_FOUND: ErrorReason
UNAUTHENTICATED: ErrorReason
SIGNATURE_INVALID: ErrorReason
KEY_INVALID: ErrorReason
SENDER_MISMATCH: ErrorReason
NOT_PERMITTED: ErrorReason
REPLAY: ErrorReason
CONFLICT: ErrorReason
TOO_LARGE: ErrorReason
UNKNOWN_MATTER: ErrorReason
MATTER_MISMATCH: ErrorReason
UNKNOWN_REQUEST: ErrorReason
ANSWER_MISMATCH: ErrorReason
ALREADY_ANSWERED: ErrorReason
BAD_SIGNATURE: ErrorReason
UNKNOWN_ISSUER: ErrorReason
EXPIRED: ErrorReason
NOT_YET_VALID: ErrorReason
WRONG_AUDIENCE: ErrorReason
INVALID_ID_NUMBER: ErrorReason
LEVEL_TOO_LOW: ErrorReason
UNAVAILABLE: ErrorReason
REGISTRY_EXPIRED: ErrorReason
INTERNAL: ErrorReason
REVOKED: ErrorReason
WRONG_SUBJECT_KIND: ErrorReason
NOT_ISSUING_AUTHORITY: ErrorReason
HOLDER_MISMATCH: ErrorReason
OVERLOADED: ErrorReason
