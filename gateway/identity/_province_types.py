"""The values a province assertion passes through: envelope, neutral claims, verified result.

:class:`Signed` is what a format's ``split`` returns, :class:`Claims` what its ``decode``
returns, and :class:`ProvinceAssertion` what :meth:`AssertionFormat.verify` hands to
recognition (see :mod:`gateway.identity.province`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from gateway.identity._enums import AgentRole, AuthMethod, Province
from gateway.identity.model import LegalPerson, NaturalPerson
from gateway.ops.privacy import mask_id_number, mask_name, mask_uscc

__all__ = ["Claims", "ProvinceAssertion", "Signed"]


@dataclass(frozen=True)
class Signed:
    """An assertion's envelope: the exact signed bytes, the signature, a key hint, the body."""

    signed_bytes: bytes
    signature: bytes
    key_id: str | None
    body: Any = field(repr=False)


@dataclass(frozen=True, repr=False)
class Claims:
    """A province assertion's content in neutral form; person fields are not yet validated.

    Times are timezone-aware. ``methods`` are the province's own method codes, as sent.
    """

    assertion_id: str
    issuer: str
    audience: str
    issued_at: datetime
    not_before: datetime
    not_after: datetime
    name: str
    document_code: str
    document_number: str
    date_of_birth: date
    methods: tuple[str, ...]
    authenticated_at: datetime
    # A legal-person assertion (``subject_kind == "legal_person"``) also names the
    # organisation and the local code of the role in which the person above (the one who
    # authenticated: the legal representative or an authorised agent) acts for it. Natural-
    # person assertions leave these empty.
    subject_kind: str = "natural_person"
    organisation_name: str = ""
    uscc: str = ""
    legal_representative: str = ""
    role_code: str = ""

    def __repr__(self) -> str:
        return (
            f"Claims(assertion_id={self.assertion_id!r}, issuer={self.issuer!r}, "
            f"audience={self.audience!r}, name={mask_name(self.name)!r}, "
            f"document_code={self.document_code!r}, "
            f"document_number={mask_id_number(self.document_number)!r}, "
            f"methods={self.methods!r}, subject_kind={self.subject_kind!r}, "
            f"uscc={mask_uscc(self.uscc)!r}, role_code={self.role_code!r})"
        )


@dataclass(frozen=True)
class ProvinceAssertion:
    """A verified province assertion, mapped onto the canonical model (level not yet set).

    ``digest`` is SM3 of the assertion bytes as received: what the log records. ``key_id``
    is the id of the identity-provider key whose signature verified. For a legal-person
    assertion ``subject`` is the :class:`LegalPerson`, ``agent`` the natural person acting
    for it and ``role`` the canonical role; for a natural person both are None.
    """

    province: Province
    format: str
    assertion_id: str
    issuer: str
    audience: str
    not_before: datetime
    not_after: datetime
    subject: NaturalPerson | LegalPerson
    local_methods: tuple[str, ...]
    methods: frozenset[AuthMethod]
    authenticated_at: datetime
    digest: bytes
    key_id: str = ""
    agent: NaturalPerson | None = None
    role: AgentRole | None = None
