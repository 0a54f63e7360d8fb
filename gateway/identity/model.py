"""The canonical identity model every province's identity is mapped onto.

A *subject* is a :class:`NaturalPerson` or a :class:`LegalPerson`, carrying exactly the
minimum data set (:data:`MINIMUM_DATA_SET`, after the eIDAS minimum data set). A
:class:`RecognisedIdentity` is a subject authenticated by a province at some level.

Objects validate and normalise on construction (document numbers by GB 11643 / GB 32100,
see :mod:`gateway.identity.validation`) and convert to and from plain JSON dicts with
``to_dict`` / ``from_dict``, which refuse missing, unknown and mistyped fields. ``repr``
masks document numbers so that an object in a log line does not leak them.

Errors: :class:`IdentityError` for malformed data, its leaves :class:`InvalidIdNumber` and
:class:`InvalidCreditCode` for numbers that fail their checks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from gateway.identity._enums import AgentRole, AssuranceLevel, AuthMethod, DocumentType, Province
from gateway.identity.errors import IdentityError
from gateway.identity.validation import validate_document_number, validate_uscc
from gateway.ops.privacy import mask_id_number, mask_name, mask_uscc

__all__ = [
    "AGENT_KEY_RE",
    "MINIMUM_DATA_SET",
    "PERSON_KEY_RE",
    "AssuranceLevel",
    "AuthMethod",
    "DocumentType",
    "LegalPerson",
    "NaturalPerson",
    "Province",
    "RecognisedIdentity",
    "Subject",
    "subject_from_dict",
]

#: JSON fields of each kind of subject: the minimum data set, nothing more.
MINIMUM_DATA_SET: Mapping[str, tuple[str, ...]] = {
    "natural_person": ("name", "document_type", "document_number", "date_of_birth"),
    "legal_person": ("name", "uscc", "legal_representative"),
}

#: Shape of a pseudonymous person key (see :mod:`gateway.identity.pseudonym`).
PERSON_KEY_RE = re.compile(r"pk-[a-z2-7]{32}")
#: Shape of a pseudonymous organisation-agent key (see :mod:`gateway.identity.pseudonym`).
AGENT_KEY_RE = re.compile(r"ak-[a-z2-7]{32}")

_MAX_NAME = 128
# Document types whose number embeds the holder's birth date in positions 7-14.
_BIRTH_DATE_IN_NUMBER = {
    DocumentType.RESIDENT_ID_CARD,
    DocumentType.FOREIGN_PERMANENT_RESIDENT_ID,
}


def _clean_name(value: object, label: str) -> str:
    if not isinstance(value, str):
        raise IdentityError(f"{label}: expected a string, got {type(value).__name__}")
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        raise IdentityError(f"{label}: expected a non-empty name, got an empty string")
    if len(value) > _MAX_NAME:
        raise IdentityError(f"{label} length: expected at most {_MAX_NAME}, got {len(value)}")
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise IdentityError(f"{label}: expected printable characters, got a control character")
    return value


def _check_keys(data: object, expected: Iterable[str], label: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise IdentityError(f"{label}: expected a JSON object, got {type(data).__name__}")
    want = set(expected)
    missing = sorted(want - data.keys())
    unknown = sorted(str(k) for k in data.keys() - want)
    if missing:
        raise IdentityError(f"{label} fields: missing {', '.join(missing)}")
    if unknown:
        raise IdentityError(f"{label} fields: unexpected {', '.join(unknown)}")
    return data


def _parse_enum(enum: type[Enum], value: object, label: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise IdentityError(f"{label}: expected one of {allowed}, got {value!r}") from None


@dataclass(frozen=True, slots=True, repr=False)
class NaturalPerson:
    """A natural person: name, identity document and date of birth.

    ``document_number`` is validated for ``document_type`` and stored normalised. For
    resident ID cards and 2023 permanent resident ID cards the number's birth date must equal
    ``date_of_birth``.
    """

    name: str
    document_type: DocumentType
    document_number: str
    date_of_birth: date

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "name", _clean_name(self.name, "natural person name"))
        doc_type = _parse_enum(DocumentType, self.document_type, "natural person document type")
        set_(self, "document_type", doc_type)
        set_(self, "document_number", validate_document_number(doc_type, self.document_number))
        born = self.date_of_birth
        if isinstance(born, datetime) or not isinstance(born, date):
            raise IdentityError(
                f"natural person date of birth: expected a date, got {type(born).__name__}"
            )
        if doc_type in _BIRTH_DATE_IN_NUMBER and len(self.document_number) == 18:
            digits = self.document_number[6:14]
            embedded = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
            if embedded != born:
                raise IdentityError(
                    f"natural person date of birth: expected {embedded.isoformat()} "
                    f"(from the document number), got {born.isoformat()}"
                )

    @property
    def kind(self) -> str:
        return "natural_person"

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "name": self.name,
            "document_type": self.document_type.value,
            "document_number": self.document_number,
            "date_of_birth": self.date_of_birth.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NaturalPerson:
        data = _check_keys(data, ("kind", *MINIMUM_DATA_SET["natural_person"]), "natural person")
        if data["kind"] != "natural_person":
            raise IdentityError(
                f"natural person kind: expected natural_person, got {data['kind']!r}"
            )
        born = data["date_of_birth"]
        if not isinstance(born, str) or len(born) != 10:
            raise IdentityError(f"natural person date of birth: expected YYYY-MM-DD, got {born!r}")
        try:
            born_date = date.fromisoformat(born)
        except ValueError:
            raise IdentityError(
                f"natural person date of birth: expected YYYY-MM-DD, got {born!r}"
            ) from None
        return cls(data["name"], data["document_type"], data["document_number"], born_date)

    def __repr__(self) -> str:
        return (
            f"NaturalPerson(name={mask_name(self.name)!r}, "
            f"document_type={self.document_type.value}, "
            f"document_number={mask_id_number(self.document_number)!r})"
        )


@dataclass(frozen=True, slots=True, repr=False)
class LegalPerson:
    """A legal person or other organisation, identified by its unified social credit code."""

    name: str
    uscc: str
    legal_representative: str

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "name", _clean_name(self.name, "legal person name"))
        set_(self, "uscc", validate_uscc(self.uscc))
        rep = _clean_name(self.legal_representative, "legal representative name")
        set_(self, "legal_representative", rep)

    @property
    def kind(self) -> str:
        return "legal_person"

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "name": self.name,
            "uscc": self.uscc,
            "legal_representative": self.legal_representative,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LegalPerson:
        data = _check_keys(data, ("kind", *MINIMUM_DATA_SET["legal_person"]), "legal person")
        if data["kind"] != "legal_person":
            raise IdentityError(f"legal person kind: expected legal_person, got {data['kind']!r}")
        return cls(data["name"], data["uscc"], data["legal_representative"])

    def __repr__(self) -> str:
        return (
            f"LegalPerson(name={self.name!r}, uscc={mask_uscc(self.uscc)!r}, "
            f"legal_representative={mask_name(self.legal_representative)!r})"
        )


Subject = NaturalPerson | LegalPerson


def subject_from_dict(data: Mapping[str, Any]) -> Subject:
    """Build a subject from its JSON dict, dispatching on ``kind``."""
    if not isinstance(data, Mapping):
        raise IdentityError(f"subject: expected a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if kind == "natural_person":
        return NaturalPerson.from_dict(data)
    if kind == "legal_person":
        return LegalPerson.from_dict(data)
    raise IdentityError(f"subject kind: expected natural_person or legal_person, got {kind!r}")


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True, repr=False)
class RecognisedIdentity:
    """A subject authenticated by a province's identity provider.

    ``methods`` is the non-empty set of canonical authentication methods used together
    (``{PASSWORD, SMS_OTP}`` for password plus SMS code); plain strings are accepted and
    converted. ``authenticated_at`` must be timezone-aware and is stored in UTC.
    ``person_key`` is the pseudonymous key from :mod:`gateway.identity.pseudonym`.

    A legal person recognised from a province assertion also has its ``agent`` (the
    natural person who authenticated and acts for it), the ``role`` in which they act and
    the ``agent_key`` binding the two (``ak-...``); all three or none, and only for a
    :class:`LegalPerson`. ``person_key`` is then the organisation's key.
    """

    subject: Subject
    level: AssuranceLevel
    methods: frozenset[AuthMethod]
    authenticated_at: datetime
    issuing_province: Province
    person_key: str
    agent: NaturalPerson | None = None
    role: AgentRole | None = None
    agent_key: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.subject, NaturalPerson | LegalPerson):
            raise IdentityError(
                f"identity subject: expected NaturalPerson or LegalPerson, "
                f"got {type(self.subject).__name__}"
            )
        set_(self, "level", _parse_enum(AssuranceLevel, self.level, "identity level"))
        raw = self.methods
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, Iterable):
            raise IdentityError(f"identity methods: expected a set, got {type(raw).__name__}")
        methods = frozenset(_parse_enum(AuthMethod, m, "identity method") for m in raw)
        if not methods:
            raise IdentityError("identity methods: expected at least one, got none")
        set_(self, "methods", methods)
        at = self.authenticated_at
        if not isinstance(at, datetime) or at.utcoffset() is None:
            raise IdentityError(
                "identity authenticated_at: expected a timezone-aware datetime, "
                f"got {type(at).__name__ if not isinstance(at, datetime) else 'naive datetime'}"
            )
        set_(self, "authenticated_at", at.astimezone(UTC))
        province = _parse_enum(Province, self.issuing_province, "identity issuing province")
        set_(self, "issuing_province", province)
        key = self.person_key
        if not isinstance(key, str) or not PERSON_KEY_RE.fullmatch(key):
            raise IdentityError(
                f"identity person key: expected pk- and 32 base32 characters, got {key!r}"
            )
        self._check_agent()

    def _check_agent(self) -> None:
        """The agent, role and agent key: all three or none, only for a legal person."""
        given = (self.agent is not None, self.role is not None, bool(self.agent_key))
        if not any(given):
            return
        if not all(given) or not isinstance(self.subject, LegalPerson):
            raise IdentityError(
                "identity agent: expected agent, role and agent key together, for a legal "
                "person only"
            )
        if not isinstance(self.agent, NaturalPerson):
            raise IdentityError(
                f"identity agent: expected NaturalPerson, got {type(self.agent).__name__}"
            )
        object.__setattr__(self, "role", _parse_enum(AgentRole, self.role, "identity role"))
        if not isinstance(self.agent_key, str) or not AGENT_KEY_RE.fullmatch(self.agent_key):
            raise IdentityError(
                f"identity agent key: expected ak- and 32 base32 characters, got {self.agent_key!r}"
            )

    @property
    def method(self) -> str:
        """The methods as one canonical string, sorted and joined by ``+``."""
        return "+".join(sorted(m.value for m in self.methods))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``agent``, ``role`` and ``agent_key`` only when there is an agent."""
        out: dict[str, Any] = {
            "subject": self.subject.to_dict(),
            "level": self.level.value,
            "methods": sorted(m.value for m in self.methods),
            "authenticated_at": _format_time(self.authenticated_at),
            "issuing_province": self.issuing_province.value,
            "person_key": self.person_key,
        }
        if self.agent is not None and self.role is not None:
            out.update(agent=self.agent.to_dict(), role=self.role.value, agent_key=self.agent_key)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecognisedIdentity:
        fields = ("subject", "level", "methods", "authenticated_at", "issuing_province")
        agent_fields = ("agent", "role", "agent_key")
        has_agent = isinstance(data, Mapping) and "agent" in data
        data = _check_keys(
            data, (*fields, "person_key", *(agent_fields if has_agent else ())), "identity"
        )
        methods = data["methods"]
        if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
            raise IdentityError(f"identity methods: expected a list of strings, got {methods!r}")
        if len(set(methods)) != len(methods):
            raise IdentityError(f"identity methods: expected no repeats, got {methods!r}")
        at = data["authenticated_at"]
        try:
            if not isinstance(at, str):
                raise ValueError
            moment = datetime.fromisoformat(at)
        except ValueError:
            raise IdentityError(
                f"identity authenticated_at: expected an ISO 8601 time, got {at!r}"
            ) from None
        return cls(
            subject=subject_from_dict(data["subject"]),
            level=data["level"],
            methods=frozenset(methods),
            authenticated_at=moment,
            issuing_province=data["issuing_province"],
            person_key=data["person_key"],
            agent=NaturalPerson.from_dict(data["agent"]) if has_agent else None,
            role=data["role"] if has_agent else None,
            agent_key=data["agent_key"] if has_agent else "",
        )

    def __repr__(self) -> str:
        return (
            f"RecognisedIdentity(subject={self.subject!r}, level={self.level.value}, "
            f"method={self.method}, authenticated_at={_format_time(self.authenticated_at)}, "
            f"issuing_province={self.issuing_province.value}, person_key={self.person_key}"
            + (f", agent={self.agent!r}, role={self.role}" if self.agent else "")
            + ")"
        )
