"""Shanghai's identity format wired in: sample data, levels, the dialect catalogue, the
published entry point, and the identity provider of Shanghai's simulator on loopback."""

from __future__ import annotations

import base64
import json
import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

import adapters.jiangsu
import adapters.shanghai
from adapters.shanghai.identity import create_format
from gateway.app.simulators import Simulators
from gateway.dialects import (
    ENTRY_POINT_GROUP,
    CanonicalCodec,
    CatalogueError,
    Dialect,
    DialectCatalogue,
)
from gateway.identity import (
    DEFAULT_POLICY,
    AssertionRejected,
    AssuranceLevel,
    DocumentType,
    is_valid_resident_id,
)
from gateway.identity.idp_simulator import set_identity_provider_key
from gateway.identity.province import check_depth, level_from_mapping, strict_json
from gateway.registry import Region
from gateway.registry._dev import DEV_LOA_MAPPINGS
from gateway.uscc import uscc_problem
from ledger.crypto import PrivateKey

ROOT = Path(__file__).resolve().parents[2]
KEY = PrivateKey.generate()
FMT = create_format()


def _mapping() -> dict:
    return json.loads((ROOT / "adapters/shanghai/identity.json").read_text("utf-8"))


def _organisations() -> list[dict]:
    return _mapping()["sample_organisations"]


# -- sample data and levels ----------------------------------------------------------------


def test_sample_people_are_valid_shanghai_numbers_except_the_deliberate_one():
    for person_id, person in FMT.sample_people.items():
        if person["document_type"] != "resident_id_card":
            continue
        assert person["document_number"].startswith("31")
        assert is_valid_resident_id(person["document_number"]) == (person_id != "sh-9001")
        assert person["document_number"][6:14] == person["date_of_birth"].replace("-", "")


def test_sample_organisations_and_roles():
    mapping = _mapping()
    assert set(mapping["roles"].values()) == {"legal_representative", "authorised_agent"}
    assert len(_organisations()) >= 2
    for org in _organisations():
        assert uscc_problem(org["uscc"]) is None, org["uscc"]
        assert org["uscc"][2:4] == "31"  # registered in Shanghai
        assert "示例" in org["name"]
        agent = FMT.sample_people[org["agent_person_id"]]
        assert is_valid_resident_id(agent["document_number"])
        assert org["role"] in mapping["roles"]
        if mapping["roles"][org["role"]] == "legal_representative":
            assert agent["name"] == org["legal_representative"]
    assert {mapping["roles"][o["role"]] for o in _organisations()} == {
        "legal_representative",
        "authorised_agent",
    }


def test_loa_matches_the_default_policy_and_the_dev_registry():
    for code, level in FMT.loa.items():
        methods = frozenset().union(*(FMT.methods[c] for c in code.split("+")))
        assert DEFAULT_POLICY.level_for(methods).value == level, code
    assert dict(DEV_LOA_MAPPINGS[Region.SH]) == dict(FMT.loa)
    assert set(FMT.document_types.values()) == set(DocumentType)


@pytest.mark.parametrize(
    ("codes", "level"),
    [
        (["pwd"], "low"),
        (["sms"], "low"),
        (["pwd", "sms"], "substantial"),
        (["face"], "substantial"),
        (["ctid"], "high"),
        (["pwd", "hwk"], "high"),
        (["dzyyzz"], "high"),
    ],
)
def test_level_from_mapping(codes, level):
    assert level_from_mapping(codes, FMT.loa) == AssuranceLevel(level)


# -- wiring --------------------------------------------------------------------------------


def test_adapter_is_the_canonical_dialect_with_the_identity_format():
    dialect = adapters.shanghai.create_adapter()
    assert dialect.region == "SH" and dialect.name == "yrd-canonical/1"
    assert isinstance(dialect.codec, CanonicalCodec)
    assert dialect.identity is not None and dialect.identity.format == "sh-oidc/1"
    assert dialect.simulator_factory.certificates  # Shanghai's sample store, as before


def test_catalogue_lets_the_shanghai_adapter_take_the_builtin_place_once():
    dialect = adapters.shanghai.create_adapter()
    catalogue = DialectCatalogue([dialect])
    assert catalogue.get("SH") is dialect
    assert catalogue.by_dialect("yrd-canonical/1") is dialect
    with pytest.raises(CatalogueError, match="SH already has yrd-canonical/1"):
        catalogue.register(adapters.shanghai.create_adapter())
    # without the built-in one there is nothing to take the place of
    assert DialectCatalogue([dialect], canonical=False).get("SH") is dialect


def test_catalogue_refuses_another_shanghai_codec_over_the_builtin():
    from tests.adapters.test_extensibility import HangzhouLegacyCodec

    class ShanghaiLegacyCodec(HangzhouLegacyCodec):
        region = "SH"
        dialect = "sh-legacy/1"

    catalogue = DialectCatalogue()
    with pytest.raises(CatalogueError, match="SH already has yrd-canonical/1, got sh-legacy/1"):
        catalogue.register(Dialect(ShanghaiLegacyCodec()))
    assert catalogue.get("SH").identity is None


