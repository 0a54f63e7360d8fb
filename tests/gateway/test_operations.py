"""Operations over real servers: health, reflection, /healthz, /metrics, anchoring in the
gateway, an expired member key, a refused registry at start, and the scripted demo."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from gateway.app.anchoring import make_anchorer_factory
from gateway.app.settings import Settings
from gateway.pb.yrd.v1 import audit_pb2, exchange_pb2
from gateway.rpc.status import reason_of
from ledger.receipt import verify_receipt
from tests.envelopes import status_update
from tests.gateway.harness import GatewayThread

PAYLOAD = json.dumps(
    {"case_id": "OPS-1", "status": "received", "time": "2026-11-28T10:00:00+08:00", "note": None}
).encode()


def _expire_sh_key(document: dict) -> None:
    """SH's only key was valid until an hour ago."""
    now = datetime.now(UTC)
    for member in document["members"]:
        if member["id"]["region"] == "SH":
            key = member["keys"][0]
            key["not_before"] = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
            key["not_after"] = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def anchored(tmp_path_factory):
    data = tmp_path_factory.mktemp("ops")
    settings = Settings.load(
        env={}, data_dir=data, anchor_interval_seconds=0.2, anchor_every_entries=5
    )
    thread = GatewayThread(data, anchorer_factory=make_anchorer_factory(settings)).start()
    yield thread
    thread.stop()


async def test_health_and_reflection(anchored):
    async with anchored.client("SH") as client:
        health = health_pb2_grpc.HealthStub(client.channel)
        for service in ("", "yrd.v1.Exchange", "yrd.v1.Audit"):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(client.channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        names = set()
        async with asyncio.timeout(30):
            async for reply in stub.ServerReflectionInfo(iter([request])):
                names |= {s.name for s in reply.list_services_response.service}
        assert {"yrd.v1.Exchange", "yrd.v1.Audit", "grpc.health.v1.Health"} <= names


def _scrape(gw: GatewayThread) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``, keyed by sample name and sorted labels."""
    with urllib.request.urlopen(f"{gw.http_url}/metrics") as reply:
        text = reply.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_healthz(anchored):
    with urllib.request.urlopen(f"{anchored.http_url}/healthz") as reply:
        assert reply.status == 200
        assert json.loads(reply.read())["status"] == "ok"


async def test_metrics_count_an_exchange_and_its_retry(anchored):
    """One accepted exchange and its retry move the counters by exactly one each, the latency
    histogram by two observations, and the log-size gauge to the receipt's tree size."""
    accepted = ("yrd_exchanges_total", (("kind", "case.status"), ("outcome", "accepted")))
    duplicate = ("yrd_exchanges_total", (("kind", "case.status"), ("outcome", "duplicate")))
    observed = ("yrd_exchange_seconds_count", ())
    log_size = ("yrd_log_size", ())
    before = await asyncio.to_thread(_scrape, anchored)
    async with anchored.client("SH") as client:
        signed = status_update(client, anchored.env, payload=PAYLOAD)
        receipt = await client.submit(signed)
        await client.submit(signed)  # the same bytes again: answered as a duplicate
    after = await asyncio.to_thread(_scrape, anchored)
    assert after[accepted] - before.get(accepted, 0.0) == 1
    assert after[duplicate] - before.get(duplicate, 0.0) == 1
    assert after[observed] - before.get(observed, 0.0) == 2
    assert before[log_size] < receipt.tree_size <= after[log_size]
    for gauge in ("yrd_outbox_depth", "yrd_anchor_lag_entries"):
        assert (gauge, ()) in after, f"{gauge} is not exported"


async def test_exchange_is_anchored_and_receipt_carries_it(anchored):
    async with anchored.client("SH") as client:
        signed = status_update(client, anchored.env, payload=PAYLOAD)
        receipt = await client.submit(signed)
        anchorer = anchored.gateway.anchorer
        row = await asyncio.to_thread(anchorer.wait_covered, receipt.tree_size, 60)
        assert row is not None and row.tree_size >= receipt.tree_size
        exchange_id = exchange_pb2.Envelope.FromString(signed.envelope).exchange_id
        again = await client.exchange.GetReceipt(
            exchange_pb2.GetReceiptRequest(exchange_id=exchange_id)
        )
        document = json.loads(again.receipt_json)
        assert document["anchor"]["tree_size"] >= receipt.tree_size
        verify_receipt(document, anchored.trust)
        anchors = await client.audit.GetAnchors(audit_pb2.GetAnchorsRequest())
        assert any(a.status == audit_pb2.ANCHOR_STATUS_CONFIRMED for a in anchors.anchors)


async def test_expired_member_key_is_refused(tmp_path):
    thread = GatewayThread(tmp_path, mutate=_expire_sh_key).start()
    try:
        async with thread.client("SH") as client:
            signed = status_update(client, thread.env, payload=PAYLOAD)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await client.exchange.Submit(signed)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert reason_of(info.value) == "key_invalid"
        assert "expired at" in info.value.details()  # the registry's key validity message
        assert thread.gateway.log.size == 0
    finally:
        thread.stop()


def test_serve_refuses_a_tampered_registry(tmp_path):
    from gateway.app.devenv import ensure_dev_environment

    env = ensure_dev_environment(tmp_path)
    signed = json.loads(env.registry_path.read_text())
    signed["registry"]["serial"] += 1  # any change breaks the governance signature
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(signed))
    (tmp_path / "governance.pub").write_bytes(env.governance.public_key.to_pem())
    (tmp_path / "log.pem").write_bytes(env.log_key.to_pem())
    tls = tmp_path / "tls"
    env.ca.write(tls, "ca")
    env.server.write(tls, "server")
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'registry_path = "{tampered}"\nanchor_mode = "off"\n'
        f'data_dir = "{tmp_path}"\ngrpc_port = 0\nhttp_port = 0\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2, out.stderr
    assert "trust registry refused" in out.stderr and "signature" in out.stderr
    assert "Traceback" not in out.stderr


