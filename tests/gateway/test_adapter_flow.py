"""Dialect to dialect through the real gateway: a Jiangsu system submits a case in its own
JSON, the gateway normalises and logs it and pushes it to the Zhejiang simulator in
Zhejiang's XML; bad dialect input is refused with the field named and nothing written; a
push recipient that is down loses nothing.

The province simulators run on loopback (aiohttp ``AppRunner``/``TCPSite``, port 0) on their
own event-loop thread, so they outlive any one test's loop and can be stopped and started
again on the same port. Regions given an endpoint are push-mode; SH and AH pull.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiohttp import web
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from gateway.dialects.catalogue import default_dialects
from gateway.dialects.simulator import CASES
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.rpc.status import reason_of
from ledger.crypto import sm3
from ledger.receipt import verify_receipt
from tests.adversarial.probes import gateway_rows, log_rows
from tests.envelopes import dialect_envelope
from tests.gateway.harness import GatewayThread

# What a Jiangsu (Suzhou) system sends: js-json/1, camelCase, local matter code, its own
# code lists and "yyyy-MM-dd HH:mm:ss" times. SAMPLE values; the person key is pseudonymous.
JS_CASE = {
    "caseNo": "G60-SZ-2026-000101",
    "matterCode": "JS-320000-0001",
    "applicant": {"personKey": "pk:yrd:7f3a9c0e5b1d2468", "maskedName": "李*华"},
    "handleMode": "PROXY",
    "attachments": [
        {
            "materialId": "M01",
            "materialName": "公司登记（备案）申请书",
            "sm3Digest": sm3("申请书".encode()).hex(),
        },
    ],
    "windowCity": "苏州",
    "submitTime": "2026-11-28 10:15:00",
}


class Simulators:
    """Province simulators on their own loop thread; what reached them is kept per region."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runners: dict[str, web.AppRunner] = {}
        self.apps: dict[str, web.Application] = {}
        self.ports: dict[str, int] = {}
        self.received: dict[str, list[tuple[str, str, bytes]]] = {}

    def _call(self, coro) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def start(self, region: str, port: int = 0) -> str:
        """Start ``region``'s simulator (a fresh app) on ``port``; return its base URL."""
        return self._call(self._start(region, port))

    async def _start(self, region: str, port: int) -> str:
        app = default_dialects().get(region).simulator()
        seen = self.received.setdefault(region, [])

        @web.middleware
        async def record(request: web.Request, handler):
            seen.append((request.path, request.headers.get("Content-Type", ""),
                         await request.read()))  # fmt: skip
            return await handler(request)

        app.middlewares.append(record)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.ports[region] = runner.addresses[0][1]
        self.runners[region], self.apps[region] = runner, app
        return self.url(region)

    def url(self, region: str) -> str:
        return f"http://127.0.0.1:{self.ports[region]}"

    def stop(self, region: str) -> None:
        self._call(self.runners.pop(region).cleanup())

    def close(self) -> None:
        for region in list(self.runners):
            self.stop(region)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    @classmethod
    def serving(cls, *regions: str) -> Iterator[Simulators]:
        """A module fixture's body: ``regions``' simulators, closed when the module ends."""
        simulators = cls()
        for region in regions:
            simulators.start(region)
        yield simulators
        simulators.close()


