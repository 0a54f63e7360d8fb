"""The parts of a matter record: its closed vocabularies (type, time unit, material form,
handling mode, assurance level, online depth) and the small records a matter is built from
(time limit, implementing body, material, fee). :mod:`gateway.matters.model` re-exports
them; the :class:`~gateway.matters.model.Matter` record itself lives there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum, IntEnum, StrEnum
from typing import Any

from gateway.matters.errors import MatterError
from gateway.uscc import is_valid_uscc, uscc_problem

__all__ = [
    "MATTER_TYPE_CODES",
    "AssuranceLevel",
    "Fee",
    "HandlingMode",
    "ImplementingBody",
    "Material",
    "MaterialForm",
    "MatterType",
    "OnlineDepth",
    "TimeLimit",
    "TimeUnit",
]

_CERTIFICATE_TYPE = re.compile(r"\A[a-z][a-z0-9_]{2,39}\Z")


class MatterType(StrEnum):
    LICENSING = "行政许可"
    BENEFIT = "行政给付"
    CONFIRMATION = "行政确认"
    LEVY = "行政征收"
    PUBLIC_SERVICE = "公共服务"
    OTHER_POWER = "其他行政权力"


# First two digits of a basic code, by matter type.
MATTER_TYPE_CODES: Mapping[MatterType, str] = {
    MatterType.LICENSING: "01",
    MatterType.LEVY: "04",
    MatterType.BENEFIT: "05",
    MatterType.CONFIRMATION: "07",
    MatterType.OTHER_POWER: "10",
    MatterType.PUBLIC_SERVICE: "20",
}


class TimeUnit(StrEnum):
    WORKING_DAYS = "working_days"
    NATURAL_DAYS = "natural_days"


class MaterialForm(StrEnum):
    ORIGINAL = "original"
    COPY = "copy"
    ELECTRONIC = "electronic"


class HandlingMode(StrEnum):
    FULL_ONLINE = "全程网办"
    PROXY = "异地代收代办"
    MULTI_SITE = "多地联办"


class AssuranceLevel(StrEnum):
    """Minimum identity assurance, on one scale like eIDAS (low < substantial < high)."""

    LOW = "low"
    SUBSTANTIAL = "substantial"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return ("low", "substantial", "high").index(self.value)


class OnlineDepth(IntEnum):
    """Depth of online service (网上办理深度), levels 1 to 4."""

    INFORMATION = 1  # guidance published online
    FORMS = 2  # forms downloadable
    SUBMISSION = 3  # applied for online, collected or checked on site
    FULL = 4  # handled entirely online (全程网办)


def _need(cond: bool, path: str, message: str) -> None:
    if not cond:
        raise MatterError(path, message)


def _text(value: Any, path: str, *, empty: bool = False) -> str:
    _need(isinstance(value, str), path, f"expected text, got {type(value).__name__}")
    _need(empty or bool(value.strip()), path, "must not be empty")
    return value


def _enum(cls: type[Enum], value: Any, path: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in cls)
        raise MatterError(path, f"expected one of {allowed}, got {value!r}") from None


def _coerce(obj: Any, name: str, cls: type[Enum], path: str) -> None:
    """Set ``obj.name`` (a frozen dataclass field) to the ``cls`` member it names, or refuse:
    public constructors take enum members or their values, never a look-alike string."""
    value = getattr(obj, name)
    if not isinstance(value, cls):
        object.__setattr__(obj, name, _enum(cls, value, path))


def _date(value: Any, path: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(_text(value, path))
    except ValueError:
        raise MatterError(path, f"expected an iso date yyyy-mm-dd, got {value!r}") from None


def _int(value: Any, path: str, *, minimum: int = 0) -> int:
    _need(
        isinstance(value, int) and not isinstance(value, bool), path, f"expected int, got {value!r}"
    )
    _need(value >= minimum, path, f"must be >= {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class TimeLimit:
    """A time limit; ``unit`` given as text (``"working_days"``) is taken as the enum member,
    and anything else is refused: a plain string must never silently count natural days."""

    value: int
    unit: TimeUnit

    def __post_init__(self) -> None:
        _int(self.value, "time_limit.value")
        _coerce(self, "unit", TimeUnit, "time_limit.unit")

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit.value}

    @classmethod
    def from_dict(cls, d: Any, path: str = "time_limit") -> TimeLimit:  # untrusted JSON
        _need(isinstance(d, Mapping), path, "expected an object")
        return cls(
            _int(d.get("value"), f"{path}.value"), _enum(TimeUnit, d.get("unit"), f"{path}.unit")
        )


@dataclass(frozen=True)
class ImplementingBody:
    name: str
    uscc: str

    def __post_init__(self) -> None:
        _text(self.name, "implementing_body.name")
        _need(
            is_valid_uscc(self.uscc),
            "implementing_body.uscc",
            f"not a valid unified social credit code (GB 32100): {uscc_problem(self.uscc)}",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "uscc": self.uscc}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ImplementingBody:
        _need(isinstance(d, Mapping), "implementing_body", "expected an object")
        return cls(_text(d.get("name"), "implementing_body.name"), d.get("uscc", ""))


@dataclass(frozen=True)
class Material:
    """An application material. ``material_id`` aligns materials across regions.

    ``shareable`` means the window must fetch it from ``source_department`` instead of
    asking the applicant (once-only rule: 凡是能通过信息共享提供的证明材料, 不得要求重复提供).
    ``certificate_type`` names what a shareable material is as the once-only evidence
    exchange asks for it (a value of the evidence schema's ``certificate_type`` enum,
    ``gateway.dialects.schema``: ``business_licence``, ``household_register`` ...).
    """

    material_id: str
    name: str
    required: bool
    form: MaterialForm
    shareable: bool = False
    source_department: str | None = None
    certificate_type: str | None = None

    def __post_init__(self) -> None:
        path = f"materials[{self.material_id}]"
        _coerce(self, "form", MaterialForm, f"{path}.form")
        _text(self.material_id, f"{path}.material_id")
        _text(self.name, f"{path}.name")
        _need(isinstance(self.required, bool), f"{path}.required", "expected bool")
        _need(isinstance(self.shareable, bool), f"{path}.shareable", "expected bool")
        _need(
            not self.shareable or bool(self.source_department),
            f"{path}.source_department",
            "a shareable material must name its source department",
        )
        kind = self.certificate_type
        code_ok = isinstance(kind, str) and _CERTIFICATE_TYPE.fullmatch(kind) is not None
        _need(
            kind is None or code_ok,
            f"{path}.certificate_type",
            "expected a certificate type code (lower-case letters, digits, _)",
        )
        _need(
            kind is None or self.shareable,
            f"{path}.certificate_type",
            "only a shareable material names a certificate type",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "material_id": self.material_id,
            "name": self.name,
            "required": self.required,
            "form": self.form.value,
            "shareable": self.shareable,
            "source_department": self.source_department,
            "certificate_type": self.certificate_type,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str = "materials[]") -> Material:
        _need(isinstance(d, Mapping), path, "expected an object")
        return cls(
            material_id=_text(d.get("material_id"), f"{path}.material_id"),
            name=_text(d.get("name"), f"{path}.name"),
            required=d.get("required", True),
            form=_enum(MaterialForm, d.get("form"), f"{path}.form"),
            shareable=d.get("shareable", False),
            source_department=d.get("source_department"),
            certificate_type=d.get("certificate_type"),
        )


@dataclass(frozen=True)
class Fee:
    item: str
    amount_fen: int
    basis: str

    def __post_init__(self) -> None:
        _text(self.item, "fees.item")
        _int(self.amount_fen, "fees.amount_fen")
        _text(self.basis, "fees.basis")

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "amount_fen": self.amount_fen, "basis": self.basis}

    @classmethod
    def from_dict(cls, d: Any) -> Fee:  # untrusted JSON, checked below
        _need(isinstance(d, Mapping), "fees[]", "expected an object")
        return cls(d.get("item"), d.get("amount_fen"), d.get("basis"))
