"""The SAMPLE catalogue: loading, variants, search, list and resolve."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest

from gateway.matters import (
    REGIONS,
    Catalogue,
    HandlingMode,
    MatterError,
    MatterNotFound,
    MatterType,
    TimeUnit,
    default_catalogue,
)

G60_FIRST_BATCH = {"010010300100", "010010300200", "010010300300", "010027100000"}
PERSONAL = {"200051200100", "200060100100", "200070300200", "070010400100"}


def raw() -> dict:
    text = resources.files("gateway.matters.data").joinpath("catalogue.json").read_text("utf-8")
    return json.loads(text)


def test_data_file_says_it_is_sample_data() -> None:
    assert "SAMPLE DATA" in raw()["notice"]


def test_every_matter_has_four_genuinely_different_variants() -> None:
    cat = default_catalogue()
    assert {e.basic_code for e in cat} == G60_FIRST_BATCH | PERSONAL
    for entry in cat:
        assert set(entry.variants) == set(REGIONS)
        records = [entry.variants[r].to_dict() for r in REGIONS]
        for r in records:
            r.pop("local_code"), r.pop("implementation_code"), r.pop("implementing_body")
            r.pop("region")
        # beyond codes and bodies, at least two regions differ in substance
        assert len({json.dumps(r, sort_keys=True) for r in records}) > 1, entry.basic_code
    units = {v.promised_time_limit.unit for e in cat for v in e.variants.values()}
    assert units == set(TimeUnit)


def test_variant_is_built_from_the_baseline() -> None:
    zj = default_catalogue().get("010010300100", "ZJ")
    assert zj.local_code == "ZJSX000001"
    assert zj.implementation_code == zj.implementing_body.uscc + "010010300100" + "01"
    assert zj.material("M04") is None  # removed in ZJ
    assert zj.material("M05").shareable
    js = default_catalogue().get("010010300100", "JS")
    assert js.material("M06").name == "经办人身份证明"  # only JS asks for it


def test_resolve_local_codes() -> None:
    cat = default_catalogue()
    for region in REGIONS:
        for record in cat.list(region):
            assert cat.resolve(record.local_code, region).basic_code == record.basic_code
            assert cat.local_code(record.basic_code, region) == record.local_code
    with pytest.raises(MatterNotFound):
        cat.resolve("JS-320000-0001", "ZJ")  # a Jiangsu code means nothing in Zhejiang
    with pytest.raises(MatterNotFound):
        cat.get("999999999999")


def test_search_and_list() -> None:
    cat = default_catalogue()
    assert [m.basic_code for m in cat.search("异地就医")] == ["200060100100"]
    assert [m.basic_code for m in cat.search("企业开办")] == ["010010300100"]  # a ZJ name
    assert cat.search("企业开办", region="JS") == []
    assert [m.local_code for m in cat.search("js-320000-0003", region="JS")] == ["JS-320000-0003"]
    licences = cat.search(matter_type=MatterType.LICENSING)
    assert {m.basic_code for m in licences} == G60_FIRST_BATCH
    joint_ah = cat.search(region="AH", handling_mode=HandlingMode.MULTI_SITE)
    assert [m.basic_code for m in joint_ah] == ["010027100000"]
    assert len(cat.list()) == 8 and all(m.is_baseline for m in cat.list())


def test_bad_variant_is_reported_with_its_path() -> None:
    data = copy.deepcopy(raw())
    data["entries"][0]["variants"]["JS"]["promised_time_limit"] = {
        "value": 9,
        "unit": "working_days",
    }
    with pytest.raises(MatterError) as info:
        Catalogue.from_dict(data)
    assert info.value.field == "entries[0].variants.JS.promised_time_limit"
    data = copy.deepcopy(raw())
    data["entries"][1]["variants"]["AH"]["local_code"] = data["entries"][0]["variants"]["AH"][
        "local_code"
    ]
    with pytest.raises(MatterError, match="duplicate"):
        Catalogue.from_dict(data)
