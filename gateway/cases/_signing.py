"""Signed envelopes for case exchanges, built in-process in the sender's dialect.

The same steps as ``gateway.client.GatewayClient.build``: serialise the envelope once and
sign those exact bytes with SM2 (GB/T 32918, default ID).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from ledger.crypto import PrivateKey, sm3

from ..exchange import member_proto
from ..pb.yrd.v1 import exchange_pb2

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
) -> exchange_pb2.SignedEnvelope:
    created = timestamp_pb2.Timestamp()
    created.FromDatetime(datetime.now(UTC))
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
        nonce=secrets.token_bytes(16),
    )
    raw = envelope.SerializeToString()
    return exchange_pb2.SignedEnvelope(
        envelope=raw, signature=key.sign(raw), key_id=key.public_key.key_id
    )


def member_for_key(members: Mapping | tuple, region: str, key: PrivateKey) -> str | None:
    """The registered member of ``region`` that holds ``key`` (by key id), as text."""
    for member in members:
        if str(member.id.region) == region and member.key(key.public_key.key_id) is not None:
            return str(member.id)
    return None
