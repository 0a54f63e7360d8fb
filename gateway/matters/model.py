"""The canonical government-service matter (政务服务事项) model.

Codes follow the layout of GB/T 39554.1-2020 (basic directory and implementation list
of government-service matters, part 1: coding). The structure this code base uses, and
validates, is:

- **basic code** (基本编码), 12 digits, the same for a matter everywhere::

      TT MMMMM SSS BB
      |  |     |   '- business-handling item (业务办理项), 00 when the matter has none
      |  |     '----- sub-item (子项), 000 when the matter has none
      |  '----------- main item (主项) serial
      '-------------- matter type code (see ``MATTER_TYPE_CODES``)

- **implementation code** (实施编码), 32 characters, one per implementing body::

      <implementing body's USCC, 18, GB 32100> <basic code, 12> <item suffix, 2 digits>

  The suffix tells apart several implementations of one matter by the same body
  (e.g. per service window); it is ``01`` for the first.

Time limits carry their unit: working days (工作日) or natural days (自然日); see
``gateway.workdays`` to convert. Fees are integers in fen (分). ``region`` is one of
``SH``, ``JS``, ``ZJ``, ``AH`` for a local variant, or ``YRD`` for the harmonised baseline
record (统一事项标准), which has no implementing body and no implementation code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from gateway.matters.parts import (
    MATTER_TYPE_CODES,
    AssuranceLevel,
    Fee,
    HandlingMode,
    ImplementingBody,
    Material,
    MaterialForm,
    MatterType,
    OnlineDepth,
    TimeLimit,
    TimeUnit,
    _coerce,
    _date,
    _enum,
    _int,
    _need,
    _text,
)
from gateway.regions import REGIONS
from gateway.uscc import is_valid_uscc

__all__ = [
    "BASELINE_REGION",
    "DEFAULT_SUBJECT_KINDS",
    "MATTER_TYPE_CODES",
    "REGIONS",
    "SUBJECT_KINDS",
    "AssuranceLevel",
    "Fee",
    "HandlingMode",
    "ImplementingBody",
    "Material",
    "MaterialForm",
    "Matter",
    "MatterType",
    "OnlineDepth",
    "TimeLimit",
    "TimeUnit",
    "implementation_code",
    "subject_kinds_of",
    "uscc_is_valid",
]

BASELINE_REGION = "YRD"


_BASIC = re.compile(r"\A[0-9]{12}\Z")
_SUFFIX = re.compile(r"\A[0-9]{2}\Z")


def uscc_is_valid(code: str) -> bool:
    """A unified social credit code valid by :mod:`gateway.uscc` (the one GB 32100 validator)."""
    return is_valid_uscc(code)


def implementation_code(uscc: str, basic_code: str, suffix: str = "01") -> str:
    """Build an implementation code: USCC + basic code + two-digit suffix."""
    return f"{uscc}{basic_code}{suffix}"


@dataclass(frozen=True)
class Matter:
    """One matter record: the YRD baseline (``region == "YRD"``) or a local variant."""

    basic_code: str
    name: str
    matter_type: MatterType
    legal_time_limit: TimeLimit
    promised_time_limit: TimeLimit
    online_depth: OnlineDepth
    min_assurance: AssuranceLevel
    version: str
    valid_from: date
    region: str
    materials: tuple[Material, ...] = ()
    fees: tuple[Fee, ...] = ()
    handling_modes: tuple[HandlingMode, ...] = ()
    implementing_body: ImplementingBody | None = None
    implementation_code: str | None = None
    local_code: str | None = None
    valid_to: date | None = None

    def __post_init__(self) -> None:
        # (0): enum fields given as their values (e.g. "行政许可") become members; else refused
        _coerce(self, "matter_type", MatterType, "matter_type")
        _coerce(self, "online_depth", OnlineDepth, "online_depth")
        _coerce(self, "min_assurance", AssuranceLevel, "min_assurance")
        for name, cls in (("legal_time_limit", TimeLimit), ("promised_time_limit", TimeLimit)):
            _need(isinstance(getattr(self, name), cls), name, "expected a TimeLimit")
        _need(
            all(isinstance(m, Material) for m in self.materials), "materials", "expected Materials"
        )
        modes = tuple(_enum(HandlingMode, h, "handling_modes") for h in self.handling_modes)
        object.__setattr__(self, "handling_modes", modes)
        # (1): codes
        _need(
            bool(_BASIC.fullmatch(self.basic_code)),
            "basic_code",
            f"expected 12 digits, got {self.basic_code!r}",
        )
        type_code = MATTER_TYPE_CODES[self.matter_type]
        _need(
            self.basic_code[:2] == type_code,
            "basic_code",
            f"type digits: expected {type_code} for {self.matter_type.value}, "
            f"got {self.basic_code[:2]}",
        )
        _text(self.name, "name")
        _text(self.version, "version")
        # (2): region, implementing body and implementation code
        _need(
            self.region in (*REGIONS, BASELINE_REGION),
            "region",
            f"expected one of {', '.join((*REGIONS, BASELINE_REGION))}, got {self.region!r}",
        )
        if self.region == BASELINE_REGION:
            _need(
                self.implementing_body is None and self.implementation_code is None,
                "implementing_body",
                "the baseline record has no implementing body or implementation code",
            )
        else:
            _need(self.implementing_body is not None, "implementing_body", "required for a region")
            assert self.implementing_body is not None  # _need raised otherwise
            code = self.implementation_code or ""
            _need(
                len(code) == 32
                and code[:18] == self.implementing_body.uscc
                and code[18:30] == self.basic_code
                and bool(_SUFFIX.fullmatch(code[30:])),
                "implementation_code",
                f"expected implementing body USCC + basic code + 2-digit suffix, got {code!r}",
            )
        # (3): time limits: a promise never exceeds the law when both use one unit
        legal, promised = self.legal_time_limit, self.promised_time_limit
        _need(
            legal.unit != promised.unit or promised.value <= legal.value,
            "promised_time_limit",
            f"exceeds the legal limit: {promised.value} > {legal.value} {legal.unit.value}",
        )
        # (4): materials, dates
        ids = [m.material_id for m in self.materials]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        _need(not dup, "materials", f"duplicate material ids: {dup}")
        _need(
            len(set(self.handling_modes)) == len(self.handling_modes),
            "handling_modes",
            "duplicate modes",
        )
        _need(
            self.valid_to is None or self.valid_from <= self.valid_to,
            "valid_to",
            f"ends before it starts: {self.valid_from} > {self.valid_to}",
        )

    @property
    def is_baseline(self) -> bool:
        return self.region == BASELINE_REGION

    def material(self, material_id: str) -> Material | None:
        return next((m for m in self.materials if m.material_id == material_id), None)

    @property
    def total_fee_fen(self) -> int:
        return sum(f.amount_fen for f in self.fees)

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; keys in field order, every optional key present."""
        return {
            "basic_code": self.basic_code,
            "implementation_code": self.implementation_code,
            "local_code": self.local_code,
            "name": self.name,
            "matter_type": self.matter_type.value,
            "implementing_body": self.implementing_body and self.implementing_body.to_dict(),
            "legal_time_limit": self.legal_time_limit.to_dict(),
            "promised_time_limit": self.promised_time_limit.to_dict(),
            "materials": [m.to_dict() for m in self.materials],
            "fees": [f.to_dict() for f in self.fees],
            "online_depth": int(self.online_depth),
            "handling_modes": [h.value for h in self.handling_modes],
            "min_assurance": self.min_assurance.value,
            "version": self.version,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to and self.valid_to.isoformat(),
            "region": self.region,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Matter:
        """Inverse of ``to_dict``; raises ``MatterError`` naming the first bad field."""
        _need(isinstance(d, Mapping), "matter", "expected an object")
        known = {f.name for f in fields(cls)}
        extra = sorted(set(d) - known)
        _need(not extra, extra[0] if extra else "matter", "unknown field")
        body = d.get("implementing_body")
        materials = d.get("materials", [])
        fees = d.get("fees", [])
        modes = d.get("handling_modes", [])
        for name, value in (("materials", materials), ("fees", fees), ("handling_modes", modes)):
            _need(isinstance(value, list), name, "expected a list")
        depth = _int(d.get("online_depth"), "online_depth", minimum=1)
        _need(depth <= 4, "online_depth", f"expected 1..4, got {depth}")
        return cls(
            basic_code=_text(d.get("basic_code"), "basic_code"),
            name=_text(d.get("name"), "name"),
            matter_type=_enum(MatterType, d.get("matter_type"), "matter_type"),
            legal_time_limit=TimeLimit.from_dict(d.get("legal_time_limit"), "legal_time_limit"),
            promised_time_limit=TimeLimit.from_dict(
                d.get("promised_time_limit"), "promised_time_limit"
            ),
            online_depth=OnlineDepth(depth),
            min_assurance=_enum(AssuranceLevel, d.get("min_assurance"), "min_assurance"),
            version=_text(d.get("version"), "version"),
            valid_from=_date(d.get("valid_from"), "valid_from"),
            region=_text(d.get("region"), "region"),
            materials=tuple(
                Material.from_dict(m, f"materials[{i}]") for i, m in enumerate(materials)
            ),
            fees=tuple(Fee.from_dict(f) for f in fees),
            handling_modes=tuple(
                _enum(HandlingMode, h, f"handling_modes[{i}]") for i, h in enumerate(modes)
            ),
            implementing_body=None if body is None else ImplementingBody.from_dict(body),
            implementation_code=d.get("implementation_code"),
            local_code=d.get("local_code"),
            valid_to=None if d.get("valid_to") is None else _date(d["valid_to"], "valid_to"),
        )


#: Who may apply for a matter (the values of ``gateway.identity.SubjectKind``): a natural
#: person (自然人) and/or a legal person (法人). Matters without a declaration are for
#: natural persons.
SUBJECT_KINDS = ("natural_person", "legal_person")
DEFAULT_SUBJECT_KINDS = ("natural_person",)


def subject_kinds_of(value: Any, path: str = "subject_kinds") -> tuple[str, ...]:
    """A matter's declared applicant kinds: a non-empty list of distinct
    :data:`SUBJECT_KINDS` (None: the default, natural persons only); ``MatterError`` else.

    Kept beside the records (``CatalogueEntry``), like ``issues_licence``: the canonical
    ``matter`` message every province maps is closed, and who may apply is the same in
    every region.
    """
    if value is None:
        return DEFAULT_SUBJECT_KINDS
    _need(isinstance(value, list) and bool(value), path, "expected a non-empty list")
    for i, kind in enumerate(value):
        _need(
            kind in SUBJECT_KINDS,
            f"{path}[{i}]",
            f"expected one of {', '.join(SUBJECT_KINDS)}, got {kind!r}",
        )
    _need(len(set(value)) == len(value), path, "duplicate kinds")
    return tuple(value)
