"""Each simulator on a real loopback port, driven through its dialect's transport."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from gateway.dialects import DeliveryError, Dialect
from gateway.dialects.simulator import CASES, STATUS_UPDATES
from gateway.matters import default_catalogue
from ledger.crypto import sm3

SAMPLE_COMPANY = {
    "SH": "91310117MA1YRD001Y",
    "JS": "91320500MA1YRD0013",
    "ZJ": "91330400MA1YRD0012",
    "AH": "91341800MA1YRD0017",
}


@pytest.fixture
async def served(dialect: Dialect) -> AsyncIterator[tuple[Dialect, web.Application, str]]:
    app = dialect.simulator()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield dialect, app, f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def case(case_id: str = "YRD-2025-000001") -> dict:
    return {
        "case_id": case_id,
        "matter_code": "200060100100",
        "applicant": {"person_key": "pk:yrd:7f3a9c0e5b1d2468", "masked_name": "李*华"},
        "handling_mode": "全程网办",
        "materials": [
            {"material_id": "M01", "name": "异地就医备案登记表", "digest_sm3": sm3(b"form").hex()}
        ],
        "receiving_city": "松江",
        "submitted_at": "2025-09-26T10:15:00+08:00",
    }


async def test_matter_lookup(served) -> None:
    dialect, _, url = served
    async with dialect.transport(url) as t:
        got = await t.exchange("matter.lookup", {"matter_code": "010010300100"})
    expected = default_catalogue().get("010010300100", dialect.region)
    assert got == expected.to_dict()
    assert got["local_code"] == dialect.codec.local_matter_code("010010300100")


async def test_case_intake_is_accepted_and_recorded(served) -> None:
    dialect, app, url = served
    async with dialect.transport(url) as t:
        ack = await t.exchange("case.submit", case())
        again = await t.exchange("case.submit", case())  # idempotent on case id
        update = {"case_id": ack["case_id"], "status": "completed",
                  "time": "2025-09-29T16:00:00+08:00", "note": None}  # fmt: skip
        assert await t.exchange("case.status", update) == update
    assert ack["status"] == "accepted" and ack["case_id"] == "YRD-2025-000001"
    assert ack["note"].startswith("受理编号 " + dialect.region)
    assert again == ack
    assert list(app[CASES]) == ["YRD-2025-000001"]
    assert app[CASES]["YRD-2025-000001"]["case"] == case()
    assert app[STATUS_UPDATES] == [update]


async def test_evidence_request_is_answered(served) -> None:
    dialect, _, url = served
    request = {
        "request_id": "EV-1",
        "certificate_type": "business_licence",
        "subject_uscc": SAMPLE_COMPANY[dialect.region],
        "subject_person_key": None,
        "purpose": "企业变更登记核验",
        "requester": "11310000MB0000001C",
    }
    async with dialect.transport(url) as t:
        got = await t.exchange("evidence.request", request)
        with pytest.raises(DeliveryError) as info:
            await t.exchange(
                "evidence.request", request | {"certificate_type": "household_register"}
            )
    assert got["request_id"] == "EV-1"
    assert got["certificate_number"] == SAMPLE_COMPANY[dialect.region]
    content = base64.b64decode(got["content_base64"])
    assert got["digest_sm3"] == sm3(content).hex()
    assert "示例" in content.decode("utf-8")  # sample data, labelled
    assert info.value.status == 404 and "no_certificate" in info.value.message


async def test_refusals_come_back_in_the_dialect(served) -> None:
    dialect, app, url = served
    update = {"case_id": "C", "status": "accepted", "time": "2025-09-26T10:15:00+08:00"}
    update["note"] = None
    async with dialect.transport(url) as t:
        delivery = await t.deliver("case.submit", b"\x00 not a payload")
        assert delivery.status == 400
        error = dialect.codec.to_canonical("error", delivery.body)
        assert error["code"] == "invalid" and error["field"] == "<body>"
        with pytest.raises(DeliveryError) as info:
            await t.exchange("case.status", update | {"case_id": "nope"})
        assert info.value.status == 404
    assert app[CASES] == {}


async def test_unreachable_partner_is_a_delivery_error(dialect: Dialect) -> None:
    runner = web.AppRunner(web.Application())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    await runner.cleanup()  # the port is now closed
    async with dialect.transport(f"http://{host}:{port}", timeout=5) as t:
        with pytest.raises(DeliveryError) as info:
            await t.deliver("matter.lookup", b"{}")
    assert info.value.status is None and info.value.field == "transport"
