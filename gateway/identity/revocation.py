"""Identity providers' revocation lists: the signed, versioned format and its checks.

A provider publishes, at the ``revocation_url`` of its trust-registry entry, a JSON
document (at most ``max_bytes``, nesting depth at most 4)::

    {"v": 1, "key_id": "<id of one of the provider's keys in the trust registry>",
     "list": "<base64 of the list bytes>", "signature": "<base64 DER SM2 signature>"}

The signature (GB/T 32918.2, default user id) covers exactly the list bytes, which are
canonical JSON (sorted keys, no spaces, UTF-8)::

    {"type": "yrd.identity.revocations", "v": 1, "issuer": "<the format's issuer>",
     "region": "JS", "version": 7, "issued_at": "...Z", "next_update": "...Z",
     "revoked_assertions": [{"assertion_id": "...", "revoked_at": "...Z"}],
     "revoked_keys": [{"key_id": "...", "revoked_at": "...Z"}]}

:func:`verify_list` accepts a document only if (each failure a :class:`RevocationCheck`):
the size and depth are within limits (``too_large``); the fields are exactly these and well
typed (``malformed``); the key is one of the provider's keys valid now (``unknown_key``)
and is revoked neither by the last accepted list nor by this one (``revoked_key``); the
signature verifies (``bad_signature``); issuer and region are the provider's
(``wrong_issuer``); the version is above the last accepted one (``older_version``) or equal
with the very same bytes (then nothing changes; otherwise ``conflicting_version``).
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.encoding import canonical_json, format_time
from gateway.errors import Error
from ledger.boundedjson import JsonLimitError, loads
from ledger.crypto import PrivateKey, PublicKey
from ledger.errors import SignatureError

__all__ = [
    "LIST_TYPE",
    "MAX_ENTRIES",
    "RevocationCheck",
    "RevocationList",
    "RevocationListError",
    "sign_list",
    "verify_list",
]

LIST_TYPE = "yrd.identity.revocations"
MAX_ENTRIES = 100_000
_MAX_DEPTH = 4
_MAX_ID = 128
_DOCUMENT_FIELDS = {"v", "key_id", "list", "signature"}
_LIST_FIELDS = {
    "type", "v", "issuer", "region", "version", "issued_at", "next_update",
    "revoked_assertions", "revoked_keys",
}  # fmt: skip


class RevocationCheck(enum.StrEnum):
    """The check a revocation list failed (the ``code`` of :class:`RevocationListError`)."""

    TOO_LARGE = "too_large"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    REVOKED_KEY = "revoked_key"
    BAD_SIGNATURE = "bad_signature"
    WRONG_ISSUER = "wrong_issuer"
    OLDER_VERSION = "older_version"
    CONFLICTING_VERSION = "conflicting_version"


class RevocationListError(Error, ValueError):
    """A revocation list was not accepted; ``code`` names the check, the message says why."""

    code: RevocationCheck

    def __init__(self, check: RevocationCheck, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.code = check


@dataclass(frozen=True)
class RevocationList:
    """An accepted list: what it revokes (id -> revoked_at) and when it must be replaced."""

    issuer: str
    region: str
    version: int
    issued_at: datetime
    next_update: datetime
    revoked_assertions: Mapping[str, datetime] = field(default_factory=dict)
    revoked_keys: Mapping[str, datetime] = field(default_factory=dict)
    signed_by: str = ""
    raw: bytes = b""


def sign_list(
    key: PrivateKey,
    *,
    issuer: str,
    region: str,
    version: int,
    issued_at: datetime,
    next_update: datetime,
    revoked_assertions: Mapping[str, datetime] = {},
    revoked_keys: Mapping[str, datetime] = {},
) -> bytes:
    """The published document of a list signed with ``key`` (providers and simulators)."""
    body = canonical_json(
        {
            "type": LIST_TYPE,
            "v": 1,
            "issuer": issuer,
            "region": region,
            "version": version,
            "issued_at": format_time(issued_at),
            "next_update": format_time(next_update),
            "revoked_assertions": [
                {"assertion_id": k, "revoked_at": format_time(t)}
                for k, t in sorted(revoked_assertions.items())
            ],
            "revoked_keys": [
                {"key_id": k, "revoked_at": format_time(t)} for k, t in sorted(revoked_keys.items())
            ],
        }
    )
    return canonical_json(
        {
            "v": 1,
            "key_id": key.public_key.key_id,
            "list": base64.b64encode(body).decode(),
            "signature": base64.b64encode(key.sign(body)).decode(),
        }
    )


def _fail(check: RevocationCheck, message: str) -> RevocationListError:
    return RevocationListError(check, message)


def _object(data: bytes, fields: set[str], what: str, max_bytes: int) -> dict[str, Any]:
    try:
        obj = loads(data, max_bytes=max_bytes, max_depth=_MAX_DEPTH)
    except JsonLimitError as exc:
        check = RevocationCheck.TOO_LARGE if "too large" in str(exc) else RevocationCheck.MALFORMED
        raise _fail(check, f"{what}: {exc}") from exc
    if not isinstance(obj, dict) or set(obj) != fields:
        got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise _fail(
            RevocationCheck.MALFORMED, f"{what}: expected fields {sorted(fields)}, got {got}"
        )
    return obj


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise _fail(RevocationCheck.MALFORMED, f"{what}: expected base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _fail(RevocationCheck.MALFORMED, f"{what}: not base64") from exc


def _time(value: Any, what: str) -> datetime:
    if not isinstance(value, str) or not value.endswith("Z") or len(value) > 40:
        raise _fail(RevocationCheck.MALFORMED, f"{what}: expected UTC time text ...Z")
    try:
        return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
    except ValueError as exc:
        raise _fail(RevocationCheck.MALFORMED, f"{what}: not a time") from exc


def _entries(value: Any, id_field: str, what: str) -> dict[str, datetime]:
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        raise _fail(RevocationCheck.MALFORMED, f"{what}: expected a list of <= {MAX_ENTRIES}")
    out: dict[str, datetime] = {}
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {id_field, "revoked_at"}:
            raise _fail(RevocationCheck.MALFORMED, f"{what}[{i}]: expected {id_field}, revoked_at")
        ident = item[id_field]
        if not isinstance(ident, str) or not 0 < len(ident) <= _MAX_ID:
            raise _fail(RevocationCheck.MALFORMED, f"{what}[{i}].{id_field}: 1..{_MAX_ID} chars")
        out[ident] = _time(item["revoked_at"], f"{what}[{i}].revoked_at")
    return out


def verify_list(
    data: bytes,
    *,
    keys: Sequence[tuple[str, PublicKey]],
    issuer: str,
    region: str,
    last: RevocationList | None,
    max_bytes: int,
) -> RevocationList:
    """Check a published document against the provider's ``keys`` (valid now, from the
    trust registry) and the ``last`` accepted list; see the module docstring."""
    if len(data) > max_bytes:
        raise _fail(RevocationCheck.TOO_LARGE, f"{len(data)} bytes, limit {max_bytes}")
    doc = _object(data, _DOCUMENT_FIELDS, "document", max_bytes)
    if doc["v"] != 1:
        raise _fail(RevocationCheck.MALFORMED, f"document v: expected 1, got {doc['v']!r}")
    key_id = doc["key_id"]
    found = dict(keys).get(key_id) if isinstance(key_id, str) else None
    if found is None:
        raise _fail(RevocationCheck.UNKNOWN_KEY, f"key {str(key_id)[:80]!r} is not a valid key "
                    f"of the {region} identity provider in the trust registry")  # fmt: skip
    if last is not None and key_id in last.revoked_keys:
        raise _fail(RevocationCheck.REVOKED_KEY, f"key {key_id} was revoked by list version "
                    f"{last.version}; it can no longer sign lists")  # fmt: skip
    body = _b64(doc["list"], "list")
    try:
        found.verify(body, _b64(doc["signature"], "signature"))
    except SignatureError as exc:
        raise _fail(RevocationCheck.BAD_SIGNATURE, f"signature by {key_id}: {exc}") from exc
    obj = _object(body, _LIST_FIELDS, "list", max_bytes)
    if obj["type"] != LIST_TYPE or obj["v"] != 1:
        raise _fail(RevocationCheck.MALFORMED, f"list type/v: expected {LIST_TYPE} v1")
    if obj["issuer"] != issuer or obj["region"] != region:
        raise _fail(RevocationCheck.WRONG_ISSUER, f"list of {str(obj['issuer'])[:80]!r} "
                    f"({str(obj['region'])[:4]}), expected {issuer!r} ({region})")  # fmt: skip
    version = obj["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail(RevocationCheck.MALFORMED, "version: expected an integer >= 1")
    accepted = RevocationList(
        issuer=issuer,
        region=region,
        version=version,
        issued_at=_time(obj["issued_at"], "issued_at"),
        next_update=_time(obj["next_update"], "next_update"),
        revoked_assertions=_entries(
            obj["revoked_assertions"], "assertion_id", "revoked_assertions"
        ),
        revoked_keys=_entries(obj["revoked_keys"], "key_id", "revoked_keys"),
        signed_by=key_id,
        raw=body,
    )
    if accepted.next_update <= accepted.issued_at:
        raise _fail(RevocationCheck.MALFORMED, "next_update: expected after issued_at")
    if key_id in accepted.revoked_keys:
        raise _fail(RevocationCheck.REVOKED_KEY, f"key {key_id} signs a list that revokes it")
    if last is not None and version < last.version:
        raise _fail(RevocationCheck.OLDER_VERSION, f"version {version} is older than the "
                    f"accepted version {last.version}")  # fmt: skip
    if last is not None and version == last.version and body != last.raw:
        raise _fail(RevocationCheck.CONFLICTING_VERSION, f"version {version} was accepted "
                    "with different content")  # fmt: skip
    return accepted
