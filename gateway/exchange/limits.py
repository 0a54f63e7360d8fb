"""The limit of every Envelope and SignedEnvelope field, checked before anything is written.

Why: whatever a sender puts in a field is stored, logged (the log entry travels in every
receipt) and delivered (a Delivery carries the signed envelope and its receipt). An unbounded
field once let a 1 MiB ``matter_ref`` be committed while the sender got RESOURCE_EXHAUSTED
for the receipt, then end every pull stream of the recipient. With these limits a receipt
is a few KiB and a signed envelope is at most its payload plus :data:`ENVELOPE_OVERHEAD`,
below the gRPC message limit ``gateway.app.compose`` sets (payload limit + 64 KiB).

The table (also in the field comments of ``protos/yrd/v1/exchange.proto`` and in
``docs/matters.md``, "Envelope field limits"); strings count characters, bytes count bytes;
a field over its limit or not in its form is refused ``malformed``, except the payload and
the whole envelope, which are ``too_large``::

    exchange_id              36: a canonical lower-case UUID
    sender, recipient        org_code 18 (GB 32100), subsystem 1-64 of [A-Za-z0-9._-]
    kind                     1-64, "<area>.<verb>" of [a-z0-9_], or a one-word kind of
                             gateway.dialects.base.KINDS ("matter", "error")
    matter_ref               0-64, no spaces or control characters
    payload                  max_payload_bytes (settings, default 1 MiB)      too_large
    payload_digest           exactly 32 bytes (SM3)
    payload_content_type     0-128 printable ASCII
    dialect                  0-64 printable ASCII without spaces
    nonce                    exactly 16 bytes
    in_reply_to              empty, or 36: a canonical lower-case UUID
    SignedEnvelope.envelope  payload limit + 8 KiB (ENVELOPE_OVERHEAD)        too_large
    SignedEnvelope.signature at most 72 bytes (DER SEQUENCE of two INTEGERs of <= 33)
    SignedEnvelope.key_id    at most 64 characters (hex SM3 of the public point)

A wrong signature or an unknown key id within these limits is refused by their own checks
(``signature_invalid``, ``key_invalid``).
"""

from __future__ import annotations

import re
import uuid

from gateway.dialects.base import KINDS
from gateway.errors import Refusal, clip
from gateway.pb.yrd.v1 import common_pb2, exchange_pb2

__all__ = [
    "CONTENT_TYPE_MAX",
    "DIALECT_MAX",
    "DIGEST_LEN",
    "ENVELOPE_OVERHEAD",
    "EXCHANGE_ID_LEN",
    "KEY_ID_MAX",
    "KIND_MAX",
    "MATTER_REF_MAX",
    "NONCE_LEN",
    "ORG_CODE_LEN",
    "SIGNATURE_MAX",
    "SUBSYSTEM_MAX",
    "check_envelope_fields",
    "check_exchange_id",
    "check_signed_fields",
]

EXCHANGE_ID_LEN = 36
ORG_CODE_LEN = 18
SUBSYSTEM_MAX = 64
KIND_MAX = 64
MATTER_REF_MAX = 64
DIGEST_LEN = 32
CONTENT_TYPE_MAX = 128
DIALECT_MAX = 64
NONCE_LEN = 16
SIGNATURE_MAX = 72
KEY_ID_MAX = 64
# Everything of a serialised Envelope but its payload: the field limits above add up to
# well under 1 KiB with their tags; the rest is slack for fields of later versions.
ENVELOPE_OVERHEAD = 8 * 1024

_KIND = re.compile(r"\A[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\Z")
# a matter code (canonical or local): no spaces or controls
_MATTER = re.compile(r"\A[^\s\x00-\x1f\x7f-\x9f]+\Z")
_CONTENT_TYPE = re.compile(r"\A[\x20-\x7e]*\Z")  # a MIME type: printable ascii
_DIALECT = re.compile(r"\A[\x21-\x7e]*\Z")


def _longer(name: str, value: str | bytes, limit: int) -> Refusal:
    unit = "bytes" if isinstance(value, bytes) else "characters"
    shown = "" if isinstance(value, bytes) else f" {clip(value)}"
    return Refusal(
        "malformed", f"{name}{shown} is {len(value)} {unit}, over the limit of {limit} {unit}"
    )


