"""Signed envelopes for tests: one builder for the canonical case-status update that most
exchange tests send, instead of the same ``client.build(...)`` written out in every file."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Protocol

from gateway.client import GatewayClient
from gateway.pb.yrd.v1 import exchange_pb2

__all__ = ["CANONICAL", "dialect_envelope", "status_payload", "status_update"]

CANONICAL = "yrd-canonical/1"
"""The dialect every region reads: the payload is the canonical JSON itself."""


class _Members(Protocol):
    def member_id(self, region: str) -> str: ...


class _Dialect(Protocol):
    @property
    def dialect(self) -> str: ...
    @property
    def content_type(self) -> str: ...


def status_payload(case_id: str = "C-1", status: str = "received") -> bytes:
    """A canonical ``case.status`` body (what ``PAYLOAD`` was in the tests that defined one)."""
    body = {"case_id": case_id, "status": status, "time": "2026-11-28T10:00:00+08:00"}
    return json.dumps({**body, "note": None}).encode()


def status_update(
    client: GatewayClient,
    env: _Members,
    to: str = "ZJ",
    *,
    payload: bytes | None = None,
    exchange_id: str | None = None,
    created_at: datetime | None = None,
    nonce: bytes | None = None,
    sender: str | None = None,
) -> exchange_pb2.SignedEnvelope:
    """A ``case.status`` envelope in the canonical dialect from ``client``'s member to the
    member of region ``to`` in ``env``, signed with the client's key; the other arguments
    pass through to :meth:`GatewayClient.build`."""
    return client.build(
        recipient=env.member_id(to),
        kind="case.status",
        payload=status_payload() if payload is None else payload,
        dialect=CANONICAL,
        exchange_id=exchange_id,
        created_at=created_at,
        nonce=nonce,
        sender=sender,
    )


def dialect_envelope(
    client: GatewayClient,
    env: _Members,
    to: str,
    adapter: _Dialect,
    payload: bytes,
    *,
    kind: str = "case.submit",
    matter: str = "010010300100",
) -> exchange_pb2.SignedEnvelope:
    """A ``kind`` envelope whose payload is in ``adapter``'s wire format (its dialect and
    content type), from ``client``'s member to the member of region ``to``; ``matter``
    defaults to the canonical code of 企业设立登记, the matter of the sample cases."""
    return client.build(
        recipient=env.member_id(to),
        kind=kind,
        matter=matter,
        payload=payload,
        dialect=adapter.dialect,
        content_type=adapter.content_type,
    )
