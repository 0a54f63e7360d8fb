"""``verify_licence``: a presented e-licence checked against the trust registry, offline.

The checks, in this order, each refusing with :class:`LicenceRejected` (its ``reason``):

1. ``parse``: size, JSON depth, every field (MALFORMED);
2. ``issuer_key``: ``issuer.key_id`` is a licence key in the registry's ``licence_issuers``
   (UNKNOWN_ISSUER);
3. ``signature``: SM2 over ``canonical_json(licence)`` -- any changed byte of the licence,
   data included, fails here (BAD_SIGNATURE);
4. ``authority``: the key belongs to an authority of ``issuer.region`` named
   ``issuer.authority`` that may issue ``licence_type``, and the key was valid at
   ``issued_at`` (NOT_ISSUING_AUTHORITY);
5. ``validity``: ``valid_from <= now < valid_until`` (NOT_YET_VALID, EXPIRED);
6. ``revocation``: the id is in the region's ``revoked`` list, or in ``revoked`` (REVOKED);
7. ``holder``: ``holder.key`` equals ``holder_key`` when one is given (HOLDER_MISMATCH).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.errors import Reason
from gateway.licences.errors import LicenceRejected
from gateway.licences.model import Licence, parse_signed_licence
from gateway.licences.signing import signed_bytes
from gateway.registry import TrustRegistry, format_time
from ledger.errors import SignatureError

__all__ = ["CHECKS", "Verdict", "check_licence", "verify_licence"]

CHECKS = (
    "parse", "issuer_key", "signature", "authority", "validity", "revocation", "holder",
)  # fmt: skip
"""The checks of :func:`verify_licence`, in order (the CLI prints each)."""


def verify_licence(
    data: bytes | str,
    *,
    registry: TrustRegistry,
    now: datetime,
    holder_key: str | None = None,
    revoked: Collection[str] | Mapping[str, Collection[str]] = (),
) -> Licence:
    """The licence in ``data`` if every check passes (module docstring); else
    :class:`LicenceRejected` naming the first check that failed. ``revoked``: more revoked
    ids, for any region, or by region (``revocations.merge`` of signed lists)."""
    # (1) parse
    signed = parse_signed_licence(data)
    licence = signed.licence
    # (2) issuer key
    found = registry.licence_issuers.key(licence.issuer.key_id)
    if found is None:
        raise LicenceRejected(
            Reason.UNKNOWN_ISSUER, "issuer_key",
            f"key {licence.issuer.key_id} is not a licence key in the trust registry",
        )  # fmt: skip
    authority, entry = found
    # (3) signature over the canonical bytes (the licence as parsed: what was signed)
    try:
        entry.public_key.verify(signed_bytes(licence), signed.signature)
    except SignatureError:
        raise LicenceRejected(
            Reason.BAD_SIGNATURE, "signature", "sm2 signature does not match the licence bytes"
        ) from None
    # (4) the signer may issue this type in this region
    problem = None
    if str(authority.region) != licence.issuer.region:
        problem = f"key of region {authority.region}, licence names {licence.issuer.region}"
    elif authority.name != licence.issuer.authority:
        problem = "key belongs to another authority than issuer.authority"
    elif licence.licence_type not in authority.licence_types:
        problem = f"{authority.region} authority may not issue {licence.licence_type}"
    elif not entry.valid_at(licence.issued_at):
        problem = f"key not valid at issued_at {format_time(licence.issued_at)}"
    if problem is not None:
        raise LicenceRejected(Reason.NOT_ISSUING_AUTHORITY, "authority", problem)
    # (5) validity
    if now < licence.valid_from:
        raise LicenceRejected(
            Reason.NOT_YET_VALID, "validity", f"valid from {format_time(licence.valid_from)}"
        )
    if now >= licence.valid_until:
        raise LicenceRejected(
            Reason.EXPIRED, "validity", f"expired at {format_time(licence.valid_until)}"
        )
    # (6) revocation, from the registry (offline) or a separate list
    extra = revoked.get(licence.issuer.region, ()) if isinstance(revoked, Mapping) else revoked
    if registry.licence_issuers.is_revoked(licence.issuer.region, licence.licence_id) or (
        licence.licence_id in extra
    ):
        raise LicenceRejected(
            Reason.REVOKED, "revocation", f"{licence.issuer.region} revoked this licence"
        )
    # (7) the holder is the applicant
    if holder_key is not None and holder_key != licence.holder.key:
        raise LicenceRejected(
            Reason.HOLDER_MISMATCH, "holder", "holder key is not the expected holder key"
        )
    return licence


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`check_licence`: what the front doors (gRPC, REST, CLI) show."""

    valid: bool
    licence: Licence | None
    """The licence when it parsed (also when a later check refused it)."""
    refusal: LicenceRejected | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``valid``; for a refusal ``reason`` (wire name), ``check``,
        ``message`` (Chinese, for the window) and ``detail`` (the lower-case English message
        naming the check), else None; ``licence`` (canonical fields and ``type_label``)."""
        refusal = self.refusal
        return {
            "valid": self.valid,
            "reason": refusal.reason.wire if refusal else None,
            "check": refusal.check if refusal else None,
            "message": refusal.chinese if refusal else None,
            "detail": refusal.message if refusal else None,
            "licence": (
                {**self.licence.to_dict(), "type_label": self.licence.type_label}
                if self.licence is not None
                else None
            ),
        }


def check_licence(
    data: bytes | str,
    *,
    registry: TrustRegistry,
    now: datetime,
    holder_key: str | None = None,
    revoked: Collection[str] | Mapping[str, Collection[str]] = (),
) -> Verdict:
    """:func:`verify_licence` as a verdict: a refused licence is an answer, not an error."""
    try:
        licence = verify_licence(
            data, registry=registry, now=now, holder_key=holder_key, revoked=revoked
        )
    except LicenceRejected as exc:
        parsed = None
        if exc.check != "parse":
            parsed = parse_signed_licence(data).licence
        return Verdict(False, parsed, exc)
    return Verdict(True, licence)