def check_exchange_id(value: str, name: str = "exchange_id") -> None:
    """A requested exchange id is a lower-case canonical uuid, or ``malformed``: checked
    before any store is asked (a NUL or an over-long string never reaches a query)."""
    _canonical_uuid(name, value)


def _canonical_uuid(name: str, value: str, *, empty: bool = False) -> None:
    if empty and not value:
        return
    if len(value) != EXCHANGE_ID_LEN:
        raise Refusal(
            "malformed",
            f"{name} must be a lower-case canonical uuid of {EXCHANGE_ID_LEN} characters, "
            f"got {len(value)}",
        )
    try:
        if str(uuid.UUID(value)) != value:
            raise ValueError
    except ValueError:
        raise Refusal("malformed", f"{name} must be a lower-case canonical uuid") from None


def _member(name: str, member: common_pb2.MemberId) -> None:
    if len(member.org_code) != ORG_CODE_LEN:
        raise Refusal(
            "malformed",
            f"{name}.org_code must be {ORG_CODE_LEN} characters (GB 32100), "
            f"got {len(member.org_code)}",
        )
    if not 1 <= len(member.subsystem) <= SUBSYSTEM_MAX:
        raise Refusal(
            "malformed",
            f"{name}.subsystem must be 1-{SUBSYSTEM_MAX} characters, got {len(member.subsystem)}",
        )


def check_envelope_fields(envelope: exchange_pb2.Envelope) -> None:
    """Refuse (``malformed``) the first field over its limit or not in its form; the
    payload's size and created_at are checked by the caller (they need settings and
    ``gateway.times``)."""
    _canonical_uuid("exchange_id", envelope.exchange_id)
    if not envelope.HasField("sender") or not envelope.HasField("recipient"):
        raise Refusal("malformed", "envelope needs sender and recipient")
    _member("sender", envelope.sender)
    _member("recipient", envelope.recipient)
    if len(envelope.kind) > KIND_MAX:
        raise _longer("kind", envelope.kind, KIND_MAX)
    # "<area>.<verb>", or one of the answer kinds named by a single word ("matter")
    if not _KIND.fullmatch(envelope.kind) and envelope.kind not in KINDS:
        raise Refusal(
            "malformed", f"kind {clip(envelope.kind)} is not '<area>.<verb>' nor a known kind"
        )
    if len(envelope.matter_ref) > MATTER_REF_MAX:
        raise _longer("matter_ref", envelope.matter_ref, MATTER_REF_MAX)
    if envelope.matter_ref and not _MATTER.fullmatch(envelope.matter_ref):
        raise Refusal(
            "malformed",
            f"matter_ref {clip(envelope.matter_ref)} is not 1-{MATTER_REF_MAX} characters "
            "without spaces or control characters",
        )
    if len(envelope.payload_digest) != DIGEST_LEN:
        raise Refusal(
            "malformed",
            f"payload_digest must be {DIGEST_LEN} bytes of sm3, got {len(envelope.payload_digest)}",
        )
    content_type = envelope.payload_content_type
    if len(content_type) > CONTENT_TYPE_MAX or not _CONTENT_TYPE.fullmatch(content_type):
        raise Refusal(
            "malformed",
            f"payload_content_type {clip(content_type)} is not a mime type of at most "
            f"{CONTENT_TYPE_MAX} printable ascii characters",
        )
    if len(envelope.dialect) > DIALECT_MAX:
        raise _longer("dialect", envelope.dialect, DIALECT_MAX)
    if not _DIALECT.fullmatch(envelope.dialect):
        raise Refusal(
            "malformed",
            f"dialect {clip(envelope.dialect)} is not printable ascii without spaces",
        )
    if len(envelope.nonce) != NONCE_LEN:
        raise Refusal("malformed", f"nonce must be {NONCE_LEN} bytes, got {len(envelope.nonce)}")
    _canonical_uuid("in_reply_to", envelope.in_reply_to, empty=True)


def check_signed_fields(signed: exchange_pb2.SignedEnvelope) -> None:
    """Refuse (``malformed``) a signature or key id over its limit; whether they are right
    is for the key and signature checks."""
    if len(signed.signature) > SIGNATURE_MAX:
        raise _longer("signature", bytes(signed.signature), SIGNATURE_MAX)
    if len(signed.key_id) > KEY_ID_MAX:
        raise _longer("key_id", signed.key_id, KEY_ID_MAX)
