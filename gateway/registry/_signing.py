"""Signing and loading the registry: the governance signature and the validity period.

The signed file is a JSON wrapper::

    {"registry": <document>, "signature": "<base64 DER SM2>", "key_id": "<hex>"}

where the signature is SM2 (GB/T 32918.2, SM3, default user id ``1234567812345678``, DER
per GM/T 0009) over ``canonical_bytes(document)``. The wrapper itself is not canonical and
may be pretty-printed; only the document's canonical bytes are signed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.registry._parse import canonical_bytes, loads_strict, parse_document
from gateway.registry._registry import TrustRegistry
from gateway.registry.errors import (
    RegistryExpired,
    RegistryFormatError,
    RegistrySignatureError,
    RegistryUnsignedError,
    RegistryUntrustedKeyError,
)
from ledger.crypto import PrivateKey, PublicKey
from ledger.errors import SignatureError

__all__ = ["WRAPPER_FIELDS", "load_registry", "sign_registry"]

WRAPPER_FIELDS = ("key_id", "registry", "signature")


def sign_registry(document: Mapping[str, Any], governance_key: PrivateKey) -> bytes:
    """The signed registry file (UTF-8 JSON, pretty-printed) for ``document``.

    The document is validated first (RegistryFormatError), and its ``governance_key_id``
    must name ``governance_key`` (RegistryUntrustedKeyError otherwise): a registry never
    claims one governance key and carries the signature of another.
    """
    if not isinstance(document, Mapping):
        raise RegistryFormatError("", f"expected a registry object, got {type(document).__name__}")
    # Round-trip through JSON so that what is signed is exactly what a reader will parse.
    plain = loads_strict(json.dumps(document, ensure_ascii=False, allow_nan=False))
    parsed = parse_document(plain)
    key_id = governance_key.public_key.key_id
    if parsed.governance_key_id != key_id:
        raise RegistryUntrustedKeyError(
            f"governance_key_id mismatch: document names {parsed.governance_key_id}, "
            f"signing key is {key_id}"
        )
    signature = governance_key.sign(canonical_bytes(plain))
    wrapper = {
        "key_id": key_id,
        "registry": plain,
        "signature": base64.b64encode(signature).decode("ascii"),
    }
    return (json.dumps(wrapper, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def load_registry(
    data: bytes,
    trusted_governance_keys: Iterable[PublicKey],
    now: datetime | None = None,
    *,
    grace: timedelta = timedelta(0),
) -> TrustRegistry:
    """Verify and parse a signed registry file.

    Steps:

    1. parse the file as strict JSON (RegistryFormatError);
    2. find the wrapper's signature (RegistryUnsignedError if there is none);
    3. find the signing key among ``trusted_governance_keys`` (RegistryUntrustedKeyError);
    4. verify the signature over the document's canonical bytes (RegistrySignatureError);
    5. validate the document (RegistryFormatError naming the field);
    6. check that the document names the key that signed it (RegistryUntrustedKeyError);
    7. check ``issued_at <= now < expires_at + grace`` (RegistryNotYetValid,
       RegistryExpired).

    ``now`` defaults to the current time; pass it to make the check reproducible. ``grace``
    (default none) is for the running gateway only (``RegistryHolder``), which keeps using
    an expired copy for a while and raises alarms meanwhile; the result may then be expired.
    """
    now = now or datetime.now(UTC)
    trusted = {key.key_id: key for key in trusted_governance_keys}

    # (1): strict JSON.
    wrapper = loads_strict(data)

    # (2): the wrapper and its signature.
    if not isinstance(wrapper, dict):
        raise RegistryFormatError("", f"expected a json object, got {type(wrapper).__name__}")
    if "registry" not in wrapper:
        if "members" in wrapper or "serial" in wrapper:
            raise RegistryUnsignedError(
                "registry is not signed: got a bare document, expected "
                '{"registry": ..., "signature": ..., "key_id": ...}'
            )
        raise RegistryFormatError("registry", "required field is missing")
    unknown = sorted(wrapper.keys() - set(WRAPPER_FIELDS))
    if unknown:
        raise RegistryFormatError(unknown[0], "unknown field in signed registry wrapper")
    signature_b64 = wrapper.get("signature")
    if not signature_b64:
        raise RegistryUnsignedError("registry is not signed: signature is missing or empty")
    key_id = wrapper.get("key_id")
    if not isinstance(key_id, str) or not key_id:
        raise RegistryUnsignedError("registry is not signed: key_id is missing or empty")
    document = wrapper["registry"]
    if not isinstance(document, dict):
        raise RegistryFormatError("registry", "expected an object")

    # (3): a trusted governance key.
    key = trusted.get(key_id)
    if key is None:
        expected = ", ".join(sorted(trusted)) or "none configured"
        raise RegistryUntrustedKeyError(
            f"registry signed by untrusted key {key_id}: expected one of {expected}"
        )

    # (4): the signature over the canonical document bytes.
    if not isinstance(signature_b64, str):
        raise RegistrySignatureError("malformed signature: expected a base64 string")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except binascii.Error as exc:
        raise RegistrySignatureError("malformed signature: not valid base64") from exc
    canonical = canonical_bytes(document)
    try:
        key.verify(canonical, signature)
    except SignatureError as exc:
        raise RegistrySignatureError(
            f"registry signature does not verify under governance key {key_id}: "
            f"the document was altered or signed by another key ({exc})"
        ) from exc

    # (5): the document itself.
    parsed = parse_document(document)

    # (6): the document names its signer.
    if parsed.governance_key_id != key_id:
        raise RegistryUntrustedKeyError(
            f"governance_key_id mismatch: document names {parsed.governance_key_id}, "
            f"signed by {key_id}"
        )

    # (7): validity period.
    registry = TrustRegistry(parsed, document, canonical, bytes(data))
    try:
        registry.check_valid(now)
    except RegistryExpired:
        if now >= registry.expires_at + grace:
            raise
    return registry
