"""The matter catalogue: YRD baseline records and their local variants per region.

The catalogue file (``yrd-matter-catalogue/1``) keeps each province's differences as
data: an entry holds one baseline record (region ``YRD``) and, per region, only what the
variant changes. A variant names its implementing body from the ``bodies`` table, sets
its local code and implementation suffix, and may override any scalar field; its
``materials`` object edits the baseline list by canonical material id::

    "M04": null                          the region does not ask for M04
    "M05": {"shareable": true, ...}      M05 with these fields changed
    "M06": {<a whole material>}          a material only this region asks for

The bundled ``data/catalogue.json`` is SAMPLE DATA, not an official list.
"""

from __future__ import annotations

import builtins
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from gateway.matters.errors import MatterError, MatterNotFound
from gateway.matters.model import (
    DEFAULT_SUBJECT_KINDS,
    REGIONS,
    HandlingMode,
    Matter,
    MatterType,
    implementation_code,
    subject_kinds_of,
)

__all__ = ["Catalogue", "CatalogueEntry", "default_catalogue"]

_FORMAT = "yrd-matter-catalogue/1"
_VARIANT_KEYS = frozenset({"local_code", "implementing_body", "implementation_suffix", "materials"})


@dataclass(frozen=True)
class CatalogueEntry:
    """One matter: the baseline record and its variant per region. ``issues_licence``: the
    matter ends in a certificate or licence (证照), so its last handling step is 发证, not
    办结; kept beside the records, not in them, because the ``matter`` wire message is closed.
    ``subject_kinds``: who may apply, ``natural_person`` and/or ``legal_person`` (kept beside
    the records for the same reason; see ``gateway.matters.model.subject_kinds_of``).
    """

    baseline: Matter
    variants: Mapping[str, Matter]
    issues_licence: bool = False
    subject_kinds: tuple[str, ...] = DEFAULT_SUBJECT_KINDS

    @property
    def basic_code(self) -> str:
        return self.baseline.basic_code


