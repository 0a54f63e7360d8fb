"""The gateway's log entry: one canonical, versioned byte encoding per exchange.

An entry is UTF-8 JSON with sorted keys and no insignificant whitespace::

    {"envelope_sm3":"<hex>","exchange_id":"<uuid>","in_reply_to":"","kind":"case.submit",
     "matter":"...","payload_sm3":"<hex>","received_at":"2026-11-28T09:30:00.123Z",
     "recipient":"ZJ/<USCC>/<subsystem>","sender":"JS/<USCC>/<subsystem>",
     "signature_sm3":"<hex>","signer_key_id":"<hex>","type":"exchange","v":2}

``in_reply_to`` (version 2) is the exchange id of the request an answer answers, "" for a
request. Version-1 entries (without it) still decode.

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
            "in_reply_to": in_reply_to,
        }
    )


def decode_entry(entry: bytes) -> dict[str, Any]:
    value = json.loads(entry)
    if not isinstance(value, dict) or value.get("v") not in DECODABLE_VERSIONS:
        raise ValueError("not a version-1 or version-2 gateway log entry")
    return value
