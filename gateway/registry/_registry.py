"""``TrustRegistry``: the lookups the gateway makes against a loaded, verified registry."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.registry._licences import LicenceIssuers
from gateway.registry._model import (
    Auditor,
    Delivery,
    IdentityProvider,
    KeyEntry,
    KeyPurpose,
    Member,
    MemberId,
    Region,
    RegistryDocument,
    Witness,
    format_time,
    normalize_fingerprint,
)
from gateway.registry.errors import (
    RegistryExpired,
    RegistryLookupError,
    RegistryNotYetValid,
    RegistryValidityError,
)
from ledger.crypto import PublicKey, sm3

__all__ = ["Decision", "TrustRegistry"]


@dataclass(frozen=True)
class Decision:
    """The answer to a permission question, with the reason (for logs and gRPC details)."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


class TrustRegistry:
    """A verified registry document and its indexes. Immutable; safe to share across threads.

    Made by ``load_registry`` (which checks the signature and validity period); the
    constructor itself checks nothing beyond what ``parse_document`` did.
    """

    def __init__(
        self,
        document: RegistryDocument,
        raw_document: Mapping[str, Any],
        canonical: bytes,
        signed: bytes = b"",
    ) -> None:
        self.document = document
        self.raw_document = raw_document
        self.canonical = canonical
        self.signed = signed
        self.digest = sm3(canonical).hex()
        self._members = {m.id: m for m in document.members}
        self._by_fingerprint = {fp: m for m in document.members for fp in m.tls_fingerprints}
        self._auditors = {a.id: a for a in document.auditors}
        self._auditor_by_fingerprint = {
            fp: a for a in document.auditors for fp in a.tls_fingerprints
        }
        self._member_keys = {k.key_id: (m, k) for m in document.members for k in m.keys}
        self._log_keys = {k.key_id: k for k in document.log.keys}
        self._gateway_keys: dict[str, tuple[KeyPurpose, KeyEntry]] = {
            k.key_id: (KeyPurpose.CHECKPOINT, k) for k in document.log.keys
        }
        self._gateway_keys.update({g.key.key_id: (g.purpose, g.key) for g in document.gateway_keys})

    # -- document facts -----------------------------------------------------------------
    @property
    def serial(self) -> int:
        return self.document.serial

    @property
    def issued_at(self) -> datetime:
        return self.document.issued_at

    @property
    def expires_at(self) -> datetime:
        return self.document.expires_at

    @property
    def governance_key_id(self) -> str:
        return self.document.governance_key_id

    @property
    def allow_plain_http_push(self) -> bool:
        """A dev registry: plain ``http`` push endpoints, answers relayed as ``http-dev``."""
        return self.document.allow_plain_http_push

    def check_valid(self, now: datetime) -> None:
        """Raise RegistryNotYetValid or RegistryExpired unless ``issued_at <= now < expires_at``."""
        issued, expires = self.issued_at, self.expires_at
        if now < issued:
            raise RegistryNotYetValid(
                f"registry serial {self.serial} is not yet valid: issued_at "
                f"{format_time(issued)} is after now {format_time(now)}",
                now,
                issued,
                expires,
            )
        if now >= expires:
            raise RegistryExpired(
                f"registry serial {self.serial} expired at {format_time(expires)} "
                f"(now {format_time(now)})",
                now,
                issued,
                expires,
            )

    def is_valid_at(self, now: datetime) -> bool:
        try:
            self.check_valid(now)
        except RegistryValidityError:
            return False
        return True

    # -- members ------------------------------------------------------------------------
    @property
    def members(self) -> tuple[Member, ...]:
        return self.document.members

    def get_member(self, member_id: MemberId | str) -> Member | None:
        """The member, or None if it is not registered (or the id is malformed)."""
        try:
            return self._members.get(MemberId.coerce(member_id))
        except ValueError:
            return None

    def member(self, member_id: MemberId | str) -> Member:
        """The member; raises RegistryLookupError if it is not registered."""
        found = self.get_member(member_id)
        if found is None:
            raise RegistryLookupError(f"unknown member {member_id}")
        return found

    def member_for_cert_fingerprint(self, fingerprint: str | bytes) -> Member | None:
        """The member a TLS client certificate's SHA-256 fingerprint is bound to, or None."""
        try:
            return self._by_fingerprint.get(normalize_fingerprint(fingerprint))
        except ValueError:
            return None

    # -- auditors -----------------------------------------------------------------------
    @property
    def auditors(self) -> tuple[Auditor, ...]:
        return self.document.auditors

    def get_auditor(self, auditor_id: str) -> Auditor | None:
        """The auditor ``auditor/<name>``, or None if it is not registered."""
        return self._auditors.get(auditor_id)

    def auditor_for_cert_fingerprint(self, fingerprint: str | bytes) -> Auditor | None:
        """The auditor a TLS client certificate's SHA-256 fingerprint is bound to, or None.

        Whether the auditor is valid now is the caller's check (``Auditor.validity_problem``):
        the access policy refuses an auditor outside its period (``gateway.rpc.access``).
        """
        try:
            return self._auditor_by_fingerprint.get(normalize_fingerprint(fingerprint))
        except ValueError:
            return None

    def delivery(self, member_id: MemberId | str) -> Delivery:
        """How ``member_id`` receives; raises RegistryLookupError for an unknown member."""
        return self.member(member_id).delivery

    # -- member keys --------------------------------------------------------------------
    def key_owner(self, key_id: str) -> Member | None:
        """The member that registered ``key_id``, or None."""
        found = self._member_keys.get(key_id)
        return found[0] if found else None

    def key_valid_at(self, key_id: str, at: datetime) -> KeyEntry:
        """The member key ``key_id`` if it is valid at ``at``; else RegistryLookupError."""
        found = self._member_keys.get(key_id)
        if found is None:
            raise RegistryLookupError(f"unknown key {key_id}")
        problem = found[1].validity_problem(at)
        if problem:
            raise RegistryLookupError(problem)
        return found[1]

    def signing_key(self, member_id: MemberId | str, key_id: str, at: datetime) -> PublicKey:
        """The public key to verify ``member_id``'s signature made with ``key_id`` at ``at``.

        Raises RegistryLookupError if the member or key is unknown, the key belongs to
        another member, or the key is not valid at ``at``.
        """
        member = self.member(member_id)
        entry = member.key(key_id)
        if entry is None:
            owner = self.key_owner(key_id)
            if owner is not None:
                raise RegistryLookupError(f"key {key_id} belongs to {owner.id}, not to {member.id}")
            raise RegistryLookupError(f"unknown key {key_id} for member {member.id}")
        problem = entry.validity_problem(at)
        if problem:
            raise RegistryLookupError(problem)
        return entry.public_key

    # -- permissions --------------------------------------------------------------------
    def check_send(
        self,
        sender: MemberId | str,
        recipient: MemberId | str,
        kind: str,
        matter: str,
    ) -> Decision:
        """May ``sender`` send an exchange of ``kind`` about ``matter`` to ``recipient``?

        Both sides must agree: a send permission of the sender must match (kind, matter,
        recipient) and a receive permission of the recipient must match (kind, matter,
        sender). A member never sends to itself through the gateway.
        """
        sender_member = self.get_member(sender)
        if sender_member is None:
            return Decision(False, f"sender {sender} is not a registered member")
        recipient_member = self.get_member(recipient)
        if recipient_member is None:
            return Decision(False, f"recipient {recipient} is not a registered member")
        s, r = sender_member.id, recipient_member.id
        if s == r:
            return Decision(False, f"sender and recipient are the same member {s}")
        what = f"kind {kind!r} for matter {matter!r}"
        send = next(
            (
                i
                for i, rule in enumerate(sender_member.send_permissions)
                if rule.matches(kind, matter, r)
            ),
            None,
        )
        if send is None:
            return Decision(False, f"no send permission of {s} allows {what} to {r}")
        receive = next(
            (
                i
                for i, rule in enumerate(recipient_member.receive_permissions)
                if rule.matches(kind, matter, s)
            ),
            None,
        )
        if receive is None:
            return Decision(False, f"no receive permission of {r} allows {what} from {s}")
        return Decision(
            True,
            f"allowed by send_permissions[{send}] of {s} and receive_permissions[{receive}] of {r}",
        )

    def may_send(
        self, sender: MemberId | str, recipient: MemberId | str, kind: str, matter: str
    ) -> bool:
        """``check_send(...).allowed``."""
        return self.check_send(sender, recipient, kind, matter).allowed

    # -- witnesses ----------------------------------------------------------------------
    @property
    def witnesses(self) -> tuple[Witness, ...]:
        """Every witness listed, whichever logs it witnesses."""
        return self.document.witnesses

    @property
    def witness_quorum(self) -> int:
        return self.document.witness_quorum

    def log_witnesses(self, origin: str | None = None) -> tuple[Witness, ...]:
        """The witnesses of log ``origin`` (default: the gateway's own log)."""
        origin = self.log_origin if origin is None else origin
        return tuple(w for w in self.document.witnesses if origin in w.logs)

    # -- gateway log --------------------------------------------------------------------
    @property
    def log_origin(self) -> str:
        return self.document.log.origin

    @property
    def log_keys(self) -> tuple[KeyEntry, ...]:
        return self.document.log.keys

    def log_key(self, key_id: str, at: datetime | None = None) -> PublicKey:
        """A gateway checkpoint key by id (valid at ``at`` if given); else RegistryLookupError."""
        entry = self._log_keys.get(key_id)
        if entry is None:
            raise RegistryLookupError(f"unknown log key {key_id}")
        problem = entry.validity_problem(at) if at is not None else None
        if problem:
            raise RegistryLookupError(problem)
        return entry.public_key

    def gateway_key(
        self, key_id: str, purpose: KeyPurpose | str, at: datetime | None = None
    ) -> PublicKey:
        """The gateway's public key ``key_id`` if the registry lists it for ``purpose``.

        The purpose check is the point: a relayed envelope signed with the checkpoint key,
        or a checkpoint signed with the attestation key, is refused. Raises
        RegistryLookupError for an unknown key, a key of another purpose, or (with ``at``)
        a key not valid then.
        """
        wanted = KeyPurpose(purpose)
        found = self._gateway_keys.get(key_id)
        if found is None:
            raise RegistryLookupError(f"unknown gateway {wanted} key {key_id}")
        if found[0] is not wanted:
            raise RegistryLookupError(
                f"key purpose: key {key_id} is for {found[0]}, not for {wanted}"
            )
        problem = found[1].validity_problem(at) if at is not None else None
        if problem:
            raise RegistryLookupError(problem)
        return found[1].public_key

    def gateway_keys(
        self, purpose: KeyPurpose | str, at: datetime | None = None
    ) -> dict[str, PublicKey]:
        """The gateway's keys for ``purpose`` by key id (only those valid at ``at``)."""
        wanted = KeyPurpose(purpose)
        return {
            key_id: entry.public_key
            for key_id, (p, entry) in self._gateway_keys.items()
            if p is wanted and (at is None or entry.valid_at(at))
        }

    # -- identity providers -------------------------------------------------------------
    def identity_providers(
        self, region: Region | str | None = None
    ) -> tuple[IdentityProvider, ...]:
        """The identity providers, all or those of one region."""
        providers = self.document.identity_providers
        if region is None:
            return providers
        return tuple(p for p in providers if p.region == region)

    def identity_provider_keys(
        self, region: Region | str, at: datetime | None = None
    ) -> tuple[KeyEntry, ...]:
        """The assertion-signing keys of ``region``'s providers (only those valid at ``at``)."""
        return tuple(
            k
            for p in self.identity_providers(region)
            for k in p.keys
            if at is None or k.valid_at(at)
        )

    @functools.cached_property
    def licence_issuers(self) -> LicenceIssuers:
        """The ``licence_issuers`` section's lookups (e-licence keys, revoked ids)."""
        return LicenceIssuers(self.document.licence_issuers)

    def __repr__(self) -> str:
        return (
            f"TrustRegistry(serial={self.serial}, members={len(self.members)}, "
            f"expires_at={format_time(self.expires_at)})"
        )
