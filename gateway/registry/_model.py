"""The typed trust-registry model: members, keys, permissions, delivery, providers, log keys.

Everything here is immutable and already validated: instances come from
``_parse.parse_document`` (or are built by hand in tests). Time comparisons use aware
datetimes; a key is valid on the half-open interval ``[not_before, not_after)``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from gateway.regions import Region
from gateway.registry._uscc import uscc_problem
from gateway.registry.errors import RegistryFormatError
from ledger.crypto import PublicKey

if TYPE_CHECKING:
    from gateway.registry._licences import LicenceRegion

__all__ = [
    "Auditor",
    "Delivery",
    "DeliveryMode",
    "GatewayKey",
    "IdentityProvider",
    "KeyEntry",
    "KeyPurpose",
    "LogConfig",
    "Member",
    "MemberId",
    "Region",
    "RegistryDocument",
    "Rule",
    "Witness",
    "certificate_fingerprint",
    "format_time",
    "normalize_fingerprint",
]

SUBSYSTEM_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_FINGERPRINT_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, order=True)
class MemberId:
    """A member system: region, organisation USCC (GB 32100) and subsystem.

    Text form ``REGION/ORG_CODE/SUBSYSTEM``, e.g. ``JS/1132050000YRD00027/suzhou``.
    """

    region: Region
    org_code: str
    subsystem: str

    def __post_init__(self) -> None:
        region = _region(self.region, "region")
        object.__setattr__(self, "region", region)
        problem = uscc_problem(self.org_code)
        if problem:
            raise RegistryFormatError("org_code", f"invalid unified social credit code: {problem}")
        if not isinstance(self.subsystem, str) or not SUBSYSTEM_RE.fullmatch(self.subsystem):
            raise RegistryFormatError(
                "subsystem", f"expected 1-64 characters of [A-Za-z0-9._-], got {self.subsystem!r}"
            )

    @classmethod
    def parse(cls, text: str) -> MemberId:
        """From the text form ``REGION/ORG_CODE/SUBSYSTEM``; raises RegistryFormatError."""
        parts = text.split("/") if isinstance(text, str) else []
        if len(parts) != 3:
            raise RegistryFormatError(
                "member id", f"expected REGION/ORG_CODE/SUBSYSTEM, got {text!r}"
            )
        return cls(parts[0], parts[1], parts[2])  # type: ignore[arg-type]

    @classmethod
    def coerce(cls, value: MemberId | str) -> MemberId:
        """A MemberId as is, or parsed from its text form."""
        return value if isinstance(value, MemberId) else cls.parse(value)

    def to_dict(self) -> dict[str, str]:
        return {"region": str(self.region), "org_code": self.org_code, "subsystem": self.subsystem}

    def __str__(self) -> str:
        return f"{self.region}/{self.org_code}/{self.subsystem}"


def _region(value: Any, field: str) -> Region:
    try:
        return Region(value)
    except ValueError:
        raise RegistryFormatError(field, f"expected one of SH, JS, ZJ, AH, got {value!r}") from None


@dataclass(frozen=True)
class KeyEntry:
    """An SM2 public key with its id and validity period ``[not_before, not_after)``."""

    key_id: str
    public_key: PublicKey
    not_before: datetime
    not_after: datetime

    def validity_problem(self, at: datetime) -> str | None:
        """Why this key is not valid at ``at``, or None if it is."""
        if at < self.not_before:
            return (
                f"key {self.key_id} is not valid before {format_time(self.not_before)} "
                f"(at {format_time(at)})"
            )
        if at >= self.not_after:
            return (
                f"key {self.key_id} expired at {format_time(self.not_after)} (at {format_time(at)})"
            )
        return None

    def valid_at(self, at: datetime) -> bool:
        return self.validity_problem(at) is None


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def glob_match(pattern: str, text: str) -> bool:
    """``*`` matches any run of characters (including none); nothing else is special."""
    return _glob(pattern).fullmatch(text) is not None


def peer_match(pattern: str, member: MemberId) -> bool:
    """``*`` (anyone), ``REGION/*`` (any member of a region) or an exact member id."""
    if pattern == "*":
        return True
    if pattern.endswith("/*"):
        return pattern[:-2] == str(member.region)
    return pattern == str(member)


@dataclass(frozen=True)
class Rule:
    """One permission: which kinds, for which matters, to (or from) which peers.

    ``kinds`` and ``matters`` are glob patterns where ``*`` matches anything (``case.*``,
    ``3101*``, ``*``); ``peers`` are ``*``, ``REGION/*`` or exact member ids. For a send
    permission the peers are recipients, for a receive permission they are senders.
    """

    kinds: tuple[str, ...]
    matters: tuple[str, ...]
    peers: tuple[str, ...]

    def matches(self, kind: str, matter: str, peer: MemberId) -> bool:
        return (
            any(glob_match(p, kind) for p in self.kinds)
            and any(glob_match(p, matter) for p in self.matters)
            and any(peer_match(p, peer) for p in self.peers)
        )


class DeliveryMode(StrEnum):
    PULL = "pull"  # the member pulls deliveries over the gRPC Pull stream
    PUSH = "push"  # the gateway pushes to the member's endpoint through its adapter


@dataclass(frozen=True)
class Delivery:
    """How a member receives: ``pull`` (no endpoint) or ``push`` to ``endpoint``.

    An ``https`` endpoint comes with ``server_cert_sha256``, the SHA-256 (hex) of the
    partner's server certificate: the gateway pushes only to the server holding it. A plain
    ``http`` endpoint (no pin) is accepted only in a registry that allows it (dev).
    """

    mode: DeliveryMode
    endpoint: str | None
    dialect: str
    server_cert_sha256: str | None = None


@dataclass(frozen=True)
class Member:
    """A registered member system and what it may do."""

    id: MemberId
    display_name: str
    keys: tuple[KeyEntry, ...]
    tls_fingerprints: tuple[str, ...]
    send_permissions: tuple[Rule, ...]
    receive_permissions: tuple[Rule, ...]
    delivery: Delivery

    def key(self, key_id: str) -> KeyEntry | None:
        return next((k for k in self.keys if k.key_id == key_id), None)


@dataclass(frozen=True)
class IdentityProvider:
    """A province's identity provider: its assertion-signing keys and LoA mapping.

    ``loa_mapping`` maps the province's authentication levels or methods to the canonical
    scale; its values are not interpreted by the registry (placeholder for identity work).
    ``revocation_url`` (optional, "" for none) is where the provider publishes its signed
    revocation list (``gateway.identity.revocation``).
    """

    region: Region
    name: str
    keys: tuple[KeyEntry, ...]
    loa_mapping: Mapping[str, str]
    revocation_url: str = ""


class KeyPurpose(StrEnum):
    """What a gateway key may sign; each purpose has its own key, so one leaked or misused
    key cannot stand in for another (a checkpoint key never vouches for an envelope)."""

    CHECKPOINT = "checkpoint"  # signed checkpoints of the Merkle log (``log.keys``)
    ATTESTATION = "attestation"  # envelopes the gateway signs as a member's adapter
    IDENTITY = "identity"  # canonical identity assertions


@dataclass(frozen=True)
class GatewayKey:
    """A gateway key listed in ``gateway_keys``: the key and the one purpose it serves."""

    purpose: KeyPurpose
    key: KeyEntry


@dataclass(frozen=True)
class LogConfig:
    """The gateway's Merkle log: its checkpoint origin line and checkpoint-signing keys."""

    origin: str
    keys: tuple[KeyEntry, ...]


@dataclass(frozen=True)
class Auditor:
    """An auditor: reads the whole log over ``yrd.v1.Audit`` and any receipt, and nothing else.

    Not a member: an auditor's certificate cannot submit, pull, resolve matters or recognise
    identities. It is known only by its TLS client certificate fingerprints and is accepted
    on the half-open interval ``[not_before, not_after)`` (docs/access.md).
    """

    id: str
    display_name: str
    tls_fingerprints: tuple[str, ...]
    not_before: datetime
    not_after: datetime

    def validity_problem(self, at: datetime) -> str | None:
        """Why this auditor is not accepted at ``at``, or None if it is."""
        if at < self.not_before:
            return f"auditor {self.id} is not valid before {format_time(self.not_before)}"
        if at >= self.not_after:
            return f"auditor {self.id} expired at {format_time(self.not_after)}"
        return None


@dataclass(frozen=True)
class Witness:
    """A member's witness (C2SP tlog-witness): it cosigns the checkpoints of ``logs``.

    ``name`` is the key name of its cosignature lines, ``public_key`` its SM2 key
    (``cosignature/v1``), ``url`` the prefix the gateway posts ``add-checkpoint`` to."""

    name: str
    public_key: PublicKey
    url: str
    logs: tuple[str, ...]


@dataclass(frozen=True)
class RegistryDocument:
    """A validated registry document (the part that the governance key signs)."""

    version: int
    serial: int
    issued_at: datetime
    expires_at: datetime
    governance_key_id: str
    log: LogConfig
    members: tuple[Member, ...]
    identity_providers: tuple[IdentityProvider, ...]
    gateway_keys: tuple[GatewayKey, ...] = ()
    allow_plain_http_push: bool = False
    """Dev registries only (``build_dev_registry`` sets it): push endpoints may be plain
    ``http``, and answers over them are relayed with channel ``http-dev``."""
    auditors: tuple[Auditor, ...] = ()
    licence_issuers: tuple[LicenceRegion, ...] = ()
    """Who issues which e-licence per region, and revoked licence ids (``_licences``)."""
    witnesses: tuple[Witness, ...] = ()
    witness_quorum: int = 0
    """Cosignatures of the log's witnesses a checkpoint needs to count as witnessed."""


def normalize_fingerprint(fingerprint: str | bytes) -> str:
    """Lower-case hex of a SHA-256 certificate fingerprint.

    Accepts 32 raw bytes, or 64 hex digits in either case, optionally separated by colons.
    Raises ValueError otherwise.
    """
    if isinstance(fingerprint, bytes):
        if len(fingerprint) != 32:
            raise ValueError(f"sha-256 fingerprint must be 32 bytes, got {len(fingerprint)}")
        return fingerprint.hex()
    text = fingerprint.replace(":", "").strip().lower() if isinstance(fingerprint, str) else ""
    if not _FINGERPRINT_RE.fullmatch(text):
        raise ValueError(f"expected 64 hex digits of a sha-256 fingerprint, got {fingerprint!r}")
    return text


def certificate_fingerprint(certificate: bytes) -> str:
    """SHA-256 (hex) of a certificate's DER; PEM ``CERTIFICATE`` input is decoded first."""
    if b"-----BEGIN CERTIFICATE-----" in certificate:
        body = certificate.split(b"-----BEGIN CERTIFICATE-----", 1)[1]
        body = body.split(b"-----END CERTIFICATE-----", 1)[0]
        certificate = base64.b64decode(b"".join(body.split()), validate=True)
    return hashlib.sha256(certificate).hexdigest()


def format_time(t: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, seconds precision unless there are microseconds."""
    t = t.astimezone(UTC)
    spec = "%Y-%m-%dT%H:%M:%S.%fZ" if t.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return t.strftime(spec)