def push_gateway(data_dir: Path, sims: Simulators, **options: Any) -> GatewayThread:
    """A gateway (not started) on which SH and AH pull and the simulated regions are push
    members at their simulators, retrying fast (0.05 s, at most 0.2 s apart)."""
    return GatewayThread(
        data_dir,
        **{
            "pull_regions": ("SH", "AH"),
            "endpoints": {region: sims.url(region) for region in sims.ports},
            "push_backoff_seconds": 0.05,
            "push_backoff_max_seconds": 0.2,
            **options,
        },
    )


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll until ``predicate()`` is truthy (a generous deadline, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# A polling deadline that fails the test naming ``what`` (see wait_for), not a cancel scope.
async def async_wait_for(
    predicate: Callable[[], Any],
    what: str,
    timeout: float = 30.0,  # noqa: ASYNC109
) -> Any:
    return await asyncio.to_thread(wait_for, predicate, what, timeout)


def db_counts(gw: GatewayThread) -> tuple[int, int, int]:
    """(log leaves, exchanges, outbox rows) straight from the log's and the gateway's files."""
    return log_rows(gw), gateway_rows(gw, "exchanges"), gateway_rows(gw, "outbox")


def error_field(error: grpc.RpcError) -> str | None:
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.metadata.get("field")
    return None


@pytest.fixture(scope="module")
def sims():
    yield from Simulators.serving("JS", "ZJ")


@pytest.fixture(scope="module")
def gw(tmp_path_factory, sims):
    thread = push_gateway(tmp_path_factory.mktemp("flow"), sims).start()
    yield thread
    thread.stop()


def js_payload(**changes: Any) -> bytes:
    return json.dumps(JS_CASE | changes, ensure_ascii=False).encode("utf-8")


async def test_jiangsu_case_reaches_zhejiang_in_zhejiang_dialect(gw, sims):
    async with gw.client("JS") as client:
        signed = client.build(
            recipient=gw.env.member_id("ZJ"),
            kind="case.submit",
            matter="JS-320000-0001",
            payload=js_payload(),
            dialect="js-json/1",
            content_type="application/json; charset=utf-8",
        )
        receipt = await client.submit(signed)
    exchange_id = exchange_pb2.Envelope.FromString(signed.envelope).exchange_id
    entry = json.loads(verify_receipt(json.loads(receipt.receipt_json), gw.trust).entry)
    assert (entry["kind"], entry["sender"], entry["recipient"]) == (
        "case.submit", gw.env.member_id("JS"), gw.env.member_id("ZJ"),
    )  # fmt: skip
    assert "李*华" not in receipt.receipt_json  # the log holds digests only

    # stored canonical: basic code, canonical handling mode and time
    row = gw.gateway.store.exchange(exchange_id)
    canonical = json.loads(row.canonical)
    assert canonical["matter_code"] == "010010300100"
    assert canonical["handling_mode"] == "异地代收代办"
    assert canonical["submitted_at"] == "2026-11-28T10:15:00+08:00"

    outbox = await async_wait_for(
        lambda: (r := gw.gateway.store.outbox_row(exchange_id)) and r[0] == "delivered" and r,
        "delivery to the Zhejiang simulator",
    )
    answer = json.loads(outbox[3])  # the partner's answer, decoded to canonical case.status
    assert answer["case_id"] == JS_CASE["caseNo"] and answer["status"] == "accepted"
    assert answer["note"].startswith("受理编号 ZJ-SIM-")

    # what reached Zhejiang: zj-xml/1 on its own endpoint, its local code and formats
    path, content_type, body = next(
        r for r in sims.received["ZJ"] if JS_CASE["caseNo"].encode() in r[2]
    )
    assert path == "/zwfw/aj/sb" and content_type.startswith("application/xml")
    text = body.decode("utf-8")
    assert text.lstrip().startswith("<") and "<ajsb>" in text
    assert "<sxbm>ZJSX000001</sxbm>" in text and "<sbsj>20261128101500</sbsj>" in text
    assert "JS-320000-0001" not in text and "caseNo" not in text
    # and the simulator recorded the case it understood
    recorded = sims.apps["ZJ"][CASES][JS_CASE["caseNo"]]["case"]
    assert recorded == canonical


@pytest.mark.parametrize(
    ("region", "payload", "field", "needle"),
    [
        pytest.param("JS", js_payload(matterCode="JS-320000-9999"), "matterCode",
                     "unknown JS", id="unknown-local-code"),
        pytest.param("JS", js_payload(matterCode="ZJSX000001"), "matterCode",
                     "unknown JS", id="another-regions-code"),
        pytest.param("JS", b'{"caseNo":', "<body>", "malformed json", id="malformed-json"),
        pytest.param("JS", js_payload().decode().encode("gb18030"), "<body>",
                     "not valid utf-8", id="gb18030-for-utf8"),
        pytest.param("JS", json.dumps({k: v for k, v in JS_CASE.items() if k != "windowCity"},
                                      ensure_ascii=False).encode(), "windowCity",
                     "missing mandatory field", id="missing-field"),
        pytest.param("JS", js_payload(handleMode="QCWB"), "handleMode",
                     "unknown handling mode", id="other-dialects-code"),
        pytest.param("JS", js_payload(submitTime="2026/11/28 10:15"), "submitTime",
                     "expected", id="wrong-time-format"),
        pytest.param("ZJ", b"<ajsb><ajbh>ZJ-1</ajbh>", "<body>", "malformed xml",
                     id="malformed-xml"),
        pytest.param("AH", b"\xff\xfe\x00", "<body>", "not valid gb18030", id="bad-gb18030"),
        pytest.param("AH", json.dumps({"an_jian_hao": "AH-1"}).encode("gb18030"), "shu_ju",
                     "missing", id="no-envelope"),
    ],
)  # fmt: skip
async def test_bad_dialect_input_is_refused_and_nothing_written(gw, region, payload, field, needle):
    adapter = default_dialects().get(region).codec
    before = db_counts(gw)
    async with gw.client(region) as client:
        signed = dialect_envelope(client, gw.env, "SH", adapter, payload)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await client.exchange.Submit(signed)
    error = info.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert reason_of(error) == "normalisation_failed"
    assert error_field(error) == field
    assert f"payload field {field}" in error.details() and needle in error.details()
    assert db_counts(gw) == before, "a refusal must write nothing"


async def test_a_dialect_other_than_the_senders_is_refused(gw):
    before = db_counts(gw)
    async with gw.client("JS") as client:
        signed = client.build(
            recipient=gw.env.member_id("ZJ"),
            kind="case.submit",
            matter="JS-320000-0001",
            payload=js_payload(),
            dialect="zj-xml/1",
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await client.exchange.Submit(signed)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(info.value) == "normalisation_failed"
    assert "registered dialect" in info.value.details()
    assert db_counts(gw) == before


async def test_push_recipient_down_loses_nothing(gw, sims):
    port = sims.ports["ZJ"]
    sims.stop("ZJ")
    try:
        case_no = "G60-SZ-2026-000202"
        async with gw.client("JS") as client:
            signed = client.build(
                recipient=gw.env.member_id("ZJ"),
                kind="case.submit",
                matter="JS-320000-0001",
                payload=js_payload(caseNo=case_no),
                dialect="js-json/1",
            )
            await client.submit(signed)
        exchange_id = exchange_pb2.Envelope.FromString(signed.envelope).exchange_id
        # pending, retried with backoff, the failure recorded
        status, attempts, error, _ = await async_wait_for(
            lambda: (r := gw.gateway.store.outbox_row(exchange_id)) and r[1] >= 3 and r,
            "three failed push attempts",
        )
        assert status == "pending" and "push failed" in error
        assert gw.gateway.store.outbox_depth() >= 1
    finally:
        sims.start("ZJ", port)  # the same address as in the registry
    status, attempts_at_end, error, response = await async_wait_for(
        lambda: (r := gw.gateway.store.outbox_row(exchange_id)) and r[0] == "delivered" and r,
        "delivery once Zhejiang is back",
    )
    assert attempts_at_end > attempts
    assert json.loads(response)["case_id"] == case_no
    assert case_no in sims.apps["ZJ"][CASES]
