"""Persistent pseudonymous person keys (like the eIDAS persistent identifier).

``person_key = "pk-" + base32(HMAC-SM3(secret, message)[:20])`` (lower case, 32 characters),
with HMAC per RFC 2104 over SM3 (GB/T 32905) and::

    message = "yrd-person-key/v1" 0x00 canonical_identifier 0x00 scope
    canonical_identifier = document_type ":" normalised_number     (natural persons)
                         | "uscc:" credit_code                     (legal persons)
    scope = "global" | "rp:" relying_party_id

The key is stable for one document of one person, differs between people, and, when the
deriver is configured per relying party, differs between relying parties so that they
cannot join their records on it. Without the secret it cannot be reversed or recomputed
(resident ID numbers have little entropy, so a plain hash could be brute-forced).

A person recognised once by resident ID card and once by passport gets two keys: linking
documents needs the person, not arithmetic.

**Organisation-agent keys.** A legal person recognised through one of its people (the legal
representative or an authorised agent) gets its own person key (from ``uscc:<code>``) and an
agent key binding that person to it in that role::

    agent_key = "ak-" + base32(HMAC-SM3(secret, message)[:20])
    message   = "yrd-agent-key/v1" 0x00 organisation_key 0x00 agent_person_key 0x00 role

where both keys are the person keys above (so per relying party when the deriver is) and
``role`` is the canonical :class:`~gateway.identity.AgentRole` value. The same agent of the
same company in the same role always gets the same agent key; another agent, another company
or another role gets another one, and the key reveals neither the person nor the company.
"""

from __future__ import annotations

import base64
import unicodedata

from cryptography.hazmat.primitives import hashes, hmac

from gateway.identity._enums import AgentRole
from gateway.identity.errors import IdentityError
from gateway.identity.model import PERSON_KEY_RE, LegalPerson, NaturalPerson, Subject

__all__ = [
    "MIN_SECRET_BYTES",
    "PersonKeyDeriver",
    "canonical_identifier",
    "derive_agent_key",
    "derive_person_key",
]

#: Shortest accepted HMAC secret: the SM3 output size.
MIN_SECRET_BYTES = 32
_DOMAIN = b"yrd-person-key/v1"
_AGENT_DOMAIN = b"yrd-agent-key/v1"
_KEY_BYTES = 20
_MAX_RP = 256


def canonical_identifier(subject: Subject) -> str:
    """The string a person key is derived from: document type and normalised number."""
    if isinstance(subject, NaturalPerson):
        return f"{subject.document_type.value}:{subject.document_number}"
    if isinstance(subject, LegalPerson):
        return f"uscc:{subject.uscc}"
    raise IdentityError(
        f"person key subject: expected NaturalPerson or LegalPerson, got {type(subject).__name__}"
    )


def _check_secret(secret: bytes) -> bytes:
    if not isinstance(secret, bytes | bytearray):
        raise IdentityError(f"person key secret: expected bytes, got {type(secret).__name__}")
    if len(secret) < MIN_SECRET_BYTES:
        raise IdentityError(
            f"person key secret length: expected at least {MIN_SECRET_BYTES} bytes, "
            f"got {len(secret)}"
        )
    return bytes(secret)


def _scope(relying_party: str | None) -> bytes:
    if relying_party is None:
        return b"global"
    if not isinstance(relying_party, str) or not relying_party:
        raise IdentityError(f"relying party id: expected a non-empty string, got {relying_party!r}")
    if len(relying_party) > _MAX_RP:
        raise IdentityError(
            f"relying party id length: expected at most {_MAX_RP}, got {len(relying_party)}"
        )
    if any(unicodedata.category(ch).startswith("C") for ch in relying_party):
        raise IdentityError("relying party id: expected printable characters, got a control")
    return b"rp:" + relying_party.encode("utf-8")


def _derive(secret: bytes, identifier: str, relying_party: str | None) -> str:
    mac = hmac.HMAC(secret, hashes.SM3())
    mac.update(b"\x00".join((_DOMAIN, identifier.encode("utf-8"), _scope(relying_party))))
    digest = mac.finalize()[:_KEY_BYTES]
    return "pk-" + base64.b32encode(digest).decode("ascii").lower()


def derive_person_key(subject: Subject, secret: bytes, *, relying_party: str | None = None) -> str:
    """The person key of ``subject`` under ``secret``; scoped to ``relying_party`` if given.

    Raises :class:`IdentityError` for a secret shorter than :data:`MIN_SECRET_BYTES` or a
    malformed relying party id.
    """
    return _derive(_check_secret(secret), canonical_identifier(subject), relying_party)


def _agent_key(secret: bytes, organisation_key: str, agent_person_key: str, role: str) -> str:
    if not PERSON_KEY_RE.fullmatch(organisation_key) or not PERSON_KEY_RE.fullmatch(
        agent_person_key
    ):
        raise IdentityError("agent key: expected two person keys (pk-...)")
    try:
        role = AgentRole(role).value
    except ValueError:
        raise IdentityError(
            f"agent key role: expected legal_representative or authorised_agent, got {role!r}"
        ) from None
    mac = hmac.HMAC(secret, hashes.SM3())
    parts = (_AGENT_DOMAIN, organisation_key.encode(), agent_person_key.encode(), role.encode())
    mac.update(b"\x00".join(parts))
    return "ak-" + base64.b32encode(mac.finalize()[:_KEY_BYTES]).decode("ascii").lower()


def derive_agent_key(
    organisation_key: str, agent_person_key: str, role: AgentRole | str, secret: bytes
) -> str:
    """The organisation-agent key (see the module docstring) of a person acting, with
    person key ``agent_person_key``, in ``role`` for the organisation ``organisation_key``."""
    return _agent_key(_check_secret(secret), organisation_key, agent_person_key, str(role))


class PersonKeyDeriver:
    """Derives person keys with one configured secret and scoping policy.

    With ``per_relying_party=False`` (the default) every relying party sees the same key and
    :meth:`derive` refuses a ``relying_party`` argument; with ``True`` it requires one, so a
    configuration mistake cannot silently produce linkable keys.
    """

    def __init__(self, secret: bytes, *, per_relying_party: bool = False) -> None:
        self._secret = _check_secret(secret)
        self.per_relying_party = per_relying_party

    def derive(self, subject: Subject, relying_party: str | None = None) -> str:
        if self.per_relying_party and relying_party is None:
            raise IdentityError(
                "person key scope: expected a relying party id (per-relying-party keys), got none"
            )
        if not self.per_relying_party and relying_party is not None:
            raise IdentityError(
                "person key scope: expected no relying party id (global keys), "
                f"got {relying_party!r}"
            )
        return _derive(self._secret, canonical_identifier(subject), relying_party)

    def agent_key(self, organisation_key: str, agent_person_key: str, role: AgentRole) -> str:
        """The organisation-agent key of two person keys this deriver made (same scope)."""
        return _agent_key(self._secret, organisation_key, agent_person_key, str(role))

    def __repr__(self) -> str:
        return f"PersonKeyDeriver(per_relying_party={self.per_relying_party})"
