"""The canonical e-licence (电子证照) and its wire form, parsed with size and depth limits.

A signed licence is UTF-8 JSON, at most :data:`MAX_LICENCE_BYTES`::

    {"licence": {...the canonical licence...}, "signature": "<base64 DER SM2 signature>"}

The canonical licence (every field required unless marked optional)::

    format        "yrd-licence/1"
    licence_id    [A-Za-z0-9._:-]{1,128}, unique within the issuing region
    licence_type  a code of LICENCE_TYPES
    holder        {"kind": "natural_person" | "legal_person",
                   "key": the gateway's pseudonymous person key ("pk-...": never a raw
                          ID number or credit code),
                   "display_name": masked for a natural person ("王*明"),
                   "display_number": optional, masked ("9132**********0013")}
    issuer        {"region": SH | JS | ZJ | AH, "authority": name, "key_id": SM3 hex of the
                   signing key's uncompressed point (the registry's key id)}
    issued_at, valid_from, valid_until   UTC, "2026-11-28T02:15:00.000Z"
    data          at most 32 fields, name [a-z0-9_]{1,64} -> string of at most 512
                  characters; no raw ID number or credit code in any of them

The bytes signed are ``canonical_json(licence)`` (gateway/encoding.py) -- see
:mod:`gateway.licences.signing`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from gateway.encoding import format_time
from gateway.errors import Reason
from gateway.licences.errors import LicenceRejected
from gateway.ops.privacy import contains_raw_credit_code, contains_raw_id_number
from gateway.regions import REGIONS
from ledger.boundedjson import JsonLimitError, loads

__all__ = [
    "FORMAT",
    "HOLDER_KINDS",
    "LICENCE_TYPES",
    "MAX_LICENCE_BYTES",
    "Holder",
    "Issuer",
    "Licence",
    "SignedLicence",
    "parse_signed_licence",
]

FORMAT = "yrd-licence/1"
MAX_LICENCE_BYTES = 16 * 1024
MAX_DEPTH = 4
MAX_DATA_FIELDS = 32
MAX_VALUE_CHARS = 512

LICENCE_TYPES: Mapping[str, str] = MappingProxyType({
    "business_licence": "营业执照",
    "resident_id_card": "居民身份证电子证照",
    "real_estate_certificate": "不动产权证书",
    "marriage_certificate": "结婚证",
    "household_register": "户口簿",
    "industrial_product_licence": "工业产品生产许可证",
    "tax_clearance_certificate": "清税证明",
    "social_insurance_record": "参保缴费凭证",
    "medical_insurance_voucher": "医保电子凭证",
    "migration_permit": "准予迁入证明",
})  # fmt: skip
"""The licence type code list (the evidence schema's ``certificate_type`` is the same)."""
HOLDER_KINDS = ("natural_person", "legal_person")

_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_KEY = re.compile(r"[A-Za-z0-9:_-]{16,128}")
_KEY_ID = re.compile(r"[0-9a-f]{64}")
_FIELD = re.compile(r"[a-z0-9_]{1,64}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_REGIONS = REGIONS


@dataclass(frozen=True)
class Holder:
    kind: str
    key: str
    display_name: str
    display_number: str | None = None


@dataclass(frozen=True)
class Issuer:
    region: str
    authority: str
    key_id: str


@dataclass(frozen=True)
class Licence:
    """A canonical e-licence (see the module docstring for each field's rule)."""

    licence_id: str
    licence_type: str
    holder: Holder
    issuer: Issuer
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    data: Mapping[str, str]

    @property
    def type_label(self) -> str:
        """The type's Chinese name, e.g. 营业执照."""
        return LICENCE_TYPES[self.licence_type]

    def to_dict(self) -> dict[str, Any]:
        """The canonical licence as JSON-ready data: exactly what is signed."""
        holder: dict[str, str] = {
            "kind": self.holder.kind,
            "key": self.holder.key,
            "display_name": self.holder.display_name,
        }
        if self.holder.display_number is not None:
            holder["display_number"] = self.holder.display_number
        return {
            "format": FORMAT,
            "licence_id": self.licence_id,
            "licence_type": self.licence_type,
            "holder": holder,
            "issuer": {
                "region": self.issuer.region,
                "authority": self.issuer.authority,
                "key_id": self.issuer.key_id,
            },
            "issued_at": format_time(self.issued_at),
            "valid_from": format_time(self.valid_from),
            "valid_until": format_time(self.valid_until),
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, value: Any) -> Licence:
        """Validate a decoded canonical licence; :class:`LicenceRejected` MALFORMED."""
        obj = _object(value, "licence", {
            "format", "licence_id", "licence_type", "holder", "issuer", "issued_at",
            "valid_from", "valid_until", "data"})  # fmt: skip
        if obj["format"] != FORMAT:
            raise _malformed(f"format: expected {FORMAT!r}")
        licence_type = _text(obj["licence_type"], "licence_type")
        if licence_type not in LICENCE_TYPES:
            raise _malformed(f"licence_type: not in the code list: {licence_type[:64]!r}")
        holder = _object(obj["holder"], "holder", {"kind", "key", "display_name"},
                         {"display_number"})  # fmt: skip
        kind = _text(holder["kind"], "holder.kind")
        if kind not in HOLDER_KINDS:
            raise _malformed("holder.kind: expected natural_person or legal_person")
        name = _text(holder["display_name"], "holder.display_name")
        if kind == "natural_person" and "*" not in name:
            raise _malformed("holder.display_name: a natural person's name must be masked")
        number = holder.get("display_number")
        if number is not None and "*" not in _text(number, "holder.display_number"):
            raise _malformed("holder.display_number: must be masked")
        issuer = _object(obj["issuer"], "issuer", {"region", "authority", "key_id"})
        if issuer["region"] not in _REGIONS:
            raise _malformed("issuer.region: expected SH, JS, ZJ or AH")
        data = obj["data"]
        if not isinstance(data, dict) or len(data) > MAX_DATA_FIELDS:
            raise _malformed(f"data: expected an object of at most {MAX_DATA_FIELDS} fields")
        for field, text in data.items():
            if not _FIELD.fullmatch(field):
                raise _malformed("data: field names are [a-z0-9_]{1,64}")
            _text(text, f"data.{field}")
        licence = cls(
            licence_id=_text(obj["licence_id"], "licence_id", _ID),
            licence_type=licence_type,
            holder=Holder(kind, _text(holder["key"], "holder.key", _KEY), name, number),
            issuer=Issuer(
                issuer["region"],
                _text(issuer["authority"], "issuer.authority"),
                _text(issuer["key_id"], "issuer.key_id", _KEY_ID),
            ),
            issued_at=_time(obj["issued_at"], "issued_at"),
            valid_from=_time(obj["valid_from"], "valid_from"),
            valid_until=_time(obj["valid_until"], "valid_until"),
            data=MappingProxyType(dict(data)),
        )
        if licence.valid_until <= licence.valid_from:
            raise _malformed("valid_until: must be later than valid_from")
        _no_raw_identifiers(licence)
        return licence


@dataclass(frozen=True)
class SignedLicence:
    """A parsed signed licence: the licence, its canonical dict and the DER signature."""

    licence: Licence
    canonical: Mapping[str, Any]
    signature: bytes


def parse_signed_licence(data: bytes | str) -> SignedLicence:
    """Parse the wire form (size, depth, fields); :class:`LicenceRejected` MALFORMED."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_LICENCE_BYTES:
        raise _malformed(f"size: {len(raw)} bytes, at most {MAX_LICENCE_BYTES}")
    try:
        outer = loads(raw, max_bytes=MAX_LICENCE_BYTES, max_depth=MAX_DEPTH)
    except (JsonLimitError, ValueError) as exc:
        raise _malformed(f"not a licence (json): {str(exc)[:120]}") from None
    obj = _object(outer, "signed licence", {"licence", "signature"})
    try:
        signature = base64.b64decode(_text(obj["signature"], "signature"), validate=True)
    except (binascii.Error, ValueError):
        raise _malformed("signature: not base64") from None
    licence = Licence.from_dict(obj["licence"])
    return SignedLicence(licence, obj["licence"], signature)


def _malformed(message: str) -> LicenceRejected:
    return LicenceRejected(Reason.MALFORMED, "parse", message)


def _object(
    value: Any, what: str, required: set[str], optional: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _malformed(f"{what}: expected an object")
    missing = sorted(required - value.keys())
    if missing:
        raise _malformed(f"{what}.{missing[0]}: missing")
    unknown = sorted(value.keys() - required - set(optional))
    if unknown:
        raise _malformed(f"{what}.{unknown[0][:64]}: unknown field")
    return value


def _text(value: Any, what: str, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_VALUE_CHARS:
        raise _malformed(f"{what}: expected a string of 1-{MAX_VALUE_CHARS} characters")
    if _CONTROL.search(value):
        raise _malformed(f"{what}: control characters are not allowed")
    if pattern is not None and not pattern.fullmatch(value):
        raise _malformed(f"{what}: expected {pattern.pattern}")
    return value


def _time(value: Any, what: str) -> datetime:
    text = _text(value, what)
    if not _TIME.fullmatch(text):
        raise _malformed(f"{what}: expected UTC like 2026-11-28T02:15:00.000Z")
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        raise _malformed(f"{what}: not a valid time") from None


def _no_raw_identifiers(licence: Licence) -> None:
    """No raw ID number or credit code anywhere in a licence: holders are keys, data masked."""
    from gateway.encoding import canonical_json

    text = canonical_json(licence.to_dict()).decode("utf-8")
    if contains_raw_id_number(text) or contains_raw_credit_code(text):
        raise _malformed("a raw id number or credit code: mask or commit identifiers")
