"""Finding 6b: an expired registry kept being used for every check. Now one policy holds
(docs/registry.md, "Expiry"): the last good copy is kept for ``registry_expiry_grace_seconds``
past its ``expires_at`` with an alarm (metric, a log line at every reload), then every call
that relies on it is refused with FAILED_PRECONDITION ``registry_expired``; a registry
already past the grace at start refuses to start. The holder's clock is injected: no sleeping.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from gateway.errors import REASON_CODES
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import (
    RegistryExpired,
    RegistryExpiredRefusal,
    RegistryHolder,
    format_time,
)
from gateway.rpc.status import reason_of
from tests.envelopes import status_update
from tests.gateway.harness import GatewayThread

PAYLOAD = json.dumps(
    {"case_id": "TRUST-1", "status": "received", "time": "2026-11-28T10:00:00+08:00", "note": None}
).encode()
GRACE = timedelta(seconds=3600)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _expire_at(moment: datetime):
    def mutate(document: dict) -> None:
        document["expires_at"] = format_time(moment)

    return mutate


def test_holder_keeps_the_copy_for_the_grace_period_then_refuses(tmp_path, caplog):
    from gateway.app.devenv import ensure_dev_environment

    env = ensure_dev_environment(tmp_path)
    clock = Clock(datetime.now(UTC))
    holder = RegistryHolder(env.registry_path, [env.governance.public_key], clock, GRACE)
    assert holder.reload() and holder.healthy
    expires = holder.require().expires_at

    # within the grace: still used, alarm raised, an error logged at every reload
    clock.now = expires + timedelta(seconds=10)
    assert holder.require().serial == holder.current.serial
    with caplog.at_level(logging.ERROR, logger="gateway.registry"):
        assert holder.reload() is False
        assert holder.reload() is False
    assert isinstance(holder.last_error, RegistryExpired) and not holder.healthy
    assert holder.expired_seconds() == 10
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.registry"]
    assert len(lines) == 2 and all("expired" in line and "refused in" in line for line in lines)

    # past the grace: every caller of require() is refused with registry_expired
    clock.now = expires + GRACE
    with pytest.raises(RegistryExpiredRefusal) as info:
        holder.require()
    assert info.value.reason == "registry_expired"
    assert info.value.status == grpc.StatusCode.FAILED_PRECONDITION
    assert REASON_CODES["registry_expired"] == grpc.StatusCode.FAILED_PRECONDITION
    assert "grace period" in str(info.value)

    # a new, valid registry ends the alarm and the refusals
    ensure_dev_environment(tmp_path, mutate=_expire_at(clock.now + timedelta(days=30)))
    assert holder.reload() is True
    assert holder.healthy and holder.expired_seconds() == 0
    assert holder.require().expires_at > clock.now


def test_holder_start_within_grace_loads_with_alarm_beyond_grace_refuses(tmp_path):
    from gateway.app.devenv import ensure_dev_environment

    now = datetime.now(UTC).replace(microsecond=0)
    env = ensure_dev_environment(tmp_path, mutate=_expire_at(now - timedelta(minutes=10)))
    holder = RegistryHolder(env.registry_path, [env.governance.public_key], Clock(now), GRACE)
    assert holder.reload() is True  # the gateway may restart during the grace period
    assert isinstance(holder.last_error, RegistryExpired)
    assert holder.expired_seconds() == 600

    late = RegistryHolder(env.registry_path, [env.governance.public_key], Clock(now + GRACE), GRACE)
    assert late.reload() is False and late.current is None
    assert isinstance(late.last_error, RegistryExpired)


def _metric(url: str, name: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"metric {name} missing")


async def test_gateway_refuses_exchanges_once_past_the_grace(tmp_path):
    clock = Clock(datetime.now(UTC))
    thread = GatewayThread(tmp_path).start(clock=clock)
    try:
        holder = thread.gateway.registry
        expires = holder.require().expires_at
        async with thread.client("SH") as client:

            def signed() -> exchange_pb2.SignedEnvelope:
                return status_update(client, thread.env, payload=PAYLOAD)

            # (1): valid registry: accepted, no alarm
            first = await client.exchange.Submit(signed())
            assert _metric(thread.http_url, "yrd_registry_expired") == 0

            # (2): within the grace: still accepted, the alarm is up
            clock.now = expires + timedelta(minutes=5)
            holder.reload()  # what the reload task does every minute (thread-safe)
            await client.exchange.Submit(signed())
            assert _metric(thread.http_url, "yrd_registry_expired") == 1
            assert _metric(thread.http_url, "yrd_registry_expired_seconds") == 300
            size = thread.gateway.log.size

            # (3): past the grace: refused with FAILED_PRECONDITION, nothing written
            clock.now = expires + GRACE + timedelta(seconds=1)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await client.exchange.Submit(signed())
            assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert reason_of(info.value) == "registry_expired"
            assert thread.gateway.log.size == size
            # every call that relies on the registry: the caller's certificate lookup too
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await client.exchange.GetReceipt(
                    exchange_pb2.GetReceiptRequest(
                        exchange_id=exchange_pb2.Envelope.FromString(signed().envelope).exchange_id
                    )
                )
            assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            async with asyncio.timeout(30):
                stream = [r async for r in client.exchange.SubmitStream(iter([signed()]))]
            assert stream[0].error.reason == "REGISTRY_EXPIRED"
            assert thread.gateway.log.size == size
            assert first.tree_size >= 1
    finally:
        thread.stop()


def test_serve_refuses_to_start_on_a_registry_expired_beyond_the_grace(serve):
    from gateway.app.devenv import ensure_dev_environment

    past = datetime.now(UTC) - GRACE - timedelta(minutes=1)
    env = ensure_dev_environment(
        serve.root, pull_regions=("SH", "JS", "ZJ", "AH"), mutate=_expire_at(past)
    )
    serve._env = env
    proc = serve.start()
    assert proc.wait_exit(60) == 2
    stderr = proc.stderr()
    assert "trust registry refused" in stderr and "expired" in stderr, stderr
    assert "Traceback" not in stderr


def test_serve_starts_within_the_grace_and_raises_the_alarm(serve):
    from gateway.app.devenv import ensure_dev_environment

    past = datetime.now(UTC) - timedelta(minutes=5)
    env = ensure_dev_environment(
        serve.root, pull_regions=("SH", "JS", "ZJ", "AH"), mutate=_expire_at(past)
    )
    serve._env = env
    proc = serve.start()
    try:
        deadline = time.monotonic() + 60
        while proc.healthz() is None:  # up (its /healthz answers, with the registry error)
            assert proc.proc.poll() is None, proc.stderr()
            assert time.monotonic() < deadline, "gateway did not answer in 60 s"
            time.sleep(0.2)
        assert _metric(proc.http_url, "yrd_registry_expired") == 1
        assert _metric(proc.http_url, "yrd_registry_expired_seconds") >= 300
        assert "expired" in proc.stderr()
    finally:
        proc.terminate()


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon"])
def test_grace_setting_must_be_finite_and_not_negative(value):
    from gateway.app.settings import Settings
    from gateway.errors import ConfigError

    assert Settings.load(env={}).registry_expiry_grace_seconds == 3600
    with pytest.raises(ConfigError, match="registry_expiry_grace_seconds"):
        Settings.load(env={"YRD_REGISTRY_EXPIRY_GRACE_SECONDS": value})