def test_entry_points_of_pyproject_give_every_region_an_identity_format():
    """The entry points as ``pyproject.toml`` declares them (what ``pip install -e .``
    publishes), loaded for real into a fresh catalogue."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    declared = project["project"]["entry-points"][ENTRY_POINT_GROUP]
    assert declared["shanghai"] == "adapters.shanghai:create_adapter"
    eps = [metadata.EntryPoint(n, v, ENTRY_POINT_GROUP) for n, v in declared.items()]
    catalogue = DialectCatalogue()
    catalogue.load_entry_points(entry_points=lambda group: eps)
    formats = {d.region: d.identity.format for d in catalogue if d.identity}
    assert formats == {
        "SH": "sh-oidc/1",
        "JS": "js-idtoken/1",
        "ZJ": "zj-saml/1",
        "AH": "ah-signed-json/1",
    }
    assert isinstance(catalogue.get("SH").codec, CanonicalCodec)


# -- Shanghai's identity provider (simulator) ----------------------------------------------


@pytest.fixture
async def idp() -> AsyncIterator[tuple[Simulators, str]]:
    """The dev way: Shanghai's simulator started for its identity provider only."""
    sims = Simulators()
    catalogue = DialectCatalogue([adapters.shanghai.create_adapter()])
    try:
        urls = await sims.start_identity_providers(catalogue, fixed_ports=False)
        assert sims.urls == {} and set(urls) == {"SH"}  # SH keeps pull delivery
        yield sims, f"{urls['SH']}/identity/assert"
    finally:
        await sims.stop()


async def _post(url: str, body) -> tuple[int, bytes, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body) as resp:
            return resp.status, await resp.read(), dict(resp.headers)


async def test_identity_provider_issues_shanghai_tokens(idp):
    sims, url = idp
    body = {"person_id": "sh-0002", "audience": "yrd-gateway", "ttl_seconds": 60}
    assert (await _post(url, body))[0] == 503  # no key yet
    assert set_identity_provider_key(sims.apps["SH"], KEY)
    status, data, headers = await _post(url, {**body, "methods": ["pwd", "sms"]})
    assert status == 200, data
    assert headers["Content-Type"] == "application/jwt"
    assert headers["X-Assertion-Format"] == "sh-oidc/1"
    got = FMT.verify(
        data,
        [(KEY.public_key.key_id, KEY.public_key)],
        audience="yrd-gateway",
        now=datetime.now(UTC),
        leeway=timedelta(seconds=5),
    )
    assert got.subject.document_number == "310104199208230142"
    assert got.local_methods == ("pwd", "sms")
    assert level_from_mapping(got.local_methods, FMT.loa) == AssuranceLevel.SUBSTANTIAL
    assert got.not_after - got.not_before == timedelta(seconds=60)
    assert (await _post(url, {**body, "person_id": "js-0001"}))[0] == 404


async def test_identity_providers_skip_regions_without_a_format_or_already_running():
    sims = Simulators()
    try:
        # the built-in canonical dialect has no identity format: nothing to start
        assert await sims.start_identity_providers(DialectCatalogue(), fixed_ports=False) == {}
        assert sims.apps == {}
        catalogue = DialectCatalogue([adapters.shanghai.create_adapter()])
        first = await sims.start_identity_providers(catalogue, fixed_ports=False)
        app = sims.apps["SH"]
        assert await sims.start_identity_providers(catalogue, fixed_ports=False) == first
        assert sims.apps == {"SH": app} and len(sims.runners) == 1
    finally:
        await sims.stop()


async def test_served_simulator_keeps_the_canonical_routes():
    app = adapters.shanghai.create_adapter().simulator()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        plain = DialectCatalogue().get("SH").simulator()
        routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource}
        plain_routes = {
            (r.method, r.resource.canonical) for r in plain.router.routes() if r.resource
        }
        identity_routes = {
            ("POST", "/identity/assert"),
            ("GET", "/identity/revocations"),
            ("HEAD", "/identity/revocations"),
            ("POST", "/identity/revoke"),
            ("POST", "/identity/revocations/control"),
        }
        assert routes == plain_routes | identity_routes
        status, _, _ = await _post(f"http://{host}:{port}/identity/assert", {"audience": "a"})
        assert status == 503
    finally:
        await runner.cleanup()


# -- the shared strict JSON (gateway.identity._strict) --------------------------------------


def test_deeply_nested_json_is_malformed_in_every_token_format():
    """Beyond the interpreter's recursion limit: refused, not a RecursionError (found with
    Shanghai's depth check; Jiangsu's header is parsed before its signature)."""
    with pytest.raises(AssertionRejected) as info:
        strict_json("[" * 100_000 + "]" * 100_000, "x")
    assert (info.value.reason, str(info.value)) == ("malformed", "x: invalid json: nested too deep")
    header = base64.urlsafe_b64encode(b"[" * 6000 + b"]" * 6000).rstrip(b"=")
    jiangsu = DialectCatalogue([adapters.jiangsu.create_adapter()]).get("JS").identity
    with pytest.raises(AssertionRejected) as info:
        jiangsu.verify(header + b".e30.AA", [], audience="a", now=datetime.now(UTC))
    assert "nested too deep" in str(info.value)


def test_check_depth_ignores_brackets_inside_strings():
    check_depth('{"a":"[[[{{{\\"[[["}', 1, "x")
    with pytest.raises(AssertionRejected, match="x: expected json nested at most 1 deep"):
        check_depth('{"a":{"b":1}}', 1, "x")