def test_demo_runs_and_audits(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "demo", "--out", str(tmp_path / "receipts")],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "demo: all checks passed" in out.stdout
    receipts = sorted((tmp_path / "receipts").glob("[0-9]*.json"))
    assert len(receipts) == 2
    for receipt in receipts:
        audit = subprocess.run(
            [
                sys.executable,
                "-m",
                "ledger.audit_cli",
                "verify",
                str(receipt),
                "--trust",
                str(tmp_path / "receipts" / "trust.json"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert audit.returncode == 0, audit.stderr


@pytest.mark.embedded_log("reopens log.db after the stop")
async def test_graceful_stop_drains_in_flight_requests(tmp_path):
    """Stopping with a grace period lets accepted requests finish: every call either gets
    a receipt that verifies or is refused outright; none is cut off half-written."""
    import asyncio

    thread = GatewayThread(tmp_path).start()
    async with thread.client("SH") as client:
        envelopes = [status_update(client, thread.env, payload=PAYLOAD) for _ in range(60)]
        calls = [asyncio.ensure_future(client.exchange.Submit(e, timeout=30)) for e in envelopes]
        await asyncio.sleep(0.05)  # some in flight, some not yet started
        stop = asyncio.get_running_loop().run_in_executor(None, thread.stop)
        results = await asyncio.gather(*calls, return_exceptions=True)
        await stop
    receipts = [r for r in results if not isinstance(r, BaseException)]
    assert receipts, "requests in flight at stop must be answered"
    for receipt in receipts:
        verify_receipt(json.loads(receipt.receipt_json), thread.trust)
    for error in (r for r in results if isinstance(r, BaseException)):
        assert isinstance(error, grpc.aio.AioRpcError)
        assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    # reopened, the log holds every exchange that got a receipt, at its receipt's index
    from ledger.log import MerkleLog, SQLiteStore

    with MerkleLog(
        SQLiteStore(tmp_path / "log.db"), thread.env.log_key, thread.gateway.log.origin
    ) as log:
        assert log.size >= len(receipts)
        for receipt in receipts:
            assert log.entry(receipt.leaf_index) == receipt.entry
