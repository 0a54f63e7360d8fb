"""canonical -> dialect -> canonical is the identity, for every dialect and every kind."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.dialects import KINDS, AdapterError
from gateway.matters import REGIONS, default_catalogue

from .conftest import CODECS
from .strategies import matters, payloads

CASES = [(region, kind) for region in sorted(CODECS) for kind in KINDS]


@pytest.mark.parametrize(("region", "kind"), CASES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip(region: str, kind: str, data) -> None:
    codec = CODECS[region]
    flat = region == "JS"  # Jiangsu carries time limits in working days only
    canonical = data.draw(payloads(kind, codec, working_days_only=flat))
    wire = codec.from_canonical(kind, canonical)
    assert isinstance(wire, bytes)
    assert codec.to_canonical(kind, wire) == canonical


@settings(max_examples=30, deadline=None)
@given(matter=matters())
def test_jiangsu_refuses_natural_days_it_cannot_carry(matter) -> None:
    codec = CODECS["JS"]
    units = {matter["legal_time_limit"]["unit"], matter["promised_time_limit"]["unit"]}
    if units == {"working_days"}:
        assert codec.to_canonical("matter", codec.from_canonical("matter", matter)) == matter
    else:
        with pytest.raises(AdapterError, match="working days only") as info:
            codec.from_canonical("matter", matter)
        assert info.value.field.endswith("_time_limit.unit")


@pytest.mark.parametrize("region", REGIONS)
def test_every_catalogue_variant_travels_in_its_own_dialect(region: str) -> None:
    codec = CODECS[region]
    for record in default_catalogue().list(region):
        d = record.to_dict()
        assert codec.to_canonical("matter", codec.from_canonical("matter", d)) == d
        # local codes in mapping data agree with the catalogue
        assert codec.local_matter_code(record.basic_code) == record.local_code
        assert codec.canonical_matter_code(record.local_code) == record.basic_code
