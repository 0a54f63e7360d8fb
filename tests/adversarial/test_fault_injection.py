"""Finding 2 (gateway side): faults in the commit path fail closed, loudly, and heal.

A real gateway on loopback (``GatewayThread``); the faults are injected into its real log:
a side write that raises, a signer that raises, a store whose commit raises
``sqlite3.OperationalError("database or disk is full")``. For each one:

1. the caller gets UNAVAILABLE with ErrorInfo reason ``UNAVAILABLE`` within a second (on
   the old code the call hung until its deadline);
2. gRPC health (overall and per service) turns NOT_SERVING, ``/healthz`` answers 503 naming
   the sequencer and the cause, and ``yrd_worker_up{worker="sequencer"}`` is 0;
3. once the fault is removed the next exchange commits and health is SERVING again, with
   no restart;
4. nothing is lost: every receipt handed out before verifies against the log now, the
   failed exchange left no row, and the new checkpoint is consistent with the last one
   signed before the fault.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.pb.yrd.v1 import exchange_pb2
from gateway.rpc.status import reason_of
from ledger import merkle
from ledger.checkpoint import verify_checkpoint
from ledger.receipt import verify_receipt
from tests.adversarial.probes import gateway_rows
from tests.envelopes import status_update
from tests.gateway.harness import GatewayThread

PAYLOAD = json.dumps(
    {"case_id": "FAULT-1", "status": "received", "time": "2026-11-28T10:00:00+08:00", "note": None}
).encode()
SERVICES = ("", "yrd.v1.Exchange", "yrd.v1.Audit")
pytestmark = pytest.mark.embedded_log("injects faults into the embedded log and its SQLite files")

ANSWER_WITHIN = 1.0  # the issue: "callers get a precise error within a second"


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def healthz(gw: GatewayThread) -> tuple[int, dict[str, Any]]:
    status, body = http_get(f"{gw.http_url}/healthz")
    return status, json.loads(body)


def worker_up(gw: GatewayThread, worker: str) -> str | None:
    _, body = http_get(f"{gw.http_url}/metrics")
    for line in body.decode().splitlines():
        if line.startswith(f'yrd_worker_up{{worker="{worker}"}}'):
            return line.rsplit(" ", 1)[1]
    return None


async def grpc_health(client) -> set[int]:
    stub = health_pb2_grpc.HealthStub(client.channel)
    replies = [
        await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        for name in SERVICES
    ]
    return {reply.status for reply in replies}


# A polling deadline that fails the test naming ``what``, where asyncio.timeout would raise
# a bare TimeoutError.
async def eventually(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:  # noqa: ASYNC109
    """Await ``check()`` (sync or async) until truthy; a generous deadline, never a bound."""
    import asyncio
    import inspect

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def exchange_rows(gw: GatewayThread) -> int:
    return gateway_rows(gw, "exchanges")


# -- the faults: each injects into the running gateway's log and returns how to remove it --
class _FullDisk:
    """Stands in for the exchange writer's SQLite connection on a full disk."""

    def execute(self, *args: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")


def gateway_rows_disk_full(gw: GatewayThread) -> Callable[[], None]:
    conn = gw.gateway.writer._conn
    real = conn.raw
    conn.raw = _FullDisk()

    def remove() -> None:
        conn.raw = real

    return remove


def signer_raises(gw: GatewayThread) -> Callable[[], None]:
    signer = gw.gateway.log.signer

    def broken(*args: Any, **kwargs: Any):
        raise RuntimeError("native signer: injected fault")

    signer.sign = broken  # type: ignore[method-assign]
    return lambda: delattr(signer, "sign")


def store_disk_full(gw: GatewayThread) -> Callable[[], None]:
    store = gw.gateway.log.store

    def full(*args: Any, **kwargs: Any):
        raise sqlite3.OperationalError("database or disk is full")

    store.commit = full  # type: ignore[method-assign]
    store.probe = full  # type: ignore[method-assign]

    def remove() -> None:
        del store.commit
        del store.probe

    return remove


FAULTS = {  # the fault, its cause as the caller and /healthz see it, the worker it downs
    "gateway rows disk full": (
        gateway_rows_disk_full,
        "database or disk is full",
        "exchange-writer",
    ),
    "signer": (signer_raises, "native signer: injected fault", "sequencer"),
    "log store disk full": (store_disk_full, "database or disk is full", "sequencer"),
}


@pytest.fixture
def gw(tmp_path) -> Iterator[GatewayThread]:
    thread = GatewayThread(tmp_path).start()
    # recovery must come from the next exchange committing, not from the idle store probe
    # (tested on its own in test_fault_sequencer.py and test_disk_full.py)
    thread.gateway.log.probe_interval = 3600
    thread.gateway.writer.probe_interval = 3600
    yield thread
    thread.stop()


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_commit_fault_fails_fast_reports_down_and_heals(gw, fault):
    inject, cause, worker = FAULTS[fault]
    log = gw.gateway.log
    async with gw.client("SH") as client:

        def build():
            return status_update(client, gw.env, payload=PAYLOAD)

        receipts = [await client.submit(build()) for _ in range(3)]
        before = log.latest_checkpoint()
        assert before is not None and before.size == 3
        rows_before = exchange_rows(gw)

        # (1): the fault; the caller is answered at once with a precise status
        remove = inject(gw)
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await client.exchange.Submit(build(), timeout=30)
        assert time.monotonic() - started < ANSWER_WITHIN
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE, info.value.details()
        assert reason_of(info.value) == "unavailable"
        assert cause in info.value.details()
        assert exchange_rows(gw) == rows_before, "a failed commit must write nothing"

        # (2): health says so, everywhere
        not_serving = {health_pb2.HealthCheckResponse.NOT_SERVING}

        async def is_not_serving() -> bool:
            return await grpc_health(client) == not_serving

        await eventually(is_not_serving, "gRPC health NOT_SERVING")
        status, body = healthz(gw)
        assert status == 503
        assert body["status"] == "down"
        assert cause in body["down"][worker]
        assert worker_up(gw, worker) == "0.0"

        # (3): the fault is gone; the next exchange commits and health recovers by itself
        remove()
        after = await client.submit(build())
        await eventually(lambda: healthz(gw)[0] == 200, "/healthz back to 200 without a restart")
        assert await grpc_health(client) == {health_pb2.HealthCheckResponse.SERVING}
        assert worker_up(gw, worker) == "1.0"

        # (4): nothing lost; the new checkpoint extends the last one signed before the fault
        latest = log.latest_checkpoint()
        assert latest is not None and latest.size == before.size + 1
        trusted = gw.trust.key_for(latest.checkpoint.origin)
        verify_checkpoint(latest.text, trusted.public_key, key_name=trusted.key_name)
        proof = log.consistency_proof(before.size, latest.size)
        merkle.verify_consistency(before.size, latest.size, proof, before.root, latest.root)
        for receipt in [*receipts, after]:
            verify_receipt(json.loads(receipt.receipt_json), gw.trust)
            exchange_id = json.loads(receipt.receipt_json)["exchange_id"]
            again = await client.exchange.GetReceipt(
                exchange_pb2.GetReceiptRequest(exchange_id=exchange_id, tree_size=latest.size)
            )
            verify_receipt(json.loads(again.receipt_json), gw.trust)


class _Bug(BaseException):
    """Not an Exception: stands for a bug that escapes the sequencer's per-batch guard."""


async def test_dead_sequencer_refuses_exchanges_at_once_and_stays_down(gw):
    log = gw.gateway.log

    store = log.store

    def killing(keys):
        raise _Bug("sequencer bug")

    async with gw.client("SH") as client:

        def build():
            return status_update(client, gw.env, payload=PAYLOAD)

        await client.submit(build())
        store.indexes_for_keys = killing  # type: ignore[method-assign]
        for _ in range(2):  # the batch that kills the thread, then one after it
            started = time.monotonic()
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await client.exchange.Submit(build(), timeout=30)
            assert time.monotonic() - started < ANSWER_WITHIN
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE, info.value.details()
            assert reason_of(info.value) == "unavailable"
            store.__dict__.pop("indexes_for_keys", None)
        assert "not running" in info.value.details()
        await eventually(lambda: healthz(gw)[0] == 503, "/healthz 503")
        _, body = healthz(gw)
        assert "sequencer thread died: _Bug: sequencer bug" in body["down"]["sequencer"]
