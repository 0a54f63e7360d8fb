"""Key lookup and SM2 signature check for province assertions (steps 2 and 3 of
:meth:`gateway.identity.province.AssertionFormat.verify`).

Signatures are SM2 (GB/T 32918.2) with the default user id, checked by
:meth:`ledger.crypto.PublicKey.verify`.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.identity._enums import Province
from gateway.identity._province_types import Signed
from gateway.identity.errors import AssertionRejected
from ledger.crypto import PublicKey
from ledger.errors import SignatureError

__all__ = ["candidate_keys", "check_signature"]


def candidate_keys(
    signed: Signed, keys: Sequence[tuple[str, PublicKey]], *, label: str, province: Province
) -> list[tuple[str, PublicKey]]:
    """The keys that may have signed ``signed``: those whose id is its key hint, or all of
    ``keys`` (``(key_id, public key)`` pairs) without a hint.

    Raises :class:`AssertionRejected` ``unknown_issuer`` when none is left.
    """
    candidates = list(keys)
    if signed.key_id is not None:
        candidates = [(kid, key) for kid, key in candidates if kid == signed.key_id]
    if not candidates:
        hint = f" {signed.key_id[:16]!r}" if signed.key_id else ""
        raise AssertionRejected(
            "unknown_issuer",
            f"{label} signing key: expected a valid {province} identity-provider "
            f"key, got none{hint}",
        )
    return candidates


def check_signature(
    signed: Signed, keys: Sequence[tuple[str, PublicKey]], *, label: str, province: Province
) -> str:
    """The id of the one of ``keys`` (``(key_id, public key)`` pairs) that verifies
    ``signed``'s signature over its signed bytes; else :class:`AssertionRejected`
    ``bad_signature``."""
    for key_id, key in keys:
        try:
            key.verify(signed.signed_bytes, signed.signature)
        except SignatureError:
            continue
        return key_id
    raise AssertionRejected(
        "bad_signature",
        f"{label} signature: does not verify with the {province} identity-provider key",
    )
