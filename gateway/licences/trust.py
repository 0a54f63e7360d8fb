"""The licence trust file: what ``yrdgw licence verify --trust T`` needs to work offline.

UTF-8 JSON ``{"format": "yrd-licence-trust/1", "governance_public_key": PEM, "registry":
<the signed registry file as a JSON object>}``: the registry is checked against the
governance key (``load_registry``) like the gateway checks it, and its ``licence_issuers``
section answers every licence check. Parsed with size and depth limits.
"""

from __future__ import annotations

import json
from datetime import datetime

from gateway.errors import ConfigError
from gateway.registry import RegistryError, TrustRegistry, load_registry
from ledger.boundedjson import JsonLimitError, loads
from ledger.crypto import PublicKey
from ledger.errors import KeyFormatError

__all__ = ["TRUST_FORMAT", "licence_trust_document", "load_licence_trust"]

TRUST_FORMAT = "yrd-licence-trust/1"
MAX_TRUST_BYTES = 16 * 1024 * 1024


def licence_trust_document(signed_registry: bytes, governance_key: PublicKey) -> bytes:
    """The trust file for ``signed_registry`` (the file's bytes) and its governance key."""
    document = {
        "format": TRUST_FORMAT,
        "governance_public_key": governance_key.to_pem().decode("ascii"),
        "registry": json.loads(signed_registry),
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def load_licence_trust(data: bytes, now: datetime) -> TrustRegistry:
    """The verified registry of a trust file; :class:`ConfigError` naming what is wrong."""
    try:
        document = loads(data, max_bytes=MAX_TRUST_BYTES, max_depth=32)
    except (JsonLimitError, ValueError) as exc:
        raise ConfigError(f"licence trust file: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != TRUST_FORMAT:
        raise ConfigError(f"licence trust file: format is not {TRUST_FORMAT}")
    try:
        key = PublicKey.from_pem(str(document.get("governance_public_key", "")).encode())
    except (KeyFormatError, ValueError) as exc:
        raise ConfigError(f"licence trust file governance_public_key: {exc}") from None
    registry = json.dumps(document.get("registry"), ensure_ascii=False).encode("utf-8")
    try:
        return load_registry(registry, [key], now)
    except RegistryError as exc:
        raise ConfigError(f"licence trust file registry: {exc}") from None
