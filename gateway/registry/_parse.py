"""JSON registry document -> validated ``RegistryDocument``, with errors naming the field.

Also the two JSON rules the signature depends on: strict parsing (no duplicate keys, no
floats, no NaN) so every reader sees the same document, and the canonical bytes that are
signed: ``json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in
UTF-8.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from datetime import datetime
from types import MappingProxyType
from typing import Any

from gateway.registry._model import (
    GatewayKey,
    IdentityProvider,
    KeyEntry,
    KeyPurpose,
    LogConfig,
    Member,
    MemberId,
    Region,
    RegistryDocument,
    Rule,
    normalize_fingerprint,
)
from gateway.registry._push import parse_delivery
from gateway.registry.errors import RegistryFormatError
from ledger.crypto import PublicKey
from ledger.errors import KeyFormatError

SUPPORTED_VERSION = 1
_KEY_ID_RE = re.compile(r"[0-9a-f]{64}")
_KIND_RE = re.compile(r"[a-z0-9_.*-]{1,64}")
_MATTER_RE = re.compile(r"\S{1,128}")
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """The bytes the governance key signs: sorted keys, no spaces, UTF-8, no escapes."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise RegistryFormatError("", f"duplicate json key {key!r}")
        result[key] = value
    return result


def _no_float(text: str) -> Any:
    raise RegistryFormatError("", f"numbers must be integers, got {text}")


def _no_constant(text: str) -> Any:
    raise RegistryFormatError("", f"{text} is not allowed in a registry")


