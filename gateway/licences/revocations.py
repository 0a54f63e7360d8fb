"""A region's signed licence revocation list: revocations between two registry serials.

The registry's ``licence_issuers[].revoked`` is checked offline with the trust file, but a
new registry serial takes a governance signature. A region's licence authority may also
publish a list of its own, signed with one of its licence keys::

    {"revocations": {"format": "yrd-licence-revocations/1", "region": "JS", "serial": 3,
                     "issued_at": "2026-12-01T00:00:00.000Z", "key_id": "<64 hex>",
                     "revoked": ["JS-...", ...]},
     "signature": "<base64 DER SM2 over canonical_json(revocations)>"}

:func:`load_revocation_list` accepts it only if ``key_id`` is a licence key of an authority
of ``region`` in the registry, valid at ``issued_at``, and the signature verifies; the ids
then count as revoked for licences of that region only (``verify_licence(revoked=...)``).
At most 4 MiB and 100,000 ids.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime

from gateway.encoding import canonical_json, format_time
from gateway.errors import Reason
from gateway.licences.errors import LicenceRejected
from gateway.registry import TrustRegistry
from ledger.boundedjson import JsonLimitError, loads
from ledger.crypto import PrivateKey
from ledger.errors import SignatureError

__all__ = [
    "REVOCATIONS_FORMAT",
    "RevocationList",
    "load_revocation_list",
    "merge",
    "sign_revocation_list",
]

REVOCATIONS_FORMAT = "yrd-licence-revocations/1"
MAX_BYTES = 4 * 1024 * 1024
MAX_IDS = 100_000
_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_CHECK = "revocation_list"


@dataclass(frozen=True)
class RevocationList:
    region: str
    serial: int
    issued_at: datetime
    revoked: frozenset[str]


def sign_revocation_list(
    key: PrivateKey, *, region: str, serial: int, issued_at: datetime, revoked: list[str]
) -> bytes:
    """The signed list (wire bytes) of ``region``'s authority key ``key``."""
    body = {
        "format": REVOCATIONS_FORMAT,
        "region": region,
        "serial": serial,
        "issued_at": format_time(issued_at),
        "key_id": key.public_key.key_id,
        "revoked": sorted(revoked),
    }
    signature = key.sign(canonical_json(body))
    wire = {"revocations": body, "signature": base64.b64encode(signature).decode()}
    return json.dumps(wire, ensure_ascii=False).encode("utf-8")


def _refuse(reason: Reason, message: str) -> LicenceRejected:
    return LicenceRejected(reason, _CHECK, message)


def load_revocation_list(data: bytes, registry: TrustRegistry) -> RevocationList:
    """The verified list in ``data``; :class:`LicenceRejected` (check ``revocation_list``)."""
    try:
        wire = loads(data, max_bytes=MAX_BYTES, max_depth=4)
    except (JsonLimitError, ValueError) as exc:
        raise _refuse(Reason.MALFORMED, f"not a revocation list: {str(exc)[:120]}") from None
    body = wire.get("revocations") if isinstance(wire, dict) else None
    if not isinstance(body, dict) or set(body) != {
        "format", "region", "serial", "issued_at", "key_id", "revoked"}:  # fmt: skip
        raise _refuse(Reason.MALFORMED, "expected revocations with exactly its six fields")
    ids = body["revoked"]
    if (
        body["format"] != REVOCATIONS_FORMAT
        or not isinstance(body["serial"], int)
        or not isinstance(body["issued_at"], str)
        or not _TIME.fullmatch(body["issued_at"])
        or not isinstance(ids, list)
        or len(ids) > MAX_IDS
        or not all(isinstance(i, str) and _ID.fullmatch(i) for i in ids)
    ):
        raise _refuse(Reason.MALFORMED, "a field of the revocation list is ill-formed")
    try:
        signature = base64.b64decode(str(wire.get("signature", "")), validate=True)
    except (binascii.Error, ValueError):
        raise _refuse(Reason.MALFORMED, "signature: not base64") from None
    found = registry.licence_issuers.key(str(body["key_id"]))
    if found is None:
        raise _refuse(Reason.UNKNOWN_ISSUER, "key_id is no licence key of the registry")
    authority, entry = found
    issued_at = datetime.fromisoformat(body["issued_at"])
    try:
        entry.public_key.verify(canonical_json(body), signature)
    except SignatureError:
        raise _refuse(Reason.BAD_SIGNATURE, "signature does not match the list") from None
    if str(authority.region) != body["region"] or not entry.valid_at(issued_at):
        raise _refuse(
            Reason.NOT_ISSUING_AUTHORITY,
            f"a key of {authority.region}, valid at issued_at, must sign {body['region']}'s list",
        )
    return RevocationList(body["region"], body["serial"], issued_at, frozenset(ids))


def merge(lists: list[RevocationList]) -> dict[str, frozenset[str]]:
    """Region -> revoked ids of several lists (what ``verify_licence(revoked=)`` takes)."""
    out: dict[str, set[str]] = {}
    for item in lists:
        out.setdefault(item.region, set()).update(item.revoked)
    return {region: frozenset(ids) for region, ids in out.items()}
