"""可共享免交 materials name what they are for the once-only evidence exchange: every shareable
material of the catalogue has a ``certificate_type`` of the evidence schema's enum, which
every province dialect can carry (in a matter and in an ``evidence.request``)."""

from __future__ import annotations

import pytest

from gateway.dialects import ENUMS, default_dialects
from gateway.matters import MatterError, default_catalogue
from gateway.matters.model import Material, MaterialForm
from gateway.regions import REGIONS


def _variants():
    catalogue = default_catalogue()
    for matter in catalogue.list():
        for region in REGIONS:
            try:
                yield region, catalogue.get(matter.basic_code, str(region))
            except MatterError:
                continue


def test_every_shareable_material_names_a_certificate_type_of_the_schema():
    shareable = [(r, v.basic_code, m) for r, v in _variants() for m in v.materials if m.shareable]
    assert len(shareable) >= 20, "the sample catalogue has fewer shareable materials than before"
    for region, code, material in shareable:
        where = f"{code} {region} {material.material_id} {material.name}"
        assert material.certificate_type in ENUMS["certificate_type"], where
    for _, variant in _variants():
        for material in variant.materials:
            assert material.shareable or material.certificate_type is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shareable": False, "certificate_type": "business_licence"}, "only a shareable"),
        ({"shareable": True, "source_department": "市场监管", "certificate_type": "营业执照"},
         "certificate type code"),
        ({"shareable": True, "source_department": "市场监管", "certificate_type": ""},
         "certificate type code"),
    ],
)  # fmt: skip
def test_certificate_type_is_checked(kwargs, message):
    with pytest.raises(MatterError, match=message) as info:
        Material("M01", "营业执照", True, MaterialForm.ELECTRONIC, **kwargs)
    assert info.value.field == "materials[M01].certificate_type"


@pytest.mark.parametrize("region", ["JS", "ZJ", "AH"])
def test_each_dialect_carries_every_certificate_type(region):
    """A matter with a shareable material of each type, through the province's codec and
    back; and an evidence request for each type."""
    codec = default_dialects().get(region).codec
    catalogue = default_catalogue()
    matter = catalogue.get("010027100000", region)
    for kind in ENUMS["certificate_type"]:
        materials = [Material("M09", "证照", True, MaterialForm.ELECTRONIC, True, "出具部门", kind)]
        canonical = {**matter.to_dict(), "materials": [m.to_dict() for m in materials]}
        back = codec.to_canonical("matter", codec.from_canonical("matter", canonical))
        assert back["materials"][0]["certificate_type"] == kind
        request = {
            "request_id": "R1",
            "certificate_type": kind,
            "subject_uscc": None,
            "subject_person_key": "pk-abcdefghijklmnop",
            "purpose": "办件",
            "requester": "x",
        }
        kind_name = "evidence.request"
        back = codec.to_canonical(kind_name, codec.from_canonical(kind_name, request))
        assert back["certificate_type"] == kind
