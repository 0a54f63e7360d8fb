"""Compare one matter across regions, field by field.

Steps of ``compare_matter``:

1. Take the variant of each requested region from the catalogue.
2. Normalise every time limit to working days. A limit in working days is kept; a limit of
   N natural days becomes the number of working days among the N natural days after the
   reference date (the intake day; a limit runs from the next day), counted with the
   working-day calendar (``gateway.workdays``), so holidays and make-up working days
   count as they fall. The result therefore depends on the reference date, which the
   comparison records.
3. Align materials by canonical material id: for each id, per region, whether it is
   asked for at all, required, shareable (fetched from another department under the
   once-only rule) and in which form.
4. Collect fees (total in fen and items), online depth, handling modes, minimum identity
   assurance and local names, and list every field whose values are not the same in all
   regions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.matters.catalogue import Catalogue
from gateway.matters.errors import MatterError
from gateway.matters.model import REGIONS, Fee, Matter, TimeLimit, TimeUnit
from gateway.workdays import WorkdayCalendar, default_calendar

__all__ = [
    "Comparison",
    "MaterialPresence",
    "MaterialRow",
    "compare_matter",
    "to_working_days",
]


@dataclass(frozen=True)
class MaterialPresence:
    """One material in one region; ``present`` False means the region does not ask for it."""

    present: bool
    required: bool = False
    shareable: bool = False
    form: str | None = None
    source_department: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "required": self.required,
            "shareable": self.shareable,
            "form": self.form,
            "source_department": self.source_department,
        }


ABSENT = MaterialPresence(present=False)
_ORDER = ("name", "legal_time_limit", "promised_time_limit", "materials", "fees",
          "online_depth", "handling_modes", "min_assurance")  # fmt: skip


@dataclass(frozen=True)
class MaterialRow:
    material_id: str
    name: str
    by_region: Mapping[str, MaterialPresence]

    @property
    def differs(self) -> bool:
        return len(set(self.by_region.values())) > 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "material_id": self.material_id,
            "name": self.name,
            "differs": self.differs,
            "by_region": {r: p.to_dict() for r, p in self.by_region.items()},
        }


@dataclass(frozen=True)
class Comparison:
    """The outcome of ``compare_matter``; every mapping is keyed by region."""

    basic_code: str
    name: str
    regions: tuple[str, ...]
    reference_date: date
    local_codes: Mapping[str, str | None]
    names: Mapping[str, str]
    legal_time_limit: Mapping[str, TimeLimit]
    promised_time_limit: Mapping[str, TimeLimit]
    legal_working_days: Mapping[str, int]
    promised_working_days: Mapping[str, int]
    materials: tuple[MaterialRow, ...]
    fees: Mapping[str, tuple[Fee, ...]]
    fee_total_fen: Mapping[str, int]
    online_depth: Mapping[str, int]
    handling_modes: Mapping[str, tuple[str, ...]]
    min_assurance: Mapping[str, str]
    differing_fields: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "basic_code": self.basic_code,
            "name": self.name,
            "regions": list(self.regions),
            "reference_date": self.reference_date.isoformat(),
            "local_codes": dict(self.local_codes),
            "names": dict(self.names),
            "legal_time_limit": {r: t.to_dict() for r, t in self.legal_time_limit.items()},
            "promised_time_limit": {r: t.to_dict() for r, t in self.promised_time_limit.items()},
            "legal_working_days": dict(self.legal_working_days),
            "promised_working_days": dict(self.promised_working_days),
            "materials": [row.to_dict() for row in self.materials],
            "fees": {r: [f.to_dict() for f in fs] for r, fs in self.fees.items()},
            "fee_total_fen": dict(self.fee_total_fen),
            "online_depth": dict(self.online_depth),
            "handling_modes": {r: list(m) for r, m in self.handling_modes.items()},
            "min_assurance": dict(self.min_assurance),
            "differing_fields": list(self.differing_fields),
        }


def to_working_days(limit: TimeLimit, reference_date: date, calendar: WorkdayCalendar) -> int:
    """A time limit in working days, natural days counted from ``reference_date``."""
    if limit.unit is TimeUnit.WORKING_DAYS:
        return limit.value
    return calendar.natural_to_working_days(reference_date, limit.value)


def compare_matter(
    catalogue: Catalogue,
    basic_code: str,
    *,
    reference_date: date,
    regions: Sequence[str] = REGIONS,
    calendar: WorkdayCalendar | None = None,
) -> Comparison:
    """Compare ``basic_code`` across ``regions``; raises ``MatterNotFound`` if any is missing."""
    cal = calendar or default_calendar()
    # (1): variants
    entry = catalogue.entry(basic_code)
    v: dict[str, Matter] = {r: catalogue.get(basic_code, r) for r in regions}

    def per(fn):
        return {r: fn(m) for r, m in v.items()}

    # (2): time limits
    legal = per(lambda m: m.legal_time_limit)
    promised = per(lambda m: m.promised_time_limit)
    try:
        legal_wd = {r: to_working_days(t, reference_date, cal) for r, t in legal.items()}
        promised_wd = {r: to_working_days(t, reference_date, cal) for r, t in promised.items()}
    except OverflowError as exc:  # date + timedelta past 9999-12-31
        raise MatterError(
            "reference_date",
            f"reference_date {reference_date.isoformat()} plus the time limit is past 9999-12-31",
        ) from exc
    # (3): materials by canonical id, baseline order first, then region-only ones
    order = [m.material_id for m in entry.baseline.materials]
    for m in v.values():
        order += [x.material_id for x in m.materials if x.material_id not in order]
    rows = []
    for mid in order:
        found = [x for m in v.values() if (x := m.material(mid)) is not None]
        base = entry.baseline.material(mid)
        name = (base or found[0]).name if (base or found) else mid
        rows.append(MaterialRow(mid, name, {r: _presence(m.material(mid)) for r, m in v.items()}))
    # (4): the rest, and which fields differ
    fields = {
        "name": per(lambda m: m.name),
        "legal_time_limit": legal_wd,
        "promised_time_limit": promised_wd,
        "fees": per(lambda m: m.fees),
        "online_depth": per(lambda m: int(m.online_depth)),
        "handling_modes": per(lambda m: tuple(h.value for h in m.handling_modes)),
        "min_assurance": per(lambda m: m.min_assurance.value),
    }
    fields["materials"] = {r: tuple(row.by_region[r] for row in rows) for r in v}
    differing = [k for k in _ORDER if _differs(fields[k])]
    return Comparison(
        basic_code=basic_code,
        name=entry.baseline.name,
        regions=tuple(regions),
        reference_date=reference_date,
        local_codes=per(lambda m: m.local_code),
        names=fields["name"],
        legal_time_limit=legal,
        promised_time_limit=promised,
        legal_working_days=legal_wd,
        promised_working_days=promised_wd,
        materials=tuple(rows),
        fees=fields["fees"],
        fee_total_fen=per(lambda m: m.total_fee_fen),
        online_depth=fields["online_depth"],
        handling_modes=fields["handling_modes"],
        min_assurance=fields["min_assurance"],
        differing_fields=tuple(differing),
    )


def _presence(m) -> MaterialPresence:
    if m is None:
        return ABSENT
    return MaterialPresence(True, m.required, m.shareable, m.form.value, m.source_department)


def _differs(values: Mapping[str, Any]) -> bool:
    return len({repr(v) for v in values.values()}) > 1
