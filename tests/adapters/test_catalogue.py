"""The dialect catalogue: entry points, explicit registration, and the dependency direction."""

from __future__ import annotations

import ast
import pathlib
from dataclasses import dataclass

import pytest

import gateway.dialects
import gateway.matters
from gateway.dialects import (
    ENTRY_POINT_GROUP,
    CanonicalCodec,
    CatalogueError,
    Dialect,
    DialectCatalogue,
)

from .conftest import FACTORIES

ROOT = pathlib.Path(__file__).resolve().parents[2]


@dataclass
class FakeEntryPoint:
    name: str
    target: object

    def load(self) -> object:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


def fake_entry_points(*eps: FakeEntryPoint):
    def entry_points(group: str):
        assert group == ENTRY_POINT_GROUP
        return list(eps)

    return entry_points


def test_canonical_dialect_is_always_there() -> None:
    reg = DialectCatalogue()
    assert reg.regions() == ["SH"]
    assert isinstance(reg.get("SH").codec, CanonicalCodec)
    assert reg.by_dialect("yrd-canonical/1") is reg.get("SH")
    assert reg.get("SH").identity is None


def test_loads_province_adapters_from_entry_points() -> None:
    reg = DialectCatalogue()
    names = reg.load_entry_points(
        entry_points=fake_entry_points(
            FakeEntryPoint("jiangsu", FACTORIES["JS"]),
            FakeEntryPoint("zhejiang", FACTORIES["ZJ"]),
            FakeEntryPoint("anhui", FACTORIES["AH"]),
        )
    )
    assert names == ["jiangsu", "zhejiang", "anhui"]
    assert reg.regions() == ["AH", "JS", "SH", "ZJ"]
    assert reg.by_dialect("zj-xml/1").region == "ZJ"
    assert [a.region for a in reg] == ["AH", "JS", "SH", "ZJ"]


def test_an_entry_point_may_name_a_dialect_but_not_a_bare_codec() -> None:
    reg = DialectCatalogue()
    js = FACTORIES["JS"]()
    assert reg.load_entry_points(entry_points=fake_entry_points(FakeEntryPoint("js", js))) == ["js"]
    assert reg.get("JS") is js
    with pytest.raises(CatalogueError, match="expected a Dialect, got MappedCodec"):
        DialectCatalogue().load_entry_points(
            entry_points=fake_entry_points(FakeEntryPoint("bare", lambda: js.codec))
        )


@pytest.mark.parametrize("region", ["JS", "ZJ", "AH"])
def test_every_province_names_all_its_parts(region) -> None:
    dialect = FACTORIES[region]()
    assert dialect.region == region
    assert dialect.identity is not None and dialect.identity.province == region
    assert dialect.simulator_factory.certificates  # its own sample store


def test_catalogue_errors() -> None:
    reg = DialectCatalogue()
    with pytest.raises(CatalogueError) as info:
        reg.load_entry_points(
            entry_points=fake_entry_points(FakeEntryPoint("broken", ImportError("no module")))
        )
    assert info.value.field == "entry_point:broken"
    reg.register(FACTORIES["JS"]())
    with pytest.raises(CatalogueError, match="already has"):
        reg.register(FACTORIES["JS"]())
    reg.register(FACTORIES["JS"](), replace=True)
    with pytest.raises(CatalogueError) as info:
        reg.get("HK")
    assert info.value.field == "region"
    with pytest.raises(CatalogueError):
        reg.register(object())  # type: ignore[arg-type]


def test_gateway_never_imports_a_province_by_name() -> None:
    for path in (ROOT / "gateway").rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert not name.startswith("adapters"), f"{path}: imports {name}"


@pytest.mark.parametrize("module", [gateway.dialects, gateway.matters])
def test_all_is_honest(module) -> None:
    # order is checked by ruff (RUF022); here: no duplicates, every name exists
    assert len(set(module.__all__)) == len(module.__all__)
    for name in module.__all__:
        assert hasattr(module, name), name


def test_a_dialect_refuses_another_regions_identity_format() -> None:
    js, zj = FACTORIES["JS"](), FACTORIES["ZJ"]()
    with pytest.raises(ValueError, match="expected the format of region JS, got ZJ"):
        Dialect(js.codec, identity=zj.identity)
