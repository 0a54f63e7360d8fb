"""Finding 2 (anchorer): an anchoring thread that keeps failing unexpectedly is reported.

On the old code an unexpected error in an anchoring step was logged on every retry and
never reached health: ``/healthz`` stayed 200. Now the gateway's supervisor watches
``Anchorer.failure``: ``/healthz`` answers 503 naming the anchorer and the cause, gRPC health
is NOT_SERVING, and the next good step brings it back without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from grpc_health.v1 import health_pb2

from gateway.app.anchoring import make_anchorer_factory
from gateway.app.settings import Settings
from tests.adversarial.test_fault_injection import eventually, grpc_health, healthz, worker_up
from tests.gateway.harness import GatewayThread


@pytest.fixture
def gw(tmp_path) -> Iterator[GatewayThread]:
    settings = Settings.load(
        env={}, data_dir=tmp_path, anchor_interval_seconds=0.2, anchor_every_entries=1
    )
    thread = GatewayThread(tmp_path, anchorer_factory=make_anchorer_factory(settings)).start()
    yield thread
    thread.stop()


async def test_unexpected_anchorer_failure_is_reported_and_recovers(gw, caplog):
    anchorer = gw.gateway.anchorer.anchorer
    assert gw.gateway.anchorer.failure is None

    def broken():
        raise RuntimeError("anchor store: injected fault")

    anchorer.run_once = broken  # type: ignore[method-assign]
    anchorer.anchor_now()

    def anchorer_down() -> bool:
        status, body = healthz(gw)
        return status == 503 and "injected fault" in body["down"].get("anchorer", "")

    await eventually(anchorer_down, "/healthz 503 naming the anchorer")
    assert worker_up(gw, "anchorer") == "0.0"
    async with gw.client("SH") as client:

        async def not_serving() -> bool:
            return await grpc_health(client) == {health_pb2.HealthCheckResponse.NOT_SERVING}

        await eventually(not_serving, "gRPC health NOT_SERVING")
        anchorer.anchor_now()  # a second failing step with the same cause
        del anchorer.run_once
        anchorer.anchor_now()
        await eventually(lambda: healthz(gw)[0] == 200, "/healthz 200 after a good step")
        assert await grpc_health(client) == {health_pb2.HealthCheckResponse.SERVING}
    logged = [
        r
        for r in caplog.records
        if r.name == "ledger.anchor" and r.levelno >= logging.ERROR and "step failed" in r.message
    ]
    assert len(logged) == 1, "one log line per cause, not one per retry"