def loads_strict(data: bytes | str) -> Any:
    """Parse JSON refusing duplicate keys, floats and NaN/Infinity (RegistryFormatError)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except UnicodeDecodeError as exc:
        raise RegistryFormatError("", f"not utf-8: {exc.reason} at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise RegistryFormatError(
            "", f"malformed json: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


# -- primitives ---------------------------------------------------------------------------


def _object(
    value: Any, field: str, required: AbstractSet[str], optional: AbstractSet[str] = frozenset()
):
    if not isinstance(value, dict):
        raise RegistryFormatError(field, f"expected an object, got {_type(value)}")
    missing = sorted(required - value.keys())
    if missing:
        raise RegistryFormatError(_join(field, missing[0]), "required field is missing")
    unknown = sorted(value.keys() - required - optional)
    if unknown:
        raise RegistryFormatError(_join(field, unknown[0]), "unknown field")
    return value


def _join(field: str, name: str) -> str:
    return f"{field}.{name}" if field else name


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _str(value: Any, field: str, *, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise RegistryFormatError(field, f"expected a non-empty string, got {_type(value)}")
    if pattern is not None and not pattern.fullmatch(value):
        raise RegistryFormatError(field, f"expected {pattern.pattern}, got {value!r}")
    return value


def _int(value: Any, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RegistryFormatError(field, f"expected an integer, got {_type(value)}")
    if value < minimum:
        raise RegistryFormatError(field, f"expected at least {minimum}, got {value}")
    return value


def _list(value: Any, field: str, *, non_empty: bool = True) -> list[Any]:
    if not isinstance(value, list):
        raise RegistryFormatError(field, f"expected a list, got {_type(value)}")
    if non_empty and not value:
        raise RegistryFormatError(field, "expected a non-empty list")
    return value


def parse_time(value: Any, field: str) -> datetime:
    """An RFC 3339 timestamp with an explicit offset (``Z`` preferred)."""
    if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
        raise RegistryFormatError(
            field, f"expected an rfc 3339 time like 2025-01-01T00:00:00Z, got {value!r}"
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise RegistryFormatError(field, f"invalid time {value!r}: {exc}") from exc


# -- parts --------------------------------------------------------------------------------


def _member_id(value: Any, field: str) -> MemberId:
    obj = _object(value, field, {"region", "org_code", "subsystem"})
    try:
        return MemberId(obj["region"], obj["org_code"], obj["subsystem"])
    except RegistryFormatError as exc:
        raise RegistryFormatError(_join(field, exc.field), exc.problem) from None


def _key(value: Any, field: str) -> KeyEntry:
    obj = _object(value, field, {"key_id", "public_key", "not_before", "not_after"})
    key_id = _str(obj["key_id"], _join(field, "key_id"), pattern=_KEY_ID_RE)
    text = _str(obj["public_key"], _join(field, "public_key"))
    try:
        public = PublicKey.from_pem(text) if "-----BEGIN" in text else PublicKey.from_hex(text)
    except KeyFormatError as exc:
        raise RegistryFormatError(_join(field, "public_key"), str(exc)) from exc
    if public.key_id != key_id:
        raise RegistryFormatError(
            _join(field, "key_id"),
            f"does not match public_key: expected {public.key_id}, got {key_id}",
        )
    not_before = parse_time(obj["not_before"], _join(field, "not_before"))
    not_after = parse_time(obj["not_after"], _join(field, "not_after"))
    if not_after <= not_before:
        raise RegistryFormatError(_join(field, "not_after"), "must be later than not_before")
    return KeyEntry(key_id, public, not_before, not_after)


def _keys(value: Any, field: str) -> tuple[KeyEntry, ...]:
    return tuple(_key(v, f"{field}[{i}]") for i, v in enumerate(_list(value, field)))


def _patterns(value: Any, field: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    items = _list(value, field)
    return tuple(_str(v, f"{field}[{i}]", pattern=pattern) for i, v in enumerate(items))


def _peers(value: Any, field: str, members: set[MemberId]) -> tuple[str, ...]:
    peers = []
    for i, item in enumerate(_list(value, field)):
        where = f"{field}[{i}]"
        text = _str(item, where)
        if text == "*":
            pass
        elif text.endswith("/*"):
            if text[:-2] not in Region.__members__:
                raise RegistryFormatError(
                    where, f"expected *, REGION/* or a member id, got {text!r}"
                )
        else:
            try:
                member = MemberId.parse(text)
            except RegistryFormatError as exc:
                raise RegistryFormatError(where, exc.problem) from None
            if member not in members:
                raise RegistryFormatError(where, f"names no registered member: {text}")
        peers.append(text)
    return tuple(peers)


def _rules(value: Any, field: str, peer_field: str, members: set[MemberId]) -> tuple[Rule, ...]:
    rules = []
    for i, item in enumerate(_list(value, field, non_empty=False)):
        where = f"{field}[{i}]"
        obj = _object(item, where, {"kinds", "matters", peer_field})
        rules.append(
            Rule(
                kinds=_patterns(obj["kinds"], _join(where, "kinds"), _KIND_RE),
                matters=_patterns(obj["matters"], _join(where, "matters"), _MATTER_RE),
                peers=_peers(obj[peer_field], _join(where, peer_field), members),
            )
        )
    return tuple(rules)


def _fingerprints(value: Any, field: str) -> tuple[str, ...]:
    result = []
    for i, item in enumerate(_list(value, field, non_empty=False)):
        try:
            result.append(normalize_fingerprint(item))
        except ValueError as exc:
            raise RegistryFormatError(f"{field}[{i}]", str(exc)) from None
    return tuple(result)


def _member(
    value: Any, field: str, members: set[MemberId], allow_plain_http: bool = False
) -> Member:
    obj = _object(
        value,
        field,
        {"id", "display_name", "keys", "delivery"},
        {"tls_fingerprints", "send_permissions", "receive_permissions"},
    )
    return Member(
        id=_member_id(obj["id"], _join(field, "id")),
        display_name=_str(obj["display_name"], _join(field, "display_name")),
        keys=_keys(obj["keys"], _join(field, "keys")),
        tls_fingerprints=_fingerprints(
            obj.get("tls_fingerprints", []), _join(field, "tls_fingerprints")
        ),
        send_permissions=_rules(
            obj.get("send_permissions", []), _join(field, "send_permissions"), "recipients", members
        ),
        receive_permissions=_rules(
            obj.get("receive_permissions", []),
            _join(field, "receive_permissions"),
            "senders",
            members,
        ),
        delivery=parse_delivery(obj["delivery"], _join(field, "delivery"), allow_plain_http),
    )


def _identity_provider(value: Any, field: str) -> IdentityProvider:
    obj = _object(value, field, {"region", "name", "keys"}, {"loa_mapping", "revocation_url"})
    region = obj["region"]
    if region not in Region.__members__:
        raise RegistryFormatError(
            _join(field, "region"), f"expected one of SH, JS, ZJ, AH, got {region!r}"
        )
    mapping = obj.get("loa_mapping", {})
    where = _join(field, "loa_mapping")
    if not isinstance(mapping, dict):
        raise RegistryFormatError(where, f"expected an object, got {_type(mapping)}")
    for name, level in mapping.items():
        _str(level, _join(where, name))
    return IdentityProvider(
        region=Region(region),
        name=_str(obj["name"], _join(field, "name")),
        keys=_keys(obj["keys"], _join(field, "keys")),
        loa_mapping=MappingProxyType(dict(mapping)),
        revocation_url=_revocation_url(obj.get("revocation_url", ""), field),
    )


def _log(value: Any, field: str) -> LogConfig:
    obj = _object(value, field, {"origin", "keys"})
    origin = _str(obj["origin"], _join(field, "origin"))
    if "\n" in origin or origin != origin.strip():
        raise RegistryFormatError(_join(field, "origin"), "must be one line without padding")
    return LogConfig(origin, _keys(obj["keys"], _join(field, "keys")))


_GATEWAY_PURPOSES = (KeyPurpose.ATTESTATION, KeyPurpose.IDENTITY)


def _gateway_keys(value: Any, field: str) -> tuple[GatewayKey, ...]:
    """``gateway_keys``: each a key entry plus its ``purpose`` (checkpoint keys stay in
    ``log.keys``, where auditors' tools look for them)."""
    result = []
    for i, item in enumerate(_list(value, field, non_empty=False)):
        where = f"{field}[{i}]"
        obj = _object(item, where, {"purpose", "key_id", "public_key", "not_before", "not_after"})
        purpose = obj["purpose"]
        if purpose not in {str(p) for p in _GATEWAY_PURPOSES}:
            raise RegistryFormatError(
                _join(where, "purpose"), f"expected attestation or identity, got {purpose!r}"
            )
        entry = {k: v for k, v in obj.items() if k != "purpose"}
        result.append(GatewayKey(KeyPurpose(purpose), _key(entry, where)))
    return tuple(result)


# -- the document -------------------------------------------------------------------------

DOCUMENT_FIELDS = {
    "version",
    "serial",
    "issued_at",
    "expires_at",
    "governance_key_id",
    "log",
    "members",
}


def parse_document(value: Any) -> RegistryDocument:
    """Validate a decoded registry document and build the model.

    Checks every field's type and format, that ``expires_at`` follows ``issued_at``, that
    member and auditor ids, key ids and TLS fingerprints are unique, and that every member
    a permission names is registered. Raises RegistryFormatError naming the first offending field.
    """
    obj = _object(
        value,
        "",
        DOCUMENT_FIELDS,
        {
            "identity_providers",
            "gateway_keys",
            "allow_plain_http_push",
            "auditors",
            "licence_issuers",
            "witnesses",
            "witness_quorum",
        },
    )
    version = _int(obj["version"], "version", 1)
    if version != SUPPORTED_VERSION:
        raise RegistryFormatError(
            "version", f"unsupported version: expected {SUPPORTED_VERSION}, got {version}"
        )
    serial = _int(obj["serial"], "serial", 1)
    issued_at = parse_time(obj["issued_at"], "issued_at")
    expires_at = parse_time(obj["expires_at"], "expires_at")
    if expires_at <= issued_at:
        raise RegistryFormatError("expires_at", "must be later than issued_at")
    governance_key_id = _str(obj["governance_key_id"], "governance_key_id", pattern=_KEY_ID_RE)
    log = _log(obj["log"], "log")
    gateway_keys = _gateway_keys(obj.get("gateway_keys", []), "gateway_keys")
    plain_http = obj.get("allow_plain_http_push", False)
    if not isinstance(plain_http, bool):
        raise RegistryFormatError(
            "allow_plain_http_push", f"expected a boolean, got {_type(plain_http)}"
        )

    # Member ids first, so that permissions can refer to members listed after them.
    raw_members = _list(obj["members"], "members")
    ids: dict[MemberId, int] = {}
    for i, item in enumerate(raw_members):
        where = f"members[{i}]"
        if not isinstance(item, dict):
            raise RegistryFormatError(where, f"expected an object, got {_type(item)}")
        if "id" not in item:
            raise RegistryFormatError(f"{where}.id", "required field is missing")
        member_id = _member_id(item["id"], f"{where}.id")
        if member_id in ids:
            raise RegistryFormatError(
                f"{where}.id", f"duplicate member {member_id} (also members[{ids[member_id]}])"
            )
        ids[member_id] = i
    members = tuple(
        _member(m, f"members[{i}]", set(ids), plain_http) for i, m in enumerate(raw_members)
    )

    providers = tuple(
        _identity_provider(p, f"identity_providers[{i}]")
        for i, p in enumerate(
            _list(obj.get("identity_providers", []), "identity_providers", non_empty=False)
        )
    )

    key_owner: dict[str, str] = {}
    for key in log.keys:
        _claim(key_owner, key.key_id, "log.keys", "log")
    for i, gateway_key in enumerate(gateway_keys):
        _claim(
            key_owner,
            gateway_key.key.key_id,
            f"gateway_keys[{i}]",
            f"the gateway ({gateway_key.purpose})",
        )
    for i, member in enumerate(members):
        for j, key in enumerate(member.keys):
            _claim(key_owner, key.key_id, f"members[{i}].keys[{j}]", str(member.id))
    for i, provider in enumerate(providers):
        for j, key in enumerate(provider.keys):
            _claim(key_owner, key.key_id, f"identity_providers[{i}].keys[{j}]", provider.name)
    from gateway.registry._licences import licence_keys, parse_licence_issuers  # (primitives)

    licence_issuers = parse_licence_issuers(obj.get("licence_issuers", []), "licence_issuers")
    for where, key_id, authority in licence_keys(licence_issuers, "licence_issuers"):
        _claim(key_owner, key_id, where, authority)
    from gateway.registry._witnesses import parse_witnesses  # (primitives)

    witnesses, quorum = parse_witnesses(
        obj.get("witnesses", []), obj.get("witness_quorum", 0), log.origin
    )
    for i, witness in enumerate(witnesses):  # a witness key signs for nobody else
        key_id = witness.public_key.key_id
        if key_id in key_owner:
            raise RegistryFormatError(
                f"witnesses[{i}].public_key", f"key {key_id} also belongs to {key_owner[key_id]}"
            )
        key_owner[key_id] = f"witness {witness.name}"
    if governance_key_id in key_owner:
        raise RegistryFormatError(
            "governance_key_id",
            f"the governance key is also used by {key_owner[governance_key_id]}",
        )
    fingerprint_owner: dict[str, MemberId] = {}
    for i, member in enumerate(members):
        for j, fp in enumerate(member.tls_fingerprints):
            if fp in fingerprint_owner and fingerprint_owner[fp] != member.id:
                raise RegistryFormatError(
                    f"members[{i}].tls_fingerprints[{j}]",
                    f"fingerprint already bound to {fingerprint_owner[fp]}",
                )
            fingerprint_owner[fp] = member.id
    from gateway.registry._auditors import parse_auditors  # uses this module's primitives

    auditors = parse_auditors(obj.get("auditors", []), "auditors", fingerprint_owner)

    return RegistryDocument(
        version=version,
        serial=serial,
        issued_at=issued_at,
        expires_at=expires_at,
        governance_key_id=governance_key_id,
        log=log,
        members=members,
        identity_providers=providers,
        gateway_keys=gateway_keys,
        allow_plain_http_push=plain_http,
        auditors=auditors,
        licence_issuers=licence_issuers,
        witnesses=witnesses,
        witness_quorum=quorum,
    )


def _claim(owners: dict[str, str], key_id: str, field: str, owner: str) -> None:
    if key_id in owners:
        raise RegistryFormatError(
            f"{field}.key_id", f"key {key_id} also belongs to {owners[key_id]}"
        )
    owners[key_id] = owner


def _revocation_url(value: Any, field: str) -> str:
    """An identity provider's optional ``revocation_url``: http(s), at most 2048 characters."""
    if value == "":
        return ""
    where = _join(field, "revocation_url")
    url = _str(value, where)
    if (
        len(url) > 2048
        or not url.startswith(("https://", "http://"))
        or any(c.isspace() for c in url)
    ):
        raise RegistryFormatError(where, "expected an http(s) URL of at most 2048 characters")
    return url
