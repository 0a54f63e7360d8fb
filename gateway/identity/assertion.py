"""Gateway-signed canonical identity assertions: a compact, JWT-shaped SM2 token.

Format::

    token   = b64url(header) "." b64url(payload) "." b64url(signature)
    header  = {"alg": "SM2-SM3", "kid": <gateway key_id>, "typ": "yrd-id+jwt"}
    signature = DER SM2 signature (GB/T 32918.2, default user ID) of the ASCII bytes
                b64url(header) "." b64url(payload)

``b64url`` is RFC 4648 base64url without padding; JSON is UTF-8 with sorted keys and no
spaces. The payload carries the pseudonymous person key and *masked* name and document
number, never the raw number (see :data:`CLAIMS`).

A legal person recognised through one of its people has ``subject_kind`` ``legal_person``,
the organisation's key as ``person_key``, its masked name and masked credit code
(``document_type`` ``unified_social_credit_code``) and three more claims
(:data:`AGENT_CLAIMS`): the organisation-agent key, the canonical role and the agent's
masked name. They come together or not at all, and only with a legal person.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from gateway.identity._enums import AgentRole, AssuranceLevel, AuthMethod, Province
from gateway.identity._strict import b64url_decode, b64url_encode, no_duplicate_keys
from gateway.identity.errors import AssertionRejected
from gateway.identity.levels import check_level
from gateway.identity.model import (
    AGENT_KEY_RE,
    PERSON_KEY_RE,
    NaturalPerson,
    RecognisedIdentity,
)
from gateway.ops.privacy import mask_id_number, mask_name, mask_uscc
from ledger.crypto import PrivateKey, PublicKey
from ledger.errors import SignatureError

__all__ = [
    "AGENT_CLAIMS",
    "ALG",
    "CLAIMS",
    "DEFAULT_ISSUER",
    "MAX_TOKEN_CHARS",
    "MAX_TTL",
    "TYP",
    "issue_canonical_assertion",
    "verify_canonical_assertion",
]

ALG = "SM2-SM3"
TYP = "yrd-id+jwt"
MAX_TTL = timedelta(hours=24)
MAX_TOKEN_CHARS = 8192
DEFAULT_ISSUER = "yrd-gateway"

#: Payload claims and their JSON types. Times are integer seconds since the epoch.
CLAIMS: Mapping[str, type] = {
    "iss": str,  # issuing gateway
    "aud": str,  # relying party the token is for
    "iat": int,  # issued at
    "exp": int,  # expires at (exclusive)
    "jti": str,  # unique token id, for replay caches
    "person_key": str,  # pseudonymous person key, "pk-" + 32 base32 characters
    "subject_kind": str,  # natural_person | legal_person
    "masked_name": str,  # 张*丰
    "document_type": str,  # a DocumentType value, or unified_social_credit_code
    "masked_document_number": str,  # 3101**********1234
    "level": str,  # low | substantial | high
    "methods": list,  # sorted canonical authentication methods
    "auth_time": int,  # when the province authenticated the subject
    "issuing_province": str,  # SH | JS | ZJ | AH
}
#: Claims of a legal person's agent: all three or none, only with ``legal_person``.
AGENT_CLAIMS: Mapping[str, type] = {
    "agent_key": str,  # organisation-agent key, "ak-" + 32 base32 characters
    "role": str,  # legal_representative | authorised_agent
    "masked_agent_name": str,  # 王*明
}
_HEADER_KEYS = frozenset({"alg", "kid", "typ"})
_METHOD_VALUES = frozenset(m.value for m in AuthMethod)


def _b64decode(part: str, label: str) -> bytes:
    return b64url_decode(
        part, f"assertion {label}", allow_empty=True, junk="expected base64url, got junk"
    )


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard constant {name}")


def _json_object(raw: bytes, label: str) -> dict[str, Any]:
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=no_duplicate_keys,
            parse_constant=_reject_constant,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise AssertionRejected("malformed", f"assertion {label}: invalid json: {exc}") from exc
    if not isinstance(value, dict):
        raise AssertionRejected(
            "malformed", f"assertion {label}: expected a json object, got {type(value).__name__}"
        )
    return value


def _seconds(moment: datetime, label: str) -> int:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{label}: expected a timezone-aware datetime, got {moment!r}")
    return int(moment.timestamp() // 1)


def issue_canonical_assertion(
    identity: RecognisedIdentity,
    audience: str,
    gateway_key: PrivateKey,
    now: datetime,
    ttl: timedelta = timedelta(minutes=5),
    *,
    issuer: str = DEFAULT_ISSUER,
    jti: str | None = None,
) -> str:
    """Sign a canonical assertion of ``identity`` for ``audience``, valid ``[now, now+ttl)``.

    ``now`` must be timezone-aware; ``ttl`` positive and at most :data:`MAX_TTL`; ``jti``
    defaults to 128 random bits. Raises ``ValueError`` on bad arguments.
    """
    if not isinstance(identity, RecognisedIdentity):
        raise ValueError(f"identity: expected RecognisedIdentity, got {type(identity).__name__}")
    if not isinstance(audience, str) or not audience:
        raise ValueError(f"audience: expected a non-empty string, got {audience!r}")
    if not timedelta(0) < ttl <= MAX_TTL:
        raise ValueError(f"ttl: expected more than 0 and at most {MAX_TTL}, got {ttl}")
    iat = _seconds(now, "now")
    subject = identity.subject
    if isinstance(subject, NaturalPerson):
        document_type = subject.document_type.value
        masked_number = mask_id_number(subject.document_number)
    else:
        document_type = "unified_social_credit_code"
        masked_number = mask_uscc(subject.uscc)
    payload = {
        "iss": issuer,
        "aud": audience,
        "iat": iat,
        "exp": iat + max(1, int(ttl.total_seconds())),
        "jti": jti if jti is not None else secrets.token_urlsafe(16),
        "person_key": identity.person_key,
        "subject_kind": subject.kind,
        "masked_name": mask_name(subject.name),
        "document_type": document_type,
        "masked_document_number": masked_number,
        "level": identity.level.value,
        "methods": sorted(m.value for m in identity.methods),
        "auth_time": _seconds(identity.authenticated_at, "authenticated_at"),
        "issuing_province": identity.issuing_province.value,
    }
    if identity.agent is not None and identity.role is not None:
        payload["agent_key"] = identity.agent_key
        payload["role"] = identity.role.value
        payload["masked_agent_name"] = mask_name(identity.agent.name)
    header = {"alg": ALG, "kid": gateway_key.public_key.key_id, "typ": TYP}
    signing_input = f"{b64url_encode(_json_bytes(header))}.{b64url_encode(_json_bytes(payload))}"
    signature = gateway_key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"


def verify_canonical_assertion(
    token: str,
    trusted_keys: Mapping[str, PublicKey],
    audience: str,
    now: datetime,
    *,
    leeway: timedelta = timedelta(0),
    required_level: AssuranceLevel | str | None = None,
    issuer: str | None = None,
) -> dict[str, Any]:
    """Verify a canonical assertion and return its claims.

    Steps, each refusing with :class:`AssertionRejected` and the reason shown:

    1. shape: three base64url parts, at most :data:`MAX_TOKEN_CHARS` (``malformed``)
    2. header: exactly alg, kid, typ with our alg and typ (``malformed``)
    3. key: ``kid`` in ``trusted_keys`` (``unknown_issuer``)
    4. signature over the first two parts (``bad_signature``)
    5. payload: exactly the claims of :data:`CLAIMS` (and, for a legal person with an
       agent, :data:`AGENT_CLAIMS`), well typed (``malformed``)
    6. time: ``iat - leeway <= now`` (``not_yet_valid``), ``now < exp + leeway`` (``expired``)
    7. audience equals ``audience`` (``wrong_audience``); ``iss`` equals ``issuer`` when
       given (``unknown_issuer``)
    8. level at least ``required_level`` when given (``level_too_low``)
    """
    # (1): shape
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        size = len(token) if isinstance(token, str) else type(token).__name__
        raise AssertionRejected(
            "malformed", f"assertion size: expected at most {MAX_TOKEN_CHARS} chars, got {size}"
        )
    parts = token.split(".")
    if len(parts) != 3:
        raise AssertionRejected("malformed", f"assertion parts: expected 3, got {len(parts)}")
    header_b64, payload_b64, signature_b64 = parts
    header_raw = _b64decode(header_b64, "header")
    payload_raw = _b64decode(payload_b64, "payload")
    signature = _b64decode(signature_b64, "signature")

    # (2): header
    header = _json_object(header_raw, "header")
    if set(header) != _HEADER_KEYS:
        raise AssertionRejected(
            "malformed",
            f"assertion header fields: expected alg, kid, typ, got {', '.join(sorted(header))}",
        )
    if header["alg"] != ALG:
        raise AssertionRejected(
            "malformed", f"assertion header alg: expected {ALG}, got {header['alg']!r}"
        )
    if header["typ"] != TYP:
        raise AssertionRejected(
            "malformed", f"assertion header typ: expected {TYP}, got {header['typ']!r}"
        )
    kid = header["kid"]
    if not isinstance(kid, str):
        raise AssertionRejected(
            "malformed", f"assertion header kid: expected a string, got {kid!r}"
        )

    # (3): key
    key = trusted_keys.get(kid)
    if key is None:
        raise AssertionRejected(
            "unknown_issuer", f"assertion signing key: expected a trusted kid, got {kid[:16]!r}"
        )

    # (4): signature
    try:
        key.verify(f"{header_b64}.{payload_b64}".encode("ascii"), signature)
    except SignatureError as exc:
        raise AssertionRejected("bad_signature", f"assertion signature: {exc}") from exc

    # (5): payload
    claims = _json_object(payload_raw, "payload")
    _check_claims(claims)

    # (6): time
    at = _seconds(now, "now")
    slack = int(leeway.total_seconds())
    if at < claims["iat"] - slack:
        raise AssertionRejected(
            "not_yet_valid",
            f"assertion not yet valid: iat {claims['iat']} is after now {at}",
        )
    if at >= claims["exp"] + slack:
        raise AssertionRejected("expired", f"assertion expired: exp {claims['exp']}, now {at}")

    # (7): audience and issuer
    if claims["aud"] != audience:
        raise AssertionRejected(
            "wrong_audience",
            f"assertion audience: expected {audience!r}, got {claims['aud']!r}",
        )
    if issuer is not None and claims["iss"] != issuer:
        raise AssertionRejected(
            "unknown_issuer", f"assertion issuer: expected {issuer!r}, got {claims['iss']!r}"
        )

    # (8): level
    if required_level is not None:
        check_level(claims["level"], required_level)
    return claims


def _check_claims(claims: dict[str, Any]) -> None:
    expected = dict(CLAIMS)
    if claims.get("subject_kind") == "legal_person" and AGENT_CLAIMS.keys() & claims.keys():
        expected.update(AGENT_CLAIMS)
    missing = sorted(expected.keys() - claims.keys())
    unknown = sorted(claims.keys() - expected.keys())
    if missing or unknown:
        raise AssertionRejected(
            "malformed",
            f"assertion claims: missing {', '.join(missing) or 'none'}, "
            f"unexpected {', '.join(unknown) or 'none'}",
        )
    for name, kind in expected.items():
        value = claims[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise AssertionRejected(
                "malformed",
                f"assertion claim {name}: expected {kind.__name__}, got {type(value).__name__}",
            )
    if claims["exp"] <= claims["iat"]:
        raise AssertionRejected(
            "malformed", f"assertion lifetime: expected exp > iat, got {claims['exp']} <= iat"
        )
    checks: list[tuple[str, bool]] = [
        ("level", claims["level"] in {lvl.value for lvl in AssuranceLevel}),
        ("issuing_province", claims["issuing_province"] in {p.value for p in Province}),
        ("person_key", PERSON_KEY_RE.fullmatch(claims["person_key"]) is not None),
        ("subject_kind", claims["subject_kind"] in {"natural_person", "legal_person"}),
        (
            "methods",
            bool(claims["methods"])
            and all(isinstance(m, str) and m in _METHOD_VALUES for m in claims["methods"]),
        ),
    ]
    if "agent_key" in claims:
        checks += [
            ("agent_key", AGENT_KEY_RE.fullmatch(claims["agent_key"]) is not None),
            ("role", claims["role"] in {r.value for r in AgentRole}),
        ]
    for name, ok in checks:
        if not ok:
            raise AssertionRejected(
                "malformed", f"assertion claim {name}: unexpected value {claims[name]!r}"
            )
