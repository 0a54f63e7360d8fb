"""Finding 2 (workers): a background worker that fails is reported and restarted, not lost.

On the old code the push worker died without a log line on "database or disk is full" and
every later delivery stayed pending until a restart, while ``/healthz`` said ok. Here the
fault is injected into the real gateway's outbox store (``mark`` raising the SQLite error);
the worker is reported down (``/healthz`` 503 naming it, gRPC NOT_SERVING, metric 0), and
once space "returns" it restarts by itself and every pending delivery goes out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from grpc_health.v1 import health_pb2

from gateway.ops.supervision import Supervisor
from gateway.pb.yrd.v1 import exchange_pb2
from tests.adversarial.test_fault_injection import (
    eventually,
    grpc_health,
    healthz,
    http_get,
    worker_up,
)
from tests.gateway.harness import GatewayThread
from tests.gateway.test_adapter_flow import Simulators, js_payload


@pytest.fixture(scope="module")
def sims() -> Iterator[Simulators]:
    simulators = Simulators()
    simulators.start("ZJ")
    yield simulators
    simulators.close()


@pytest.fixture
def gw(tmp_path, sims) -> Iterator[GatewayThread]:
    thread = GatewayThread(
        tmp_path,
        pull_regions=("SH", "JS", "AH"),
        endpoints={"ZJ": sims.url("ZJ")},
        push_backoff_seconds=0.05,
        push_backoff_max_seconds=0.2,
    ).start()
    yield thread
    thread.stop()


def restarts(gw: GatewayThread, worker: str) -> float:
    _, body = http_get(f"{gw.http_url}/metrics")
    for line in body.decode().splitlines():
        if line.startswith(f'yrd_worker_restarts_total{{worker="{worker}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_push_worker_on_disk_full_is_reported_and_resumes_without_restart(gw, caplog):
    store = gw.gateway.store
    full = sqlite3.OperationalError("database or disk is full")

    def mark(*args: Any, **kwargs: Any) -> None:
        raise full

    store.mark = mark  # type: ignore[method-assign]
    ids = []
    async with gw.client("JS") as client:
        for n in range(5):
            signed = client.build(
                recipient=gw.env.member_id("ZJ"),
                kind="case.submit",
                matter="JS-320000-0001",
                payload=js_payload(caseNo=f"G60-SZ-2026-{n:06d}"),
                dialect="js-json/1",
                content_type="application/json; charset=utf-8",
            )
            await client.submit(signed)  # the log and outbox row commit; marking fails
            ids.append(exchange_pb2.Envelope.FromString(signed.envelope).exchange_id)

        # (1): reported down, with the cause, everywhere
        def push_down() -> bool:
            status, body = healthz(gw)
            return status == 503 and "push-delivery" in body["down"]

        await eventually(push_down, "/healthz 503 naming push-delivery")
        _, body = healthz(gw)
        assert "database or disk is full" in body["down"]["push-delivery"]
        assert worker_up(gw, "push-delivery") == "0.0"

        async def not_serving() -> bool:
            return await grpc_health(client) == {health_pb2.HealthCheckResponse.NOT_SERVING}

        await eventually(not_serving, "gRPC health NOT_SERVING")
        failures = [r for r in caplog.records if "worker push-delivery failed" in r.getMessage()]
        assert len(failures) == 1, "one log line per cause, not one per retry"
        assert failures[0].levelno == logging.ERROR

        # (2): space returns: the worker restarts by itself and every delivery goes out
        del store.mark
        await eventually(
            lambda: all(store.outbox_row(i)[0] == "delivered" for i in ids),
            "every pending delivery delivered after the fault",
            timeout=60,
        )
        await eventually(lambda: healthz(gw)[0] == 200, "/healthz 200 again")
        assert await grpc_health(client) == {health_pb2.HealthCheckResponse.SERVING}
        assert worker_up(gw, "push-delivery") == "1.0"
        assert restarts(gw, "push-delivery") >= 1


async def test_metrics_refresh_failure_is_reported_and_recovers(gw):
    store = gw.gateway.store

    def broken() -> int:
        raise sqlite3.OperationalError("disk I/O error")

    store.outbox_depth = broken  # type: ignore[method-assign]

    def refresh_down() -> bool:
        status, body = healthz(gw)
        return status == 503 and "disk I/O error" in body["down"].get("metrics-refresh", "")

    await eventually(refresh_down, "/healthz 503 naming metrics-refresh", timeout=30)
    del store.outbox_depth
    await eventually(lambda: healthz(gw)[0] == 200, "/healthz 200 again", timeout=60)
    _, body = healthz(gw)
    assert body["workers"]["metrics-refresh"]["restarts"] >= 1


async def test_supervisor_restarts_with_capped_jittered_backoff_and_logs_once(caplog):
    supervisor = Supervisor(base=0.01, cap=0.04, poll=0.01, jitter=lambda: 1.0)
    changes: list[bool] = []
    runs = 0
    healed = asyncio.Event()

    async def listener(healthy: bool) -> None:
        changes.append(healthy)

    async def work(beat) -> None:
        nonlocal runs
        runs += 1
        if runs <= 4:
            raise OSError("no space left on device")
        beat()
        healed.set()
        await asyncio.Event().wait()

    supervisor.on_change(listener)
    await supervisor.start()
    supervisor.run("flaky", work)
    await asyncio.wait_for(healed.wait(), 10)
    await eventually(lambda: changes[-1] is True and supervisor.healthy, "healthy again")
    await supervisor.stop()
    assert changes[0] is True and False in changes
    assert supervisor.workers["flaky"].restarts == 4
    assert [supervisor._delay(n) for n in range(5)] == [0.01, 0.02, 0.04, 0.04, 0.04]
    logged = [r for r in caplog.records if "worker flaky failed" in r.getMessage()]
    assert len(logged) == 1 and "OSError: no space left on device" in logged[0].getMessage()
    assert json.dumps(supervisor.workers["flaky"].as_dict())  # health table is JSON-ready


async def _down_then_up(supervisor: Supervisor, name: str, cause: str, heal) -> None:
    await eventually(lambda: cause in supervisor.down().get(name, ""), f"{name} down")
    heal()
    await eventually(lambda: supervisor.healthy, f"{name} up again", timeout=30)
    assert supervisor.workers[name].restarts >= 1


async def test_registry_reload_failure_is_supervised(tmp_path):
    from functools import partial

    from gateway.app.devenv import ensure_dev_environment
    from gateway.app.gateway import reload_registry
    from gateway.registry import RegistryHolder

    env = ensure_dev_environment(tmp_path, pull_regions=("SH", "JS", "ZJ", "AH"))
    holder = RegistryHolder(env.registry_path, [env.governance.public_key])
    assert holder.reload()

    def broken() -> bool:
        raise OSError("disk I/O error")

    holder.reload = broken  # type: ignore[method-assign]
    supervisor = Supervisor(base=0.01, cap=0.05, poll=0.01)
    await supervisor.start()
    supervisor.run("registry-reload", partial(reload_registry, holder, every=0.01))
    try:
        await _down_then_up(
            supervisor,
            "registry-reload",
            "OSError: disk I/O error",
            lambda: delattr(holder, "reload"),
        )
    finally:
        await supervisor.stop()


async def test_nonce_purger_failure_is_supervised(gw):
    """The gateway's own purger coroutine, on its real store, under a fast supervisor."""
    store = gw.gateway.store

    def broken(older_than: float) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    async def run() -> None:
        gw.gateway.purge_every_seconds = 0.01
        store.purge_nonces = broken  # type: ignore[method-assign]
        supervisor = Supervisor(base=0.01, cap=0.05, poll=0.01)
        await supervisor.start()
        supervisor.run("nonce-purger", gw.gateway._purge_nonces)
        try:
            await _down_then_up(
                supervisor,
                "nonce-purger",
                "database or disk is full",
                lambda: delattr(store, "purge_nonces"),
            )
        finally:
            await supervisor.stop()

    gw.call(run())


async def test_supervisor_stop_ends_a_worker_that_swallowed_a_cancellation():
    """Before Python 3.12 ``asyncio.wait_for`` can swallow a cancellation (seen as a gateway
    stop that hung); stopping must still end every worker."""
    swallowed = 0

    async def stubborn(beat) -> None:
        nonlocal swallowed
        for _ in range(10):  # it swallows one cancellation, then gives way
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # as wait_for does when the cancel races its inner result

    supervisor = Supervisor(poll=0.01)
    await supervisor.start()
    supervisor.run("stubborn", stubborn)
    await asyncio.sleep(0.05)
    await asyncio.wait_for(supervisor.stop(), 10)
    assert swallowed == 1
