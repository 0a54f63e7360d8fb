"""Push retry: tenacity's equal-jitter backoff, capped, and ``push_max_attempts`` honoured.

The policy is checked on its own (delays grow, jitter, never above the cap, give up after
the last attempt); then a real gateway pushes to a real aiohttp server on loopback that
always answers 500, and the outbox row is given up after exactly ``push_max_attempts``
requests: ``rejected`` with the last error, counted in ``yrd_push_dead_letters_total``,
logged once, and never pushed again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta

import pytest
from aiohttp import web

from gateway.exchange.delivery import RetryPolicy
from gateway.pb.yrd.v1 import exchange_pb2
from ledger.crypto import sm3
from tests.gateway.harness import GatewayThread

SAMPLES = 200
# A Jiangsu case in its own dialect (js-json/1); SAMPLE values.
JS_CASE = {
    "caseNo": "G60-SZ-2026-000909",
    "matterCode": "JS-320000-0001",
    "applicant": {"personKey": "pk:yrd:7f3a9c0e5b1d2468", "maskedName": "李*华"},
    "handleMode": "PROXY",
    "attachments": [
        {"materialId": "M01", "materialName": "申请书", "sm3Digest": sm3(b"m01").hex()},
    ],
    "windowCity": "苏州",
    "submitTime": "2026-11-28 10:15:00",
}


def test_delay_grows_with_jitter_and_stays_within_the_cap():
    base, cap = 0.5, 8.0
    policy = RetryPolicy(max_attempts=20, base=base, cap=cap)
    lows = []
    for failed in range(1, 12):
        ceiling = min(cap, base * 2 ** (failed - 1))
        delays = [policy.next_delay(failed) for _ in range(SAMPLES)]
        assert all(d is not None and ceiling / 2 <= d <= ceiling for d in delays), failed
        assert len(set(delays)) > SAMPLES // 2, f"no jitter after {failed} failures"
        lows.append(min(delays))
    # the floor doubles until the cap, then stays at half the cap -- jittered even there
    assert lows[:5] == sorted(lows[:5]) and lows[4] > 4 * lows[0]
    assert all(cap / 2 <= low <= cap for low in lows[5:])


def test_gives_up_after_max_attempts():
    policy = RetryPolicy(max_attempts=3, base=0.1, cap=1.0)
    assert policy.next_delay(1) is not None and policy.next_delay(2) is not None
    assert policy.next_delay(3) is None and policy.next_delay(4) is None
    assert RetryPolicy(max_attempts=1, base=0.1, cap=1.0).next_delay(1) is None


@pytest.mark.parametrize(
    ("max_attempts", "base", "cap"), [(0, 0.1, 1.0), (3, 0.0, 1.0), (3, 2.0, 1.0)]
)
def test_bad_policy_is_refused(max_attempts, base, cap):
    with pytest.raises(ValueError, match="bad retry policy"):
        RetryPolicy(max_attempts, base, cap)


async def _always_500() -> tuple[web.AppRunner, str, list[float]]:
    hits: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        hits.append(time.monotonic())
        return web.Response(status=500, text="broken")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}", hits


async def _submit_js_case(gw) -> str:
    """Jiangsu submits ``JS_CASE`` in its own dialect to Zhejiang (a push member); its id."""
    async with gw.client("JS") as client:
        signed = client.build(
            recipient=gw.env.member_id("ZJ"),
            kind="case.submit",
            matter="JS-320000-0001",
            payload=json.dumps(JS_CASE, ensure_ascii=False).encode("utf-8"),
            dialect="js-json/1",
            content_type="application/json; charset=utf-8",
        )
        await client.submit(signed)
    return exchange_pb2.Envelope.FromString(signed.envelope).exchange_id


async def _until(predicate, what: str, within: float = 30.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_row_is_given_up_after_max_attempts_against_a_server_that_always_fails(
    tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="gateway.exchange.delivery")
    runner, url, hits = await _always_500()
    gw = GatewayThread(
        tmp_path,
        pull_regions=("SH", "JS", "AH"),
        endpoints={"ZJ": url},
        push_max_attempts=3,
        push_backoff_seconds=0.05,
        push_backoff_max_seconds=0.2,
    ).start()
    try:
        exchange_id = await _submit_js_case(gw)
        store = gw.gateway.store

        status, attempts, error, _ = await _until(
            lambda: (r := store.outbox_row(exchange_id)) and r[0] != "pending" and r,
            "the push to be given up",
        )
        assert (status, attempts) == ("rejected", 3)
        assert error == "gave up after 3 attempts: partner answered http 500"
        assert len(hits) == 3

        # terminal: the worker keeps running but never pushes the row again
        await asyncio.sleep(2.5)  # more than two idle rounds of the worker (1 s each)
        assert len(hits) == 3 and store.outbox_row(exchange_id)[:2] == ("rejected", 3)
        assert store.outbox_depth() == 0

        metrics = gw.gateway.metrics.registry
        assert metrics.get_sample_value("yrd_push_dead_letters_total") == 1.0
        given_up = [r for r in caplog.records if "given up" in r.getMessage()]
        assert len(given_up) == 1 and given_up[0].levelno == logging.ERROR
        assert exchange_id in given_up[0].getMessage()
    finally:
        gw.stop()
        await runner.cleanup()


async def test_a_registry_past_its_grace_pauses_push_without_spending_attempts(tmp_path):
    """Past the registry's grace the push worker is reported down with that cause and no
    row spends an attempt (the gateway cannot vouch; the partner did not fail); with the
    registry valid again the row is delivered, without a restart."""
    hits: list[int] = []

    async def first_fails(request: web.Request) -> web.Response:
        await request.read()
        hits.append(1)
        return web.json_response({}, status=500 if len(hits) == 1 else 200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", first_fails)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    gw = GatewayThread(
        tmp_path,
        pull_regions=("SH", "JS", "AH"),
        endpoints={"ZJ": f"http://127.0.0.1:{port}"},
        push_backoff_seconds=0.05,
        push_backoff_max_seconds=0.1,
    ).start()
    holder = gw.gateway.registry
    real_clock = holder.clock
    expires = holder.require().expires_at
    try:
        exchange_id = await _submit_js_case(gw)
        store = gw.gateway.store
        await _until(lambda: store.outbox_row(exchange_id)[1] == 1, "the first failed push")

        holder.clock = lambda: expires + holder.grace + timedelta(seconds=1)
        down = await _until(
            lambda: gw.gateway.supervisor.down().get("push-delivery"), "push worker down"
        )
        assert "RegistryExpired" in down or "grace" in down, down
        await asyncio.sleep(1.0)  # ten retry delays: none may be spent while it is down
        assert store.outbox_row(exchange_id)[:2] == ("pending", 1) and len(hits) == 1

        holder.clock = real_clock
        # taken by the partner; its "{}" is no case.status, so the request fails as refused
        # by the partner (an unusable answer is never dropped silently)
        await _until(lambda: store.outbox_row(exchange_id)[0] != "pending", "the second push")
        assert store.outbox_row(exchange_id)[:2] == ("rejected", 2)
        assert len(hits) == 2
        await _until(lambda: "push-delivery" not in gw.gateway.supervisor.down(), "worker up")
    finally:
        holder.clock = real_clock
        gw.stop()
        await runner.cleanup()
