"""The yrd.v1.Matters service over mTLS on loopback: resolve, list, search, compare, refusals.

Expectations for Compare are the hand-checked ones of ``test_matters_compare.py`` (the
catalogue is SAMPLE DATA).
"""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gateway.app.pki import issue
from gateway.client import GatewayClient
from gateway.matters import default_catalogue
from gateway.pb.yrd.v1 import common_pb2, matters_pb2, matters_pb2_grpc
from gateway.rpc.matters import SERVICE_NAME
from gateway.rpc.status import reason_of
from gateway.tls import TlsFiles
from tests.gateway.harness import GatewayThread

JS, ZJ, AH, SH = (
    common_pb2.REGION_JS,
    common_pb2.REGION_ZJ,
    common_pb2.REGION_AH,
    common_pb2.REGION_SH,
)
NAMES = {SH: "SH", JS: "JS", ZJ: "ZJ", AH: "AH"}


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(tmp_path_factory.mktemp("matters")).start()
    yield thread
    thread.stop()


async def refused(call, code: grpc.StatusCode, reason: str, needle: str) -> grpc.RpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() == code, info.value.details()
    assert reason_of(info.value) == reason
    assert needle in info.value.details(), info.value.details()
    return info.value


async def test_resolve_local_codes_of_every_region(gw):
    async with gw.client("ZJ") as client:
        stub = matters_pb2_grpc.MattersStub(client.channel)
        for region, code in [(JS, "JS-320000-0001"), (ZJ, "ZJSX000001"), (AH, "340000000001")]:
            got = await stub.Resolve(matters_pb2.ResolveRequest(local_code=code, region=region))
            assert got.canonical.basic_code == "010010300100"
            assert got.canonical.baseline and got.canonical.region == common_pb2.REGION_UNSPECIFIED
            assert got.canonical.name == "企业设立登记"
            assert got.local.local_code == code and got.local.region == region
            assert got.local.implementation_code[18:30] == "010010300100"
            assert (
                json.loads(got.local.json)
                == default_catalogue().get("010010300100", NAMES[region]).to_dict()
            )
        zj = (await stub.Resolve(
            matters_pb2.ResolveRequest(local_code="ZJSX000001", region=ZJ)
        )).local  # fmt: skip
    assert zj.name == "企业开办（设立登记）"
    assert zj.promised_time_limit == matters_pb2.TimeLimit(
        value=3, unit=matters_pb2.TIME_UNIT_NATURAL_DAYS
    )
    assert zj.matter_type == matters_pb2.MATTER_TYPE_LICENSING
    assert zj.implementing_body.uscc == zj.implementation_code[:18]
    assert "M04" not in [m.material_id for m in zj.materials]


