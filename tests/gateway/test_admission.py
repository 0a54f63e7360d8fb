"""Overload is answered, not dropped: admission control on a real gateway over mTLS.

With a tiny admission limit, many concurrent Submits each end OK or RESOURCE_EXHAUSTED /
OVERLOADED with a retry delay (never CANCELLED, DEADLINE_EXCEEDED or UNKNOWN); a refused call
wrote nothing and burnt no nonce; a greedy member cannot take the other member's share; the
gateway stays SERVING; the client's retry policy (docs/grpc-service-config.json) recovers a
refused call; shedding is counted and logged once per interval.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.client import SERVICE_CONFIG
from gateway.errors import Reason, Refusal
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.rpc.admission import Admission, Overloaded
from gateway.rpc.status import reason_of, retry_delay_of, status_for
from tests.adversarial.probes import gateway_rows, log_rows, query
from tests.envelopes import status_update
from tests.gateway.harness import GatewayThread

REPO = Path(__file__).resolve().parents[2]
NO_RETRY = [("grpc.enable_retries", 0)]
PROCESS_LIMIT = 4
MEMBER_SHARE = 2
WAIT = 30.0  # s: every wait in this file has this deadline


def _ah_writes_canonical(document: dict) -> None:
    """AH, the polite member, sends the same canonical updates as SH, the greedy one."""
    for member in document["members"]:
        if member["id"]["region"] == "AH":
            member["delivery"]["dialect"] = "yrd-canonical/1"


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(
        tmp_path_factory.mktemp("admission"),
        mutate=_ah_writes_canonical,
        admission_max_in_flight=PROCESS_LIMIT,
        admission_max_in_flight_per_member=MEMBER_SHARE,
        admission_retry_delay_seconds=0.5,
        # under grpc's per-call retry buffer (256 KiB), so a too-large envelope *could* be
        # retried: the test of "pushback -1" below can fail
        max_payload_bytes=64 * 1024,
    ).start()
    yield thread
    thread.stop()


def _rows(gw) -> tuple[int, int]:
    return log_rows(gw), gateway_rows(gw, "exchanges")


def _exchange_row(gw, exchange_id: str) -> bool:
    return bool(query(gw, "SELECT 1 FROM exchanges WHERE exchange_id = ?", exchange_id))


def _id(signed: exchange_pb2.SignedEnvelope) -> str:
    return exchange_pb2.Envelope.FromString(signed.envelope).exchange_id


def _refused(gw, scope: str) -> float:
    counter = gw.gateway.metrics.registry.get_sample_value
    return counter("yrd_admission_refused_total", {"scope": scope}) or 0.0


async def _outcome(call) -> tuple[str, object]:
    try:
        return "OK", await call
    except grpc.aio.AioRpcError as error:
        return error.code().name, error


def _assert_overloaded(error: grpc.aio.AioRpcError) -> None:
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    assert reason_of(error) == Reason.OVERLOADED
    delay = retry_delay_of(error)
    assert delay is not None and delay > 0
    assert "admission" in (error.details() or "")


async def test_a_burst_ends_ok_or_overloaded_and_refusals_write_nothing(gw, caplog):
    caplog.set_level(logging.WARNING, logger="gateway.admission")
    start = time.monotonic()
    async with gw.client("SH", options=NO_RETRY) as client:
        envelopes = [status_update(client, gw.env) for _ in range(60)]
        before = _rows(gw)
        async with asyncio.timeout(WAIT * 4):
            outcomes = await asyncio.gather(
                *(_outcome(client.exchange.Submit(e)) for e in envelopes)
            )
        codes = {code for code, _ in outcomes}
        assert codes <= {"OK", "RESOURCE_EXHAUSTED"}, codes
        refused = [e for e, (code, _) in zip(envelopes, outcomes, strict=True) if code != "OK"]
        accepted = len(envelopes) - len(refused)
        assert refused and accepted, (len(refused), accepted)
        for _, error in (o for o in outcomes if o[0] != "OK"):
            _assert_overloaded(error)  # type: ignore[arg-type]
        assert _rows(gw) == (before[0] + accepted, before[1] + accepted)
        assert not any(_exchange_row(gw, _id(e)) for e in refused)
        # nothing was burnt: the very same envelopes are accepted later, one at a time
        for signed in refused:
            await client.exchange.Submit(signed)
    assert _rows(gw) == (before[0] + 60, before[1] + 60)
    lines = [r for r in caplog.records if "shedding load" in r.getMessage()]
    assert 1 <= len(lines) <= 2 + (time.monotonic() - start) / 10, len(lines)
    async with gw.client("AH") as client:
        health = health_pb2_grpc.HealthStub(client.channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service="yrd.v1.Exchange"))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_greedy_member_cannot_take_the_others_share(gw):
    before = _refused(gw, "member")
    async with gw.client("SH", options=NO_RETRY) as greedy, gw.client("AH") as other:
        flood = [status_update(greedy, gw.env) for _ in range(40)]
        polite = [status_update(other, gw.env) for _ in range(MEMBER_SHARE)]
        async with asyncio.timeout(WAIT * 4):
            results = await asyncio.gather(
                *(_outcome(greedy.exchange.Submit(e)) for e in flood),
                *(_outcome(other.exchange.Submit(e)) for e in polite),
            )
    greedy_codes = [code for code, _ in results[: len(flood)]]
    assert set(greedy_codes) <= {"OK", "RESOURCE_EXHAUSTED"}
    assert "RESOURCE_EXHAUSTED" in greedy_codes
    assert _refused(gw, "member") > before  # the greedy one hit its share
    # SH can never hold more than its share, so AH always finds room in the process
    assert [code for code, _ in results[len(flood) :]] == ["OK"] * MEMBER_SHARE


async def _until(done) -> None:
    """Poll ``done`` (a counter in the gateway's thread; nothing to wait on from here)."""
    for _ in range(int(WAIT / 0.01)):
        if done():
            return
        await asyncio.sleep(0.01)  # the counter lives in the gateway thread
    raise TimeoutError("condition never held")


async def _hold(gw, member: str, slots: int) -> None:
    async def take() -> None:
        for _ in range(slots):
            gw.gateway.admission.enter(member)

    gw.call(take())


async def _free(gw, member: str, slots: int) -> None:
    async def give() -> None:
        for _ in range(slots):
            gw.gateway.admission.leave(member)

    gw.call(give())


async def test_the_client_retry_policy_recovers_a_refused_call(gw):
    sh = gw.env.member_id("SH")
    async with gw.client("SH") as client:  # the default channel: SERVICE_CONFIG's retries
        signed = status_update(client, gw.env)
        before = _refused(gw, "member")
        await _hold(gw, sh, MEMBER_SHARE)  # SH's whole share is taken
        try:
            call = asyncio.ensure_future(client.submit(signed))
            async with asyncio.timeout(WAIT):  # until the first attempt was refused
                await _until(lambda: _refused(gw, "member") > before)
        finally:
            await _free(gw, sh, MEMBER_SHARE)
        async with asyncio.timeout(WAIT):
            receipt = await call  # a later attempt, after the pushback delay, got in
        assert receipt.exchange_id == _id(signed)


async def test_stream_items_past_the_share_are_refused_and_write_nothing(gw):
    sh = gw.env.member_id("SH")
    async with gw.client("SH") as client:
        envelopes = [status_update(client, gw.env) for _ in range(3)]
        before = _rows(gw)
        await _hold(gw, sh, MEMBER_SHARE)
        try:
            async with asyncio.timeout(WAIT):
                results = await client.submit_many(envelopes)
        finally:
            await _free(gw, sh, MEMBER_SHARE)
        assert [r.error.reason for r in results] == ["OVERLOADED"] * 3
        assert {r.error.code for r in results} == {grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]}
        assert _rows(gw) == before
        async with asyncio.timeout(WAIT):
            again = await client.submit_many(envelopes)
        assert [r.exchange_id for r in again] == [_id(e) for e in envelopes]


