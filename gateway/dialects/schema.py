"""Canonical payload schemas, one per message kind, and their validator.

A schema is a tree of field types. Scalars are named by string; a trailing ``?`` marks
an optional field (``None`` when absent). ``Obj`` is a nested object, ``ListOf`` a list.
``validate(kind, payload)`` returns a normalised copy (every key present) or raises
``AdapterError`` naming the canonical path of the first bad field.

Scalar types:

- ``str``: non-empty, no control characters; ``int``: >= 0; ``bool``;
- ``date``: yyyy-mm-dd; ``datetime``: yyyy-mm-ddThh:mm:ss+08:00 (Beijing time, seconds);
- ``money``: integer fen >= 0; ``depth``: online depth 1..4;
- ``matter_code``: 12-digit basic code of the matter a message refers to (dialects carry
  their local code instead); ``basic_code``: a 12-digit basic code carried as is;
- ``uscc``: GB 32100 code, check character verified; ``digest``: SM3, 64 lowercase hex;
  ``base64``;
- ``person_key``: pseudonymous person key (a raw resident ID number is refused);
  ``masked_name``: must contain ``*``;
- ``enum:<name>``: one of ``ENUMS[name]``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from gateway.dialects.errors import AdapterError
from gateway.errors import clip
from gateway.matters.errors import MatterError
from gateway.matters.model import (
    REGIONS,
    AssuranceLevel,
    HandlingMode,
    MaterialForm,
    Matter,
    MatterType,
    TimeUnit,
)
from gateway.uscc import uscc_problem

__all__ = ["ENUMS", "SCHEMAS", "ListOf", "Obj", "check_scalar", "validate"]


@dataclass(frozen=True)
class Obj:
    fields: Mapping[str, Any]
    optional: bool = False
    name: str = ""  # a named object type ("time_limit") that dialects may flatten


@dataclass(frozen=True)
class ListOf:
    item: Any


ENUMS: Mapping[str, tuple[str, ...]] = {
    "matter_type": tuple(m.value for m in MatterType),
    "time_unit": tuple(m.value for m in TimeUnit),
    "material_form": tuple(m.value for m in MaterialForm),
    "handling_mode": tuple(m.value for m in HandlingMode),
    "assurance_level": tuple(m.value for m in AssuranceLevel),
    "region": REGIONS,
    "case_status": ("received", "accepted", "rejected", "in_progress", "completed"),
    # the e-licence type code list (gateway.licences.LICENCE_TYPES; a test keeps them equal)
    "certificate_type": (
        "business_licence",
        "industrial_product_licence",
        "household_register",
        # the other shareable materials of the matter catalogue (issue 15, part "window")
        "resident_id_card",
        "real_estate_certificate",
        "marriage_certificate",
        "tax_clearance_certificate",
        "social_insurance_record",
        "medical_insurance_voucher",
        "migration_permit",
    ),
}

TIME_LIMIT = Obj({"value": "int", "unit": "enum:time_unit"}, name="time_limit")

SCHEMAS: Mapping[str, Obj] = {
    "matter.lookup": Obj({"matter_code": "matter_code"}),
    "matter": Obj({
        "basic_code": "basic_code",
        "implementation_code": "str?",
        "local_code": "str?",
        "name": "str",
        "matter_type": "enum:matter_type",
        "implementing_body": Obj({"name": "str", "uscc": "uscc"}, optional=True),
        "legal_time_limit": TIME_LIMIT,
        "promised_time_limit": TIME_LIMIT,
        "materials": ListOf(Obj({
            "material_id": "str",
            "name": "str",
            "required": "bool",
            "form": "enum:material_form",
            "shareable": "bool",
            "source_department": "str?",
            "certificate_type": "enum:certificate_type?",
        })),
        "fees": ListOf(Obj({"item": "str", "amount_fen": "money", "basis": "str"})),
        "online_depth": "depth",
        "handling_modes": ListOf("enum:handling_mode"),
        "min_assurance": "enum:assurance_level",
        "version": "str",
        "valid_from": "date",
        "valid_to": "date?",
        "region": "enum:region",
    }),
    "case.submit": Obj({
        "case_id": "str",
        "matter_code": "matter_code",
        "applicant": Obj({"person_key": "person_key", "masked_name": "masked_name"}),
        "handling_mode": "enum:handling_mode",
        "materials": ListOf(Obj({"material_id": "str", "name": "str", "digest_sm3": "digest"})),
        "receiving_city": "str",
        "submitted_at": "datetime",
    }),
    "case.status": Obj({
        "case_id": "str",
        "status": "enum:case_status",
        "time": "datetime",
        "note": "str?",
    }),
    "evidence.request": Obj({
        "request_id": "str",
        "certificate_type": "enum:certificate_type",
        "subject_uscc": "uscc?",
        "subject_person_key": "person_key?",
        "purpose": "str",
        "requester": "str",
    }),
    "evidence.response": Obj({
        "request_id": "str",
        "certificate_type": "enum:certificate_type",
        "certificate_number": "str",
        "holder": "str",
        "issued_date": "date",
        "digest_sm3": "digest",
        "content_base64": "base64",
        "licence": "base64?",  # the issuing region's signed e-licence (docs/licences.md)
    }),
    "error": Obj({"code": "str", "message": "str", "field": "str?"}),
}  # fmt: skip

_DIGEST = re.compile(r"\A[0-9a-f]{64}\Z")
_BASIC = re.compile(r"\A[0-9]{12}\Z")
_DATETIME = re.compile(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00\Z", re.ASCII)
# Unicode categories Cc (C0/C1 controls) and Cs (surrogates), and the two non-characters:
# one regex scan instead of a category lookup per character (this runs on every payload).
_FORBIDDEN_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_PERSON_KEY = re.compile(r"\A[A-Za-z0-9:_-]{16,128}\Z")
_RESIDENT_ID = re.compile(r"\d{17}[\dXx]|\d{15}")


def _bad(path: str, message: str) -> AdapterError:
    return AdapterError(path, message)


def check_scalar(stype: str, value: Any, path: str) -> Any:
    """Check one canonical scalar of type ``stype`` (without ``?``); return it."""
    if stype in ("int", "money", "depth"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise _bad(path, f"expected integer, got {clip(value)}")
        if value < 0 or (stype == "depth" and not 1 <= value <= 4):
            raise _bad(path, f"out of range: {value}")
        return value
    if stype == "bool":
        if not isinstance(value, bool):
            raise _bad(path, f"expected boolean, got {clip(value)}")
        return value
    if not isinstance(value, str):
        raise _bad(path, f"expected string, got {type(value).__name__}")
    if not value:
        raise _bad(path, "must not be empty")
    if _FORBIDDEN_CHARS.search(value):
        raise _bad(path, "control characters and non-characters are not allowed")
    if stype.startswith("enum:"):
        allowed = ENUMS[stype[5:]]
        if value not in allowed:
            raise _bad(path, f"expected one of {', '.join(allowed)}, got {clip(value)}")
    elif stype == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            raise _bad(path, f"expected date yyyy-mm-dd, got {clip(value)}") from None
        if len(value) != 10:
            raise _bad(path, f"expected date yyyy-mm-dd, got {clip(value)}")
    elif stype == "datetime":
        try:
            ok = bool(_DATETIME.fullmatch(value)) and bool(datetime.fromisoformat(value))
        except ValueError:
            ok = False
        if not ok:
            raise _bad(path, f"expected yyyy-mm-ddThh:mm:ss+08:00, got {clip(value)}")
    elif stype in ("matter_code", "basic_code") and not _BASIC.fullmatch(value):
        raise _bad(path, f"expected a 12-digit basic code, got {clip(value)}")
    elif stype == "uscc" and (problem := uscc_problem(value)) is not None:
        raise _bad(path, f"not a valid unified social credit code (GB 32100): {problem}")
    elif stype == "digest" and not _DIGEST.fullmatch(value):
        raise _bad(path, "expected 64 lowercase hex digits (sm3)")
    elif stype == "base64":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _bad(path, "not valid base64") from None
    elif stype == "person_key":
        if _RESIDENT_ID.fullmatch(value):
            raise _bad(path, "looks like a raw resident id number; send the pseudonymous key")
        if not _PERSON_KEY.fullmatch(value):
            raise _bad(path, "expected 16-128 characters of [A-Za-z0-9:_-]")
    elif stype == "masked_name":
        if "*" not in value or _RESIDENT_ID.search(value):
            raise _bad(path, "expected a masked name (with '*'), never an id number")
    return value


def _walk(stype: Any, value: Any, path: str) -> Any:
    if isinstance(stype, Obj):
        if not isinstance(value, Mapping):
            raise _bad(path, f"expected object, got {type(value).__name__}")
        return {k: _field(t, value.get(k), _join(path, k)) for k, t in stype.fields.items()}
    if isinstance(stype, ListOf):
        if not isinstance(value, list | tuple):
            raise _bad(path, f"expected list, got {type(value).__name__}")
        return [_field(stype.item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    return check_scalar(stype, value, path)


def _field(stype: Any, value: Any, path: str) -> Any:
    optional = (isinstance(stype, str) and stype.endswith("?")) or (
        isinstance(stype, Obj) and stype.optional
    )
    if value is None:
        if optional:
            return None
        raise _bad(path, "missing mandatory field")
    return _walk(stype.rstrip("?") if isinstance(stype, str) else stype, value, path)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def validate(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``payload`` against the schema of ``kind``; return it normalised."""
    if kind not in SCHEMAS:
        raise _bad("kind", f"unknown message kind {clip(kind)}")
    out = _walk(SCHEMAS[kind], payload, "")
    # cross-field rules
    if kind == "evidence.request" and (out["subject_uscc"] is None) == (
        out["subject_person_key"] is None
    ):
        raise _bad("subject_uscc", "exactly one of subject_uscc, subject_person_key is required")
    if kind == "matter":
        try:
            Matter.from_dict(out)
        except MatterError as exc:
            raise _bad(exc.field, exc.message) from exc
    return out