async def test_resolve_refusals(gw):
    async with gw.client("JS") as client:
        stub = matters_pb2_grpc.MattersStub(client.channel)
        error = await refused(
            stub.Resolve(matters_pb2.ResolveRequest(local_code="JS-320000-9999", region=JS)),
            grpc.StatusCode.NOT_FOUND,
            "not_found",
            "JS-320000-9999",
        )
        assert "'JS'" in error.details()
        # a real code, but of another region
        await refused(
            stub.Resolve(matters_pb2.ResolveRequest(local_code="ZJSX000001", region=JS)),
            grpc.StatusCode.NOT_FOUND,
            "not_found",
            "ZJSX000001",
        )
        await refused(
            stub.Resolve(matters_pb2.ResolveRequest(local_code="JS-320000-0001")),
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed",
            "region must be SH, JS, ZJ or AH",
        )
        await refused(
            stub.Resolve(matters_pb2.ResolveRequest(local_code="JS-320000-0001", region=9)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed",
            "enum value 9",
        )
        await refused(
            stub.Resolve(matters_pb2.ResolveRequest(region=JS)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed",
            "local_code",
        )


async def test_list_filters_and_pages(gw):
    async with gw.client("AH") as client:
        stub = matters_pb2_grpc.MattersStub(client.channel)
        everything = await stub.List(matters_pb2.ListMattersRequest())
        assert everything.total_size == len(default_catalogue()) == 8
        assert all(m.baseline for m in everything.matters)
        codes = [m.basic_code for m in everything.matters]
        assert codes == sorted(codes) and not everything.next_page_token

        pages, token = [], ""
        for _ in range(10):  # 8 matters in pages of 3: a token that never ends fails here
            page = await stub.List(
                matters_pb2.ListMattersRequest(region=AH, page_size=3, page_token=token)
            )
            pages.append([m.local_code for m in page.matters])
            assert page.total_size == 8
            token = page.next_page_token
            if not token:
                break
        assert not token
        assert [len(p) for p in pages] == [3, 3, 2]
        assert [code for page in pages for code in page] == [
            default_catalogue().local_code(c, "AH") for c in codes
        ]

        licences = await stub.List(
            matters_pb2.ListMattersRequest(matter_type=matters_pb2.MATTER_TYPE_LICENSING)
        )
        assert [m.basic_code for m in licences.matters] == [
            "010010300100", "010010300200", "010010300300", "010027100000",
        ]  # fmt: skip
        # Anhui offers household moves (070010400100) only through a proxy window
        online_ah = await stub.List(
            matters_pb2.ListMattersRequest(
                region=AH, handling_mode=matters_pb2.HANDLING_MODE_FULL_ONLINE
            )
        )
        assert "070010400100" not in [m.basic_code for m in online_ah.matters]
        assert all(
            matters_pb2.HANDLING_MODE_FULL_ONLINE in m.handling_modes for m in online_ah.matters
        )
        await refused(
            stub.List(matters_pb2.ListMattersRequest(page_token="not-a-token")),
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed",
            "page_token",
        )
        await refused(
            stub.List(matters_pb2.ListMattersRequest(region=7)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed",
            "region",
        )


async def test_search(gw):
    async with gw.client("SH") as client:
        stub = matters_pb2_grpc.MattersStub(client.channel)
        found = await stub.Search(matters_pb2.SearchMattersRequest(text="企业"))
        assert {m.basic_code for m in found.matters} >= {"010010300100", "200051200100"}
        # a Zhejiang-only name finds the baseline record; with the region, its variant
        kaiban = await stub.Search(matters_pb2.SearchMattersRequest(text="企业开办"))
        assert [m.basic_code for m in kaiban.matters] == ["010010300100"]
        assert kaiban.matters[0].baseline
        zj = await stub.Search(matters_pb2.SearchMattersRequest(text="zjsx000008", region=ZJ))
        assert [(m.basic_code, m.local_code) for m in zj.matters] == [
            ("070010400100", "ZJSX000008")
        ]
        nothing = await stub.Search(matters_pb2.SearchMattersRequest(text="不存在的事项"))
        assert list(nothing.matters) == [] and nothing.total_size == 0
        await refused(
            stub.Search(matters_pb2.SearchMattersRequest(text="  ")),
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed",
            "text must not be empty",
        )


def by_region(comparison: matters_pb2.Comparison, field: str) -> dict[str, object]:
    return {NAMES[c.region]: getattr(c, field) for c in comparison.columns}


def material(comparison: matters_pb2.Comparison, material_id: str):
    row = next(r for r in comparison.materials if r.material_id == material_id)
    return row, {NAMES[p.region]: p for p in row.by_region}


async def test_compare_enterprise_establishment_before_national_day_2025(gw):
    async with gw.client("ZJ") as client:
        stub = matters_pb2_grpc.MattersStub(client.channel)
        c = await stub.Compare(
            matters_pb2.CompareRequest(basic_code="010010300100", reference_date="2025-09-26")
        )
    assert [NAMES[r] for r in c.regions] == ["SH", "JS", "ZJ", "AH"]
    assert c.reference_date == "2025-09-26"
    # ZJ promises 3 natural days: Sat 27 (rest), Sun 28 (make-up), Mon 29 -> 2 working days
    assert by_region(c, "promised_working_days") == {"SH": 1, "JS": 2, "ZJ": 2, "AH": 3}
    assert by_region(c, "legal_working_days") == {"SH": 3, "JS": 3, "ZJ": 3, "AH": 3}
    zj = next(col for col in c.columns if col.region == ZJ)
    assert zj.promised_time_limit.unit == matters_pb2.TIME_UNIT_NATURAL_DAYS
    assert zj.local_code == "ZJSX000001" and zj.name == "企业开办（设立登记）"
    assert [r.material_id for r in c.materials] == ["M01", "M02", "M03", "M04", "M05", "M06"]
    m01, _ = material(c, "M01")
    assert not m01.differs
    m03, p03 = material(c, "M03")
    assert m03.differs and {r: p.shareable for r, p in p03.items()} == {
        "SH": True, "JS": False, "ZJ": False, "AH": False,
    }  # fmt: skip
    assert p03["SH"].source_department
    _, p04 = material(c, "M04")
    assert not p04["ZJ"].present and p04["ZJ"].form == matters_pb2.MATERIAL_FORM_UNSPECIFIED
    _, p05 = material(c, "M05")
    assert {r for r, p in p05.items() if p.shareable} == {"SH", "ZJ"}
    _, p06 = material(c, "M06")
    assert {r for r, p in p06.items() if p.present} == {"JS"}
    assert by_region(c, "online_depth") == {"SH": 4, "JS": 4, "ZJ": 4, "AH": 3}
    ah = next(col for col in c.columns if col.region == AH)
    assert list(ah.handling_modes) == [
        matters_pb2.HANDLING_MODE_FULL_ONLINE, matters_pb2.HANDLING_MODE_PROXY,
    ]  # fmt: skip
    assert by_region(c, "fee_total_fen") == {"SH": 0, "JS": 0, "ZJ": 0, "AH": 0}
    assert list(c.differing_fields) == [
        "name", "promised_time_limit", "materials", "online_depth", "handling_modes",
    ]  # fmt: skip
    assert json.loads(c.json)["promised_working_days"]["ZJ"] == 2


async def test_compare_household_move_across_spring_festival_2026(gw):
    async with gw.client("AH") as client:
        stub = matters_pb2_grpc.MattersStub(client.channel)
        c = await stub.Compare(
            matters_pb2.CompareRequest(basic_code="070010400100", reference_date="2026-02-12")
        )
        later = await stub.Compare(
            matters_pb2.CompareRequest(basic_code="070010400100", reference_date="2026-03-12")
        )
        subset = await stub.Compare(
            matters_pb2.CompareRequest(
                basic_code="200060100100", reference_date="2025-03-03", regions=[JS, SH]
            )
        )
    # ZJ: 7 natural days after Thu 12 Feb: Fri 13, Sat 14 (make-up), then 15-19 holiday -> 2
    assert by_region(c, "promised_working_days") == {"SH": 5, "JS": 5, "ZJ": 2, "AH": 10}
    assert by_region(c, "fee_total_fen") == {"SH": 0, "JS": 500, "ZJ": 0, "AH": 800}
    js = next(col for col in c.columns if col.region == JS)
    assert [f.amount_fen for f in js.fees] == [500]
    assert by_region(c, "online_depth") == {"SH": 4, "JS": 3, "ZJ": 3, "AH": 3}
    ah = next(col for col in c.columns if col.region == AH)
    assert list(ah.handling_modes) == [matters_pb2.HANDLING_MODE_PROXY]
    _, p01 = material(c, "M01")
    assert {r for r, p in p01.items() if p.shareable} == {"SH", "ZJ"}
    _, p03 = material(c, "M03")
    assert {r for r, p in p03.items() if p.shareable} == {"SH"}
    assert list(c.differing_fields) == [
        "promised_time_limit", "materials", "fees", "online_depth", "handling_modes",
    ]  # fmt: skip
    assert by_region(later, "promised_working_days")["ZJ"] == 5
    assert [NAMES[r] for r in subset.regions] == ["JS", "SH"]
    assert by_region(subset, "promised_working_days") == {"JS": 1, "SH": 0}
    assert all(len(row.by_region) == 2 for row in subset.materials)


async def test_compare_refusals(gw):
    async with gw.client("JS") as client:
        stub = matters_pb2_grpc.MattersStub(client.channel)
        await refused(
            stub.Compare(matters_pb2.CompareRequest(basic_code="019999999900")),
            grpc.StatusCode.NOT_FOUND,
            "not_found",
            "019999999900",
        )
        await refused(
            stub.Compare(
                matters_pb2.CompareRequest(basic_code="010010300100", reference_date="26/09/2025")
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed",
            "reference_date",
        )
        await refused(
            stub.Compare(matters_pb2.CompareRequest(basic_code="010010300100", regions=[JS, 0])),
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed",
            "region must be SH, JS, ZJ or AH",
        )
        await refused(
            stub.Compare(matters_pb2.CompareRequest(basic_code="010010300100", regions=[JS, JS])),
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed",
            "repeat",
        )
        # no date: today in Beijing, whatever it is
        today = await stub.Compare(matters_pb2.CompareRequest(basic_code="200060100100"))
        assert len(today.reference_date) == 10 and len(today.columns) == 4


async def test_a_certificate_bound_to_no_member_is_refused(gw):
    stranger = issue(gw.env.ca, "SH/1131000000YRD00016/intruder", server=False)
    tls = TlsFiles(gw.env.ca.cert_pem, stranger.cert_pem, stranger.key_pem)
    client = GatewayClient(gw.target, member="SH/x/y", key=gw.env.member_keys["SH"], tls=tls)
    async with client:
        stub = matters_pb2_grpc.MattersStub(client.channel)
        await refused(
            stub.List(matters_pb2.ListMattersRequest()),
            grpc.StatusCode.UNAUTHENTICATED,
            "unauthenticated",
            "no client certificate bound to a member",
        )


async def test_service_is_listed_by_reflection_and_health(gw):
    assert SERVICE_NAME == "yrd.v1.Matters"
    async with gw.client("SH") as client:
        stub = reflection_pb2_grpc.ServerReflectionStub(client.channel)
        call = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        async with asyncio.timeout(30):
            names = [s.name async for r in call for s in r.list_services_response.service]
    assert SERVICE_NAME in names
    async with gw.client("SH") as client:
        health = health_pb2_grpc.HealthStub(client.channel)
        got = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
    assert got.status == health_pb2.HealthCheckResponse.SERVING