def test_the_process_limit_and_the_member_share():
    admission = Admission(3, 2, 0.2)
    admission.enter("A")
    admission.enter("A")
    with pytest.raises(Overloaded) as share:
        admission.enter("A")
    assert share.value.scope == "member" and share.value.reason == Reason.OVERLOADED
    admission.enter("B")
    with pytest.raises(Overloaded) as full:
        admission.enter("C")
    assert full.value.scope == "process"
    assert 0.1 <= full.value.retry_delay <= 0.3
    admission.leave("A")
    with admission.slot("C"):
        assert admission.in_flight == 3
    assert admission.in_flight == 2 and dict(admission.by_member) == {"A": 1, "B": 1}


def test_shedding_is_logged_once_per_interval(caplog):
    now = [0.0]
    admission = Admission(1, 1, 0.2, log_interval=10.0, clock=lambda: now[0])
    admission.enter("A")
    caplog.set_level(logging.WARNING, logger="gateway.admission")
    for second in range(25):
        now[0] = float(second)
        for _ in range(100):
            with pytest.raises(Overloaded):
                admission.enter("B")
    lines = [r.getMessage() for r in caplog.records if "shedding" in r.getMessage()]
    assert len(lines) == 3, lines  # at 0, 10 and 20 s, for 2,500 refusals
    assert "refused 1000 (process limit 1)" in lines[1]


def test_overloaded_carries_retry_info_and_pushback_and_too_large_says_do_not_retry():
    status = status_for(Overloaded("process", 8, 0.25))
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert ("grpc-retry-pushback-ms", "250") in status.trailing_metadata
    too_large = status_for(Refusal(Reason.TOO_LARGE, "payload of 9 bytes exceeds 8"))
    assert ("grpc-retry-pushback-ms", "-1") in too_large.trailing_metadata
    malformed = status_for(Refusal(Reason.MALFORMED, "no"))
    assert not any(k == "grpc-retry-pushback-ms" for k, _ in malformed.trailing_metadata)


def test_the_published_service_config_is_the_clients():
    published = json.loads((REPO / "docs" / "grpc-service-config.json").read_text())
    assert published == SERVICE_CONFIG
    policy = SERVICE_CONFIG["methodConfig"][0]["retryPolicy"]
    assert policy["retryableStatusCodes"] == ["RESOURCE_EXHAUSTED"]


async def test_the_retry_policy_does_not_resend_a_too_large_envelope(gw):
    """RESOURCE_EXHAUSTED is retryable in the service config, but TOO_LARGE says pushback -1:
    the default client sends it once, and the gateway refuses it once."""
    refusals = gw.gateway.metrics.registry.get_sample_value
    labels = {"reason": "too_large"}
    async with gw.client("SH") as client:  # SERVICE_CONFIG, retries on
        signed = status_update(client, gw.env, payload=b"x" * (gw.settings.max_payload_bytes + 1))
        before = refusals("yrd_refusals_total", labels) or 0.0
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async with asyncio.timeout(WAIT):
                await client.exchange.Submit(signed)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert reason_of(info.value) == Reason.TOO_LARGE
    assert retry_delay_of(info.value) is None
    assert refusals("yrd_refusals_total", labels) == before + 1
