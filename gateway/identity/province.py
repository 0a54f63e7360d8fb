"""The contract of a province's identity-assertion format, and the checks they all share.

Each province's identity platform signs its own kind of assertion (a compact token in
Jiangsu, an XML assertion in Zhejiang, a GB18030 JSON document in Anhui). A province
package implements :class:`AssertionFormat` for it and names the instance as the identity
part of its dialect (``gateway.dialects.Dialect.identity``); the gateway finds it through the
dialect catalogue and never imports a province by name.

A format supplies three format-specific steps and declarative mapping data:

* ``split(data) -> Signed``: parse the envelope only: the exact bytes the signature covers,
  the signature, an optional key id hint and the parsed body. ``malformed`` on junk.
* ``decode(signed) -> Claims``: read the province's own field names and codes into the
  neutral :class:`Claims`. ``malformed`` on a missing, unknown or mistyped field.
* ``issue(claims, key) -> bytes``: sign an assertion (for the province simulators and
  tests; the gateway never issues province assertions).
* mapping data (``identity.json`` in the province package): ``document_types`` (local code
  -> :class:`DocumentType`), ``methods`` (local method code -> canonical methods, a list
  because one code may mean a combination) and ``loa`` (local code, or codes joined by
  ``+`` for a combination, -> canonical level). The trust registry's ``loa_mapping`` for
  the province, when it has one, takes precedence over ``loa``. For legal persons:
  ``roles`` (local role code -> :class:`AgentRole`) and, for the simulator,
  ``sample_organisations`` (see :meth:`AssertionFormat.claims_for_organisation`).

:meth:`AssertionFormat.verify` runs the shared steps, each refusing with
:class:`AssertionRejected` and the reason shown:

1. size at most ``max_bytes``, then ``split`` (``malformed``)
2. key: the hinted key id among the province's currently valid identity-provider keys, or
   any of them without a hint (``unknown_issuer`` when there is none)
3. SM2 signature (GB/T 32918.2, default user id) over the signed bytes (``bad_signature``)
4. ``decode`` (``malformed``)
5. issuer equals the format's configured issuer (``unknown_issuer``)
6. time: ``not_before - leeway <= now`` (``not_yet_valid``), ``now < not_after + leeway``
   (``expired``)
7. audience equals the expected audience (``wrong_audience``)
8. subject: the document number passes its check, GB 11643 for resident IDs
   (``invalid_id_number``), and the rest builds a :class:`NaturalPerson` (``malformed``);
   for a legal-person assertion that person is the agent, and the organisation's credit
   code must pass GB 32100, its local role code be in ``roles`` and the rest build a
   :class:`LegalPerson` (``malformed``, :func:`legal_subject_of`)
9. methods: every local method code is known (``malformed``)

Nothing is read from the body before the signature has been checked.

The pieces live in internal modules and are re-exported here, the one import for a format:
``_province_types`` (:class:`Signed`, :class:`Claims`, :class:`ProvinceAssertion`),
``_province_keys`` (steps 2-3), ``_province_checks`` (steps 5-9, :func:`level_from_mapping`)
and ``_strict`` (:func:`strict_json`, :func:`exact_fields`, base64url).
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.identity._enums import AgentRole, AuthMethod, DocumentType, Province, SubjectKind
from gateway.identity._province_checks import (
    check_audience,
    check_issuer,
    check_validity,
    legal_subject_of,
    level_from_mapping,
    map_methods,
    subject_of,
)
from gateway.identity._province_keys import candidate_keys, check_signature
from gateway.identity._province_types import Claims, ProvinceAssertion, Signed
from gateway.identity._strict import (
    b64url_decode,
    b64url_encode,
    check_depth,
    exact_fields,
    strict_json,
)
from gateway.identity.errors import AssertionRejected, IdentityError
from ledger.crypto import PrivateKey, PublicKey, sm3

__all__ = [
    "AssertionFormat",
    "Claims",
    "ProvinceAssertion",
    "Signed",
    "b64url_decode",
    "b64url_encode",
    "check_depth",
    "exact_fields",
    "level_from_mapping",
    "strict_json",
]

DEFAULT_MAX_BYTES = 16 * 1024


class AssertionFormat(abc.ABC):
    """One province identity platform's assertion format (see the module docstring).

    Built from the province's mapping data (``identity.json``): ``region``, ``format``,
    ``media_type``, ``issuer``, ``document_types``, ``methods``, ``loa`` and, for the
    simulator, ``sample_people`` and ``default_methods``.
    """

    max_bytes: int = DEFAULT_MAX_BYTES

    def __init__(self, mapping: Mapping[str, Any]) -> None:
        try:
            self.province = Province(mapping["region"])
            self.format: str = mapping["format"]
            self.media_type: str = mapping["media_type"]
            self.issuer: str = mapping["issuer"]
            self.document_types: Mapping[str, DocumentType] = {
                code: DocumentType(value) for code, value in mapping["document_types"].items()
            }
            self.methods: Mapping[str, frozenset[AuthMethod]] = {
                code: frozenset(AuthMethod(m) for m in values)
                for code, values in mapping["methods"].items()
            }
            self.loa: Mapping[str, str] = dict(mapping["loa"])
            self.default_methods: tuple[str, ...] = tuple(mapping.get("default_methods", ()))
            self.sample_people: Mapping[str, Mapping[str, str]] = {
                p["person_id"]: p for p in mapping.get("sample_people", [])
            }
            self.roles: Mapping[str, AgentRole] = {
                code: AgentRole(value) for code, value in mapping.get("roles", {}).items()
            }
            self.sample_organisations: Mapping[str, Mapping[str, str]] = {
                o["organisation_id"]: o for o in mapping.get("sample_organisations", [])
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise IdentityError(f"identity mapping: incomplete or invalid: {exc!r}") from exc
        self._local_document = {v: k for k, v in self.document_types.items()}
        for key in self.loa:
            missing = [c for c in key.split("+") if c not in self.methods]
            if missing:
                raise IdentityError(f"identity mapping loa {key!r}: unknown method {missing}")

    @classmethod
    def from_file(cls, path: str | Path) -> AssertionFormat:
        return cls(json.loads(Path(path).read_text("utf-8")))

    # -- format-specific steps -------------------------------------------------------

    @abc.abstractmethod
    def split(self, data: bytes) -> Signed:
        """The envelope of ``data``; :class:`AssertionRejected` ``malformed`` on junk."""

    @abc.abstractmethod
    def decode(self, signed: Signed) -> Claims:
        """The claims of a signature-checked envelope; ``malformed`` on bad fields."""

    @abc.abstractmethod
    def issue(self, claims: Claims, key: PrivateKey) -> bytes:
        """A signed assertion of ``claims`` (simulators and tests only)."""

    # -- shared ------------------------------------------------------------------------

    def local_document_code(self, document_type: DocumentType | str) -> str:
        try:
            return self._local_document[DocumentType(document_type)]
        except (KeyError, ValueError):
            raise IdentityError(
                f"{self.format}: no local code for document type {document_type!r}"
            ) from None

    def claims_for(
        self,
        person: Mapping[str, str],
        *,
        audience: str,
        now: datetime,
        ttl: timedelta = timedelta(minutes=5),
        methods: Sequence[str] | None = None,
        assertion_id: str,
    ) -> Claims:
        """Claims for a sample ``person`` record (``name``, ``document_type``,
        ``document_number``, ``date_of_birth``), authenticated at ``now``."""
        now = now.astimezone(UTC)
        return Claims(
            assertion_id=assertion_id,
            issuer=self.issuer,
            audience=audience,
            issued_at=now,
            not_before=now,
            not_after=now + ttl,
            name=person["name"],
            document_code=self.local_document_code(person["document_type"]),
            document_number=person["document_number"],
            date_of_birth=date.fromisoformat(person["date_of_birth"]),
            methods=tuple(methods or self.default_methods),
            authenticated_at=now,
        )

    def claims_for_organisation(
        self,
        org: Mapping[str, str],
        *,
        audience: str,
        now: datetime,
        ttl: timedelta = timedelta(minutes=5),
        methods: Sequence[str] | None = None,
        assertion_id: str,
    ) -> Claims:
        """Legal-person claims for a sample organisation ``org`` (``name``, ``uscc``,
        ``legal_representative``, ``agent_person_id``, ``role``): its agent, a sample
        person, authenticated at ``now`` and acts for it in the local ``role``."""
        try:
            agent = self.sample_people[org["agent_person_id"]]
        except KeyError:
            raise IdentityError(
                f"{self.format}: organisation agent is not a sample person"
            ) from None
        person = self.claims_for(
            agent,
            audience=audience,
            now=now,
            ttl=ttl,
            methods=methods,
            assertion_id=assertion_id,
        )
        return replace(
            person,
            subject_kind=SubjectKind.LEGAL_PERSON.value,
            organisation_name=org["name"],
            uscc=org["uscc"],
            legal_representative=org["legal_representative"],
            role_code=org["role"],
        )

    def verify(
        self,
        data: bytes,
        keys: Sequence[tuple[str, PublicKey]],
        *,
        audience: str,
        now: datetime,
        leeway: timedelta = timedelta(0),
    ) -> ProvinceAssertion:
        """Verify ``data`` against the province's valid identity-provider ``keys``
        (``(key_id, public key)`` pairs) and map it; the steps are in the module docstring.
        """
        # (1): size, envelope
        if not isinstance(data, bytes | bytearray) or not data:
            raise AssertionRejected("malformed", f"{self.format}: expected assertion bytes")
        if len(data) > self.max_bytes:
            raise AssertionRejected(
                "malformed",
                f"{self.format} size: expected at most {self.max_bytes} bytes, got {len(data)}",
            )
        data = bytes(data)
        signed = self.split(data)

        # (2): key
        label, province = self.format, self.province
        candidates = candidate_keys(signed, keys, label=label, province=province)

        # (3): signature
        key_id = check_signature(signed, candidates, label=label, province=province)

        # (4): claims
        claims = self.decode(signed)

        # (5)-(7): issuer, time, audience
        check_issuer(claims, self.issuer, label=label)
        check_validity(claims, now, leeway, label=label)
        check_audience(claims, audience, label=label)

        # (8): subject (for a legal person: the agent, then the organisation and role)
        person = subject_of(claims, self.document_types, label=label)
        legal = legal_subject_of(claims, self.roles, person, label=label)

        # (9): methods
        methods = map_methods(claims, self.methods, label=label)
        return ProvinceAssertion(
            province=self.province,
            format=self.format,
            assertion_id=claims.assertion_id,
            issuer=claims.issuer,
            audience=claims.audience,
            not_before=claims.not_before,
            not_after=claims.not_after,
            subject=person if legal is None else legal[0],
            local_methods=tuple(claims.methods),
            methods=methods,
            authenticated_at=claims.authenticated_at,
            digest=sm3(data),
            key_id=key_id,
            agent=None if legal is None else person,
            role=None if legal is None else legal[1],
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.format} region={self.province}>"
