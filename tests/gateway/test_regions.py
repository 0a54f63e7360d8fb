"""gateway.regions: the one place for region ids, names, protobuf values and their order."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gateway import regions
from gateway.pb.yrd.v1 import common_pb2
from gateway.regions import NAMES, REGIONS, Region

ROOT = Path(__file__).resolve().parents[2]


def test_the_order_is_home_side_first_then_the_provinces():
    assert [str(r) for r in REGIONS] == ["SH", "JS", "ZJ", "AH"]
    assert set(REGIONS) == set(Region)


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_maps_to_its_protobuf_value_and_back(region):
    value = regions.to_pb(region)
    assert common_pb2.Region.Name(value) == f"REGION_{region}"
    assert regions.from_pb(value) is region
    assert regions.to_pb(str(region)) == value  # a plain code works as well as the enum


def test_the_protobuf_enum_has_no_region_we_do_not_map():
    named = {v for n, v in common_pb2.Region.items() if n != "REGION_UNSPECIFIED"}
    assert named == set(regions.FROM_PB)
    assert regions.from_pb(common_pb2.REGION_UNSPECIFIED) is None
    assert regions.from_pb(max(named) + 1) is None


def test_a_code_that_is_not_a_region_is_refused():
    with pytest.raises(ValueError, match="'YRD' is not a valid Region"):
        regions.to_pb("YRD")
    with pytest.raises(ValueError):
        regions.region_name("sh")


def test_names():
    assert dict(NAMES) == {"SH": "上海", "JS": "江苏", "ZJ": "浙江", "AH": "安徽"}
    assert [regions.region_name(r) for r in REGIONS] == ["上海", "江苏", "浙江", "安徽"]
    with pytest.raises(TypeError):
        NAMES["SH"] = "沪"  # type: ignore[index]


def test_the_old_homes_re_export_the_same_objects():
    from gateway.cases import REGION_NAMES
    from gateway.identity import Province
    from gateway.matters import REGIONS as MATTER_REGIONS
    from gateway.registry import Region as RegistryRegion

    assert RegistryRegion is Region
    assert Province is Region
    assert MATTER_REGIONS is REGIONS
    assert REGION_NAMES is NAMES


@pytest.mark.parametrize("module", ["regions", "times"])
def test_imports_nothing_from_other_gateway_packages(module):
    """Everything else may import these two; they import only the generated protobuf code,
    the error root (which imports no gateway package) and, for regions, the time zone."""
    tree = ast.parse((ROOT / "gateway" / f"{module}.py").read_text(encoding="utf-8"))
    ours = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            ours.add(node.module)
        elif isinstance(node, ast.Import):
            ours |= {a.name for a in node.names}
    ours = {m for m in ours if m.split(".")[0] in ("gateway", "ledger", "adapters")}
    assert ours <= {"gateway.pb.yrd.v1", "gateway.times", "gateway.errors"}, ours


REPEATED_FACTS = {
    "timedelta(hours=8)": "gateway.times.BEIJING",
    '("SH", "JS", "ZJ", "AH")': "gateway.regions.REGIONS",
    'JS = "JS"': "gateway.regions.Region",
    '{"SH": "上海"': "gateway.regions.NAMES",
    "common_pb2.REGION_JS:": "gateway.regions.TO_PB / FROM_PB",
    "Timestamp()": "gateway.times.to_timestamp / timestamp_from_seconds",
    ".FromDatetime(": "gateway.times.to_timestamp",
    ".ToDatetime(": "gateway.times.from_timestamp",
}


def test_the_facts_are_written_once():
    """Region ids, names, protobuf values, the time zone and Timestamp handling live in
    gateway/regions.py and gateway/times.py; everywhere else imports them."""
    homes = {ROOT / "gateway" / "regions.py", ROOT / "gateway" / "times.py"}
    offenders = []
    for package in ("gateway", "adapters"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path in homes or "/pb/" in path.as_posix():
                continue
            text = path.read_text(encoding="utf-8")
            offenders += [
                f"{path.relative_to(ROOT)}: {fact} (use {home})"
                for fact, home in REPEATED_FACTS.items()
                if fact in text
            ]
    assert not offenders, "\n".join(offenders)
