"""Building a signed envelope: the one implementation for clients and in-process senders."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from gateway.exchange.core import member_proto
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.times import to_timestamp, utc_now
from ledger.crypto import PrivateKey, sm3

__all__ = ["signed_envelope"]


def signed_envelope(
    *,
    key: PrivateKey,
    sender: str,
    recipient: str,
    kind: str,
    matter: str,
    payload: bytes,
    dialect: str,
    content_type: str,
    exchange_id: str | None = None,
    created_at: datetime | None = None,
    nonce: bytes | None = None,
    in_reply_to: str = "",
) -> exchange_pb2.SignedEnvelope:
    """Serialise the envelope once and sign those exact bytes with SM2 (default ID): the
    gateway verifies, stores and forwards these bytes and never re-serialises them."""
    created = to_timestamp(created_at or utc_now())
    envelope = exchange_pb2.Envelope(
        exchange_id=exchange_id or str(uuid.uuid4()),
        sender=member_proto(sender),
        recipient=member_proto(recipient),
        kind=kind,
        matter_ref=matter,
        payload=payload,
        payload_digest=sm3(payload),
        payload_content_type=content_type,
        dialect=dialect,
        created_at=created,
        nonce=nonce if nonce is not None else secrets.token_bytes(16),
        in_reply_to=in_reply_to,
    )
    raw = envelope.SerializeToString()
    return exchange_pb2.SignedEnvelope(
        envelope=raw, signature=key.sign(raw), key_id=key.public_key.key_id
    )
