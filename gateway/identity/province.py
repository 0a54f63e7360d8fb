"""The contract of a province's identity-assertion format, and the checks they all share.

Each province's identity platform signs its own kind of assertion (a compact token in
Jiangsu, an XML assertion in Zhejiang, a GB18030 JSON document in Anhui). A province
package implements :class:`AssertionFormat` for it and hangs the instance on its adapter as
``adapter.identity`` (see :func:`with_identity`); the gateway finds it through the adapter
registry and never imports a province by name.

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
  the province, when it has one, takes precedence over ``loa``.

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
   (``invalid_id_number``), and the rest builds a :class:`NaturalPerson` (``malformed``)
9. methods: every local method code is known (``malformed``)

Nothing is read from the body before the signature has been checked.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.privacy import mask_id_number, mask_name
from ledger.crypto import PrivateKey, PublicKey, sm3
from ledger.errors import SignatureError

from ._enums import AssuranceLevel, AuthMethod, DocumentType, Province
from .errors import AssertionRejected, IdentityError, InvalidIdNumber
from .model import NaturalPerson

__all__ = [
    "AssertionFormat",
    "Claims",
    "ProvinceAssertion",
    "Signed",
    "exact_fields",
    "level_from_mapping",
    "strict_json",
    "with_identity",
]

DEFAULT_MAX_BYTES = 16 * 1024


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

    def __repr__(self) -> str:
        return (
            f"Claims(assertion_id={self.assertion_id!r}, issuer={self.issuer!r}, "
            f"audience={self.audience!r}, name={mask_name(self.name)!r}, "
            f"document_code={self.document_code!r}, "
            f"document_number={mask_id_number(self.document_number)!r}, "
            f"methods={self.methods!r})"
        )


@dataclass(frozen=True)
class ProvinceAssertion:
    """A verified province assertion, mapped onto the canonical model (level not yet set).

    ``digest`` is SM3 of the assertion bytes as received: what the log records.
    """

    province: Province
    format: str
    assertion_id: str
    issuer: str
    audience: str
    not_before: datetime
    not_after: datetime
    subject: NaturalPerson
    local_methods: tuple[str, ...]
    methods: frozenset[AuthMethod]
    authenticated_at: datetime
    digest: bytes


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
        candidates = list(keys)
        if signed.key_id is not None:
            candidates = [(kid, key) for kid, key in candidates if kid == signed.key_id]
        if not candidates:
            hint = f" {signed.key_id[:16]!r}" if signed.key_id else ""
            raise AssertionRejected(
                "unknown_issuer",
                f"{self.format} signing key: expected a valid {self.province} identity-provider "
                f"key, got none{hint}",
            )

        # (3): signature
        if not self._signature_ok(signed, [key for _, key in candidates]):
            raise AssertionRejected(
                "bad_signature",
                f"{self.format} signature: does not verify with the {self.province} "
                "identity-provider key",
            )

        # (4): claims
        claims = self.decode(signed)

        # (5): issuer
        if claims.issuer != self.issuer:
            raise AssertionRejected(
                "unknown_issuer",
                f"{self.format} issuer: expected {self.issuer!r}, got {claims.issuer!r}",
            )

        # (6): time
        if now < claims.not_before - leeway:
            raise AssertionRejected(
                "not_yet_valid",
                f"{self.format} not yet valid: not before {_iso(claims.not_before)}, "
                f"now {_iso(now)}",
            )
        if now >= claims.not_after + leeway:
            raise AssertionRejected(
                "expired",
                f"{self.format} expired: not on or after {_iso(claims.not_after)}, now {_iso(now)}",
            )

        # (7): audience
        if claims.audience != audience:
            raise AssertionRejected(
                "wrong_audience",
                f"{self.format} audience: expected {audience!r}, got {claims.audience!r}",
            )

        # (8): subject
        document_type = self.document_types.get(claims.document_code)
        if document_type is None:
            raise AssertionRejected(
                "malformed",
                f"{self.format} document type: unknown code {claims.document_code!r}",
            )
        try:
            subject = NaturalPerson(
                claims.name, document_type, claims.document_number, claims.date_of_birth
            )
        except InvalidIdNumber as exc:
            raise AssertionRejected("invalid_id_number", f"{self.format} subject: {exc}") from exc
        except IdentityError as exc:
            raise AssertionRejected("malformed", f"{self.format} subject: {exc}") from exc

        # (9): methods
        unknown = sorted(m for m in set(claims.methods) if m not in self.methods)
        if not claims.methods or unknown:
            raise AssertionRejected(
                "malformed",
                f"{self.format} authentication method: unknown {', '.join(unknown) or 'none'}",
            )
        methods = frozenset().union(*(self.methods[m] for m in claims.methods))
        return ProvinceAssertion(
            province=self.province,
            format=self.format,
            assertion_id=claims.assertion_id,
            issuer=claims.issuer,
            audience=claims.audience,
            not_before=claims.not_before,
            not_after=claims.not_after,
            subject=subject,
            local_methods=tuple(claims.methods),
            methods=methods,
            authenticated_at=claims.authenticated_at,
            digest=sm3(data),
        )

    @staticmethod
    def _signature_ok(signed: Signed, keys: Sequence[PublicKey]) -> bool:
        for key in keys:
            try:
                key.verify(signed.signed_bytes, signed.signature)
            except SignatureError:
                continue
            return True
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.format} region={self.province}>"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_float(text: str) -> Any:
    raise ValueError(f"non-integer number {text}")


def strict_json(text: str, label: str) -> dict[str, Any]:
    """A JSON object, refusing duplicate keys, floats and NaN (``malformed``)."""
    try:
        value = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_float=_no_float, parse_constant=_no_float
        )
    except ValueError as exc:
        raise AssertionRejected("malformed", f"{label}: invalid json: {exc}") from exc
    if not isinstance(value, dict):
        raise AssertionRejected(
            "malformed", f"{label}: expected a json object, got {type(value).__name__}"
        )
    return value


def exact_fields(value: Any, fields: Mapping[str, type], label: str) -> dict[str, Any]:
    """``value`` as an object with exactly ``fields``, each of its type (``malformed``)."""
    if not isinstance(value, dict):
        raise AssertionRejected(
            "malformed", f"{label}: expected an object, got {type(value).__name__}"
        )
    missing = sorted(fields.keys() - value.keys())
    unknown = sorted(value.keys() - fields.keys())
    if missing or unknown:
        raise AssertionRejected(
            "malformed",
            f"{label} fields: missing {', '.join(missing) or 'none'}, "
            f"unexpected {', '.join(unknown) or 'none'}",
        )
    for name, kind in fields.items():
        item = value[name]
        if not isinstance(item, kind) or (kind is int and isinstance(item, bool)):
            raise AssertionRejected(
                "malformed",
                f"{label}.{name}: expected {kind.__name__}, got {type(item).__name__}",
            )
        if kind is str and not item:
            raise AssertionRejected("malformed", f"{label}.{name}: expected a non-empty string")
    return value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_identity(adapter: Any, fmt: AssertionFormat) -> Any:
    """Give ``adapter`` its identity format (``adapter.identity``), and its simulator an
    identity provider issuing ``fmt`` assertions at ``POST /identity/assert``.

    The simulator's signing key is set after start with
    :func:`gateway.identity.idp_simulator.set_identity_provider_key`.
    """
    from .idp_simulator import install_identity_provider

    adapter.identity = fmt
    make: Callable[[], Any] = adapter.simulator

    def simulator() -> Any:
        app = make()
        install_identity_provider(app, fmt)
        return app

    adapter.simulator = simulator
    return adapter
