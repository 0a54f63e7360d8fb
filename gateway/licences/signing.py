"""Signing e-licences: the exact bytes, and the issuing authority's SM2 signature.

The signed bytes are ``canonical_json(licence.to_dict())`` (gateway/encoding.py: sorted keys,
no spaces, UTF-8 without escapes), the canonical licence object alone; ``"format":
"yrd-licence/1"`` inside it keeps a licence signature from standing for anything else. The
signature is SM2 with SM3 and the default user id ``1234567812345678`` (GB/T 32918.2), DER,
base64 in the wire form. Key id rule: ``issuer.key_id`` is the registry's key id of the
signing key, SM3 of its uncompressed public point in hex (``PublicKey.key_id``); it is inside
the signed bytes, so it cannot be swapped.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

from gateway.encoding import canonical_json
from gateway.licences.model import Holder, Issuer, Licence
from ledger.crypto import PrivateKey

__all__ = ["build_licence", "sign_licence", "signed_bytes"]


def signed_bytes(licence: Licence) -> bytes:
    """The bytes an issuing authority signs for ``licence``."""
    return canonical_json(licence.to_dict())


def sign_licence(licence: Licence, key: PrivateKey, *, vector_k: int | None = None) -> bytes:
    """The wire form of ``licence`` signed with ``key`` (its ``issuer.key_id`` must be the
    key's id: ``ValueError`` otherwise). ``vector_k`` makes the signature deterministic, for
    the partner kit's published examples only."""
    if licence.issuer.key_id != key.public_key.key_id:
        raise ValueError("issuer.key_id: not the id of the signing key")
    message = signed_bytes(licence)
    signature = key.sign(message) if vector_k is None else key.sign_with_k(message, vector_k)
    wire = {"licence": licence.to_dict(), "signature": base64.b64encode(signature).decode()}
    return json.dumps(wire, ensure_ascii=False, sort_keys=True).encode("utf-8")


def build_licence(
    *,
    key: PrivateKey,
    region: str,
    authority: str,
    licence_id: str,
    licence_type: str,
    holder: Holder,
    issued_at: datetime,
    valid_from: datetime,
    valid_until: datetime,
    data: dict[str, str] | None = None,
    vector_k: int | None = None,
) -> bytes:
    """Build, validate (as a verifier would parse it) and sign a licence; the wire bytes."""
    licence = Licence.from_dict(
        Licence(
            licence_id=licence_id,
            licence_type=licence_type,
            holder=holder,
            issuer=Issuer(region, authority, key.public_key.key_id),
            issued_at=issued_at,
            valid_from=valid_from,
            valid_until=valid_until,
            data=dict(data or {}),
        ).to_dict()
    )
    return sign_licence(licence, key, vector_k=vector_k)
