"""The claim checks every province format shares (steps 5 to 9 of
:meth:`gateway.identity.province.AssertionFormat.verify`), and local-method level mapping.

Each check reads decoded :class:`Claims`, names the format in its message (``label``) and
refuses with :class:`AssertionRejected` and the reason given in its docstring.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from gateway.identity._enums import AgentRole, AssuranceLevel, AuthMethod, DocumentType, SubjectKind
from gateway.identity._province_types import Claims
from gateway.identity.errors import AssertionRejected, IdentityError, InvalidIdNumber
from gateway.identity.model import LegalPerson, NaturalPerson
from gateway.uscc import uscc_problem

__all__ = [
    "check_audience",
    "check_issuer",
    "check_validity",
    "legal_subject_of",
    "level_from_mapping",
    "map_methods",
    "subject_of",
]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_issuer(claims: Claims, issuer: str, *, label: str) -> None:
    """The claims' issuer is ``issuer`` (``unknown_issuer``)."""
    if claims.issuer != issuer:
        raise AssertionRejected(
            "unknown_issuer",
            f"{label} issuer: expected {issuer!r}, got {claims.issuer!r}",
        )


def check_validity(claims: Claims, now: datetime, leeway: timedelta, *, label: str) -> None:
    """``not_before - leeway <= now`` (``not_yet_valid``) and ``now < not_after + leeway``
    (``expired``)."""
    if now < claims.not_before - leeway:
        raise AssertionRejected(
            "not_yet_valid",
            f"{label} not yet valid: not before {_iso(claims.not_before)}, now {_iso(now)}",
        )
    if now >= claims.not_after + leeway:
        raise AssertionRejected(
            "expired",
            f"{label} expired: not on or after {_iso(claims.not_after)}, now {_iso(now)}",
        )


def check_audience(claims: Claims, audience: str, *, label: str) -> None:
    """The claims' audience is ``audience`` (``wrong_audience``)."""
    if claims.audience != audience:
        raise AssertionRejected(
            "wrong_audience",
            f"{label} audience: expected {audience!r}, got {claims.audience!r}",
        )


def subject_of(
    claims: Claims, document_types: Mapping[str, DocumentType], *, label: str
) -> NaturalPerson:
    """The validated subject: the local document code must be in ``document_types``
    (``malformed``), the number must pass its check, GB 11643 for resident IDs
    (``invalid_id_number``), and the rest must build a :class:`NaturalPerson` (``malformed``).
    """
    document_type = document_types.get(claims.document_code)
    if document_type is None:
        raise AssertionRejected(
            "malformed",
            f"{label} document type: unknown code {claims.document_code!r}",
        )
    try:
        return NaturalPerson(
            claims.name, document_type, claims.document_number, claims.date_of_birth
        )
    except InvalidIdNumber as exc:
        raise AssertionRejected("invalid_id_number", f"{label} subject: {exc}") from exc
    except IdentityError as exc:
        raise AssertionRejected("malformed", f"{label} subject: {exc}") from exc


def map_methods(
    claims: Claims, methods: Mapping[str, frozenset[AuthMethod]], *, label: str
) -> frozenset[AuthMethod]:
    """The canonical methods of the claims' local method codes; at least one code, each
    known in ``methods`` (``malformed``)."""
    unknown = sorted(m for m in set(claims.methods) if m not in methods)
    if not claims.methods or unknown:
        raise AssertionRejected(
            "malformed",
            f"{label} authentication method: unknown {', '.join(unknown) or 'none'}",
        )
    return frozenset().union(*(methods[m] for m in claims.methods))


def level_from_mapping(
    codes: Iterable[str], mapping: Mapping[str, str], *, label: str = "province"
) -> AssuranceLevel:
    """The level of local method ``codes`` used together under ``mapping``.

    ``mapping`` keys are single codes, or codes joined by ``+`` for a combination; the level
    is the highest of each code's own level and of every combination the codes contain
    (the rule of :func:`gateway.identity.assess_level`). A code without a level is refused
    (``malformed``) rather than guessed.
    """
    used = frozenset(codes)
    if not used:
        raise AssertionRejected("malformed", "authentication methods: expected at least one")
    unknown = sorted(c for c in used if c not in mapping)
    if unknown:
        raise AssertionRejected(
            "malformed",
            f"authentication method without a level in the {label} mapping: got "
            f"{', '.join(unknown)}",
        )
    levels = []
    for key, value in mapping.items():
        parts = frozenset(key.split("+"))
        if parts <= used:
            try:
                levels.append(AssuranceLevel(value))
            except ValueError:
                raise IdentityError(
                    f"{label} level mapping {key!r}: expected low, substantial or high, "
                    f"got {value!r}"
                ) from None
    return max(levels)


def legal_subject_of(
    claims: Claims, roles: Mapping[str, AgentRole], agent: NaturalPerson, *, label: str
) -> tuple[LegalPerson, AgentRole] | None:
    """The organisation a legal-person assertion is about and the canonical role in which
    ``agent`` (the validated person who authenticated) acts for it; None for a natural-
    person assertion, which must then name no organisation (``malformed``).

    Checks, in order, each ``malformed`` naming the check (never echoing the code): the
    subject kind is known; the credit code passes GB 32100 (``uscc check character ...``
    and the other checks of :func:`gateway.uscc.uscc_problem`); the local role code is in
    ``roles``; the rest builds a :class:`LegalPerson`; in the legal-representative role the
    person who authenticated is the organisation's legal representative.
    """
    org_fields = (claims.organisation_name, claims.uscc, claims.legal_representative)
    if claims.subject_kind == SubjectKind.NATURAL_PERSON:
        if any(org_fields) or claims.role_code:
            raise AssertionRejected(
                "malformed", f"{label} subject kind: natural_person with organisation fields"
            )
        return None
    if claims.subject_kind != SubjectKind.LEGAL_PERSON:
        raise AssertionRejected(
            "malformed",
            f"{label} subject kind: expected natural_person or legal_person, "
            f"got {claims.subject_kind[:20]!r}",
        )
    problem = uscc_problem(claims.uscc)
    if problem is not None:  # "credit code check character mismatch: ..." and the like
        raise AssertionRejected(
            "malformed", f"{label} organisation uscc {problem.removeprefix('credit code ')}"
        )
    role = roles.get(claims.role_code)
    if role is None:
        raise AssertionRejected(
            "malformed", f"{label} role: unknown code {claims.role_code[:40]!r}"
        )
    try:
        organisation = LegalPerson(
            claims.organisation_name, claims.uscc, claims.legal_representative
        )
    except IdentityError as exc:
        raise AssertionRejected("malformed", f"{label} organisation: {exc}") from exc
    if role is AgentRole.LEGAL_REPRESENTATIVE and agent.name != organisation.legal_representative:
        raise AssertionRejected(
            "malformed",
            f"{label} role: legal_representative, but the person who authenticated is not "
            "the organisation's legal representative",
        )
    return organisation, role
