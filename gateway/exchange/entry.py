"""The gateway's log entry: one canonical, versioned byte encoding per exchange.

An entry is UTF-8 JSON with sorted keys and no insignificant whitespace (version 2)::

    {"canonical_sm3":"<hex>","channel":"grpc-mtls","delivered_sm3":"<hex>",
     "envelope_sm3":"<hex>","exchange_id":"<uuid>","in_reply_to":"","kind":"case.submit",
     "matter":"...","payload_sm3":"<hex>","received_at":"2026-11-28T09:30:00.123Z",
     "recipient":"ZJ/<USCC>/<subsystem>","relayed":false,"sender":"JS/<USCC>/<subsystem>",
     "signature_sm3":"<hex>","signer_key_id":"<hex>","source_dialect":"js-json/1",
     "target_dialect":"zj-xml/1","type":"exchange","v":2}

Version 2 adds what the gateway delivered (``gateway.exchange.translation``): the SM3 of
the canonical form and of the payload in the recipient's dialect (``""`` when that dialect
cannot express it and nothing is delivered), both dialect names, whether the gateway
relayed the envelope as a push member's adapter, and how it arrived; and ``in_reply_to``,
the exchange id of the request an answer answers ("" for a request). Version 1 entries
(without those keys) stay valid in old logs; :func:`decode_entry` reads both.

It holds digests and organisation ids only -- never payloads or personal data -- so it can
be shown to auditors and anchored. Anyone can recompute the leaf hash SM3(0x00 || entry).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from gateway.encoding import canonical_json, format_time

__all__ = [
    "canonical_json",
    "decode_entry",
    "exchange_entry",
    "format_time",
]

ENTRY_VERSION = 2
DECODABLE_VERSIONS = (1, 2)


def exchange_entry(
    *,
    exchange_id: str,
    kind: str,
    sender: str,
    recipient: str,
    matter: str,
    envelope_sm3: bytes,
    payload_sm3: bytes,
    signature_sm3: bytes,
    signer_key_id: str,
    received_at: datetime,
    canonical_sm3: bytes,
    delivered_sm3: bytes,
    source_dialect: str,
    target_dialect: str,
    relayed: bool,
    channel: str,
    in_reply_to: str = "",
) -> bytes:
    return canonical_json(
        {
            "v": ENTRY_VERSION,
            "type": "exchange",
            "exchange_id": exchange_id,
            "kind": kind,
            "sender": sender,
            "recipient": recipient,
            "matter": matter,
            "envelope_sm3": envelope_sm3.hex(),
            "payload_sm3": payload_sm3.hex(),
            "signature_sm3": signature_sm3.hex(),
            "signer_key_id": signer_key_id,
            "received_at": format_time(received_at),
            "canonical_sm3": canonical_sm3.hex(),
            "delivered_sm3": delivered_sm3.hex(),
            "source_dialect": source_dialect,
            "target_dialect": target_dialect,
            "relayed": relayed,
            "channel": channel,
            "in_reply_to": in_reply_to,
        }
    )


def decode_entry(entry: bytes) -> dict[str, Any]:
    """An exchange entry of version 1 or 2 as a dict; ValueError for anything else."""
    value = json.loads(entry)
    if not isinstance(value, dict) or value.get("v") not in DECODABLE_VERSIONS:
        raise ValueError("not a version-1 or version-2 gateway log entry")
    return value