class Catalogue:
    """An immutable, indexed set of ``CatalogueEntry`` records."""

    def __init__(self, entries: Iterable[CatalogueEntry]) -> None:
        self._entries: dict[str, CatalogueEntry] = {}
        self._local: dict[tuple[str, str], str] = {}
        for entry in entries:
            if entry.basic_code in self._entries:
                raise MatterError("basic_code", f"duplicate entry {entry.basic_code}")
            self._entries[entry.basic_code] = entry
            for region, variant in entry.variants.items():
                key = (region, variant.local_code or "")
                if not variant.local_code or key in self._local:
                    raise MatterError(
                        "local_code", f"{region}: missing or duplicate {variant.local_code!r}"
                    )
                self._local[key] = entry.basic_code

    # -- loading -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalogue:
        if data.get("format") != _FORMAT:
            raise MatterError("format", f"expected {_FORMAT!r}, got {data.get('format')!r}")
        bodies = data.get("bodies", {})
        entries = []
        for i, raw in enumerate(data.get("entries", [])):
            try:
                baseline = Matter.from_dict(raw["canonical"])
                variants = {
                    region: _variant(raw["canonical"], region, spec, bodies)
                    for region, spec in raw.get("variants", {}).items()
                }
            except MatterError as exc:
                raise MatterError(f"entries[{i}].{exc.field}", exc.message) from exc
            licence = raw.get("issues_licence", False)
            if not isinstance(licence, bool):
                raise MatterError(f"entries[{i}].issues_licence", "expected bool")
            kinds = subject_kinds_of(raw.get("subject_kinds"), f"entries[{i}].subject_kinds")
            entries.append(CatalogueEntry(baseline, variants, licence, kinds))
        return cls(entries)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Catalogue:
        """Load a catalogue file; without ``path``, the bundled SAMPLE catalogue."""
        if path is None:
            text = resources.files("gateway.matters.data").joinpath("catalogue.json")
            return cls.from_dict(json.loads(text.read_text("utf-8")))
        return cls.from_dict(json.loads(Path(path).read_text("utf-8")))

    # -- queries -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(self._entries.values())

    def entry(self, basic_code: str) -> CatalogueEntry:
        try:
            return self._entries[basic_code]
        except KeyError:
            raise MatterNotFound("basic_code", f"no matter {basic_code!r}") from None

    def get(self, basic_code: str, region: str | None = None) -> Matter:
        """The baseline record, or the variant of ``region`` when given."""
        entry = self.entry(basic_code)
        if region is None or region == entry.baseline.region:
            return entry.baseline
        try:
            return entry.variants[region]
        except KeyError:
            raise MatterNotFound(
                "region", f"matter {basic_code} has no {region!r} variant"
            ) from None

    def issues_licence(self, basic_code: str) -> bool:
        """Whether the matter ends in a certificate or licence (unknown matters: no)."""
        entry = self._entries.get(basic_code)
        return entry is not None and entry.issues_licence

    def subject_kinds(self, basic_code: str) -> tuple[str, ...]:
        """Who may apply for the matter (``MatterNotFound`` for an unknown one)."""
        return self.entry(basic_code).subject_kinds

    def list(self, region: str | None = None) -> list[Matter]:
        """Baseline records (or the variants of ``region``), in basic-code order."""
        return [self.get(code, region) for code in sorted(self._entries)]

    def search(
        self,
        text: str | None = None,
        *,
        region: str | None = None,
        matter_type: MatterType | str | None = None,
        handling_mode: HandlingMode | str | None = None,
    ) -> builtins.list[Matter]:  # the method `list` shadows the builtin in this class body
        """Records whose name, basic or local code contains ``text`` (NFKC, case-blind).

        With ``region``, names and local codes of that region's variants are searched and
        variants returned; otherwise baseline records, matching any region's name or code.
        """
        needle = _fold(text or "")
        out = []
        for code in sorted(self._entries):
            entry = self._entries[code]
            if region is not None and region not in entry.variants:
                continue
            record = self.get(code, region)
            candidates = [record] if region else [entry.baseline, *entry.variants.values()]
            haystack = " ".join(f"{m.name} {m.basic_code} {m.local_code or ''}" for m in candidates)
            if needle and needle not in _fold(haystack):
                continue
            if matter_type is not None and record.matter_type != MatterType(matter_type):
                continue
            if (
                handling_mode is not None
                and HandlingMode(handling_mode) not in record.handling_modes
            ):
                continue
            out.append(record)
        return out

    def resolve(self, local_code: str, region: str) -> Matter:
        """The baseline record for a region's local code; ``MatterNotFound`` if unknown."""
        try:
            return self._entries[self._local[(region, local_code)]].baseline
        except KeyError:
            raise MatterNotFound(
                "local_code", f"no matter with local code {local_code!r} in {region!r}"
            ) from None

    def local_code(self, basic_code: str, region: str) -> str:
        code = self.get(basic_code, region).local_code
        assert code is not None  # every variant has one (checked on load)
        return code


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKC", s).casefold()


def _variant(
    base: Mapping[str, Any], region: str, spec: Mapping[str, Any], bodies: Mapping[str, Any]
) -> Matter:
    if region not in REGIONS:
        raise MatterError("variants", f"unknown region {region!r}")
    record = {k: v for k, v in base.items()}
    for key, value in spec.items():
        if key not in _VARIANT_KEYS:
            if key not in record:
                raise MatterError(f"variants.{region}.{key}", "unknown field")
            record[key] = value
    try:
        body = bodies[spec["implementing_body"]]
    except KeyError:
        raise MatterError(
            f"variants.{region}.implementing_body", "unknown or missing body reference"
        ) from None
    record["region"] = region
    record["local_code"] = spec.get("local_code")
    record["implementing_body"] = dict(body)
    record["implementation_code"] = implementation_code(
        body["uscc"], base["basic_code"], spec.get("implementation_suffix", "01")
    )
    materials = {m["material_id"]: dict(m) for m in base.get("materials", [])}
    for mid, change in spec.get("materials", {}).items():
        if change is None:
            if materials.pop(mid, None) is None:
                raise MatterError(f"variants.{region}.materials.{mid}", "removes an absent id")
        elif mid in materials:
            materials[mid].update(change)
        else:
            materials[mid] = {"material_id": mid, **change}
    record["materials"] = list(materials.values())
    try:
        return Matter.from_dict(record)
    except MatterError as exc:
        raise MatterError(f"variants.{region}.{exc.field}", exc.message) from exc


_default: Catalogue | None = None


def default_catalogue() -> Catalogue:
    """The bundled SAMPLE catalogue, loaded once."""
    global _default
    if _default is None:
        _default = Catalogue.load()
    return _default
