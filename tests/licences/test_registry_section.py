"""The registry's ``licence_issuers`` section parses strictly, naming the offending field,
and the licence type list is the evidence schema's ``certificate_type`` list."""

from __future__ import annotations

import copy

import pytest

from gateway.dialects.schema import ENUMS
from gateway.licences import LICENCE_TYPES
from gateway.registry import DEV_LICENCE_TYPES, RegistryFormatError, parse_document
from tests.licences.support import REVOKED_ID, Licences


@pytest.fixture(scope="module")
def document(tmp_path_factory) -> dict:
    lic = Licences.make(tmp_path_factory.mktemp("registry-section"))
    return dict(lic.registry().raw_document)


def test_the_type_list_is_the_evidence_schemas():
    assert tuple(sorted(LICENCE_TYPES)) == tuple(sorted(ENUMS["certificate_type"]))
    assert set(DEV_LICENCE_TYPES) < set(LICENCE_TYPES)


def test_the_dev_section_lists_each_region_and_the_revocation(document):
    parsed = parse_document(document)
    assert [str(r.region) for r in parsed.licence_issuers] == ["SH", "JS", "ZJ", "AH"]
    js = parsed.licence_issuers[1]
    assert js.revoked == frozenset({REVOKED_ID})
    assert js.authorities[0].licence_types == frozenset(DEV_LICENCE_TYPES)


def broken(document: dict, change) -> RegistryFormatError:
    doc = copy.deepcopy(document)
    change(doc)
    with pytest.raises(RegistryFormatError) as info:
        parse_document(doc)
    return info.value


def test_a_region_listed_twice(document):
    err = broken(document, lambda d: d["licence_issuers"].append(d["licence_issuers"][0]))
    assert err.field == "licence_issuers[4].region" and "twice" in err.problem


def test_a_bad_licence_type(document):
    def change(d):
        d["licence_issuers"][0]["authorities"][0]["licence_types"] = ["营业执照"]

    err = broken(document, change)
    assert err.field == "licence_issuers[0].authorities[0].licence_types[0]"


def test_a_licence_key_that_is_another_parties_key(document):
    def change(d):
        d["licence_issuers"][0]["authorities"][0]["keys"] = [d["members"][0]["keys"][0]]

    err = broken(document, change)
    assert err.field == "licence_issuers[0].authorities[0].keys[0].key_id"
    assert "also belongs to" in err.problem


def test_unknown_fields_and_bad_revoked_ids(document):
    err = broken(document, lambda d: d["licence_issuers"][0].update(extra=1))
    assert err.field == "licence_issuers[0].extra"
    err = broken(document, lambda d: d["licence_issuers"][0].update(revoked=["bad id"]))
    assert err.field == "licence_issuers[0].revoked[0]"


def test_a_registry_without_the_section_lists_no_issuer(document):
    doc = copy.deepcopy(document)
    del doc["licence_issuers"]
    assert parse_document(doc).licence_issuers == ()
