"""Finding 2 (disk full): a real ``yrdgw serve`` whose data directory is on a small tmpfs.

The file system is filled while the gateway runs. Submissions then fail at once with
UNAVAILABLE naming the cause (never a hang), ``/healthz`` answers 503 naming the sequencer,
gRPC health is NOT_SERVING. Once space is freed the log's store probe sees it, health
recovers by itself (no restart, no traffic needed), the next exchange commits, every
receipt handed out before still verifies, and the new checkpoint is consistent with the
last one signed before the disk filled.

Needs root to mount a tmpfs; skipped with the reason otherwise. The same faults are also
injected without a file system (``sqlite3.OperationalError("database or disk is full")``
from the store) in ``test_fault_injection.py`` and ``test_worker_supervision.py``, which
always run.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.client import GatewayClient
from gateway.pb.yrd.v1 import audit_pb2, exchange_pb2
from gateway.rpc.status import reason_of
from gateway.tls import TlsFiles
from ledger import merkle
from ledger.receipt import verify_receipt
from ledger.trust import TrustStore
from tests.adversarial.serving import write_config
from tests.envelopes import status_update

PAYLOAD = json.dumps(
    {"case_id": "DISK-1", "status": "received", "time": "2026-11-28T10:00:00+08:00", "note": None}
).encode()
ANSWER_WITHIN = 1.0


def _mount_reason(path: Path) -> str | None:
    """Why a tmpfs cannot be mounted here (None if it was mounted at ``path``)."""
    if os.geteuid() != 0:
        return "mounting a small tmpfs needs root"
    if shutil.which("mount") is None:
        return "no mount command"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return f"cannot mount a tmpfs: {done.stderr.strip() or done.returncode}"
    return None


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small-fs"
    mount.mkdir()
    reason = _mount_reason(mount)
    if reason is not None:
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    """Write ``path`` until the file system is full (ENOSPC)."""
    chunk = b"\0" * (64 * 1024)
    with path.open("wb", buffering=0) as out:
        for _ in range(1 << 20):  # 64 GiB at most: ENOSPC comes long before
            try:
                out.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
        for size in (4096, 512, 1):  # the last few bytes too
            for _ in range(1 << 16):
                try:
                    out.write(b"\0" * size)
                except OSError:
                    break


def _client(serve, proc) -> GatewayClient:
    env = serve.env
    cert = env.clients["SH"]
    return GatewayClient(
        proc.target,
        member=env.member_id("SH"),
        key=env.member_keys["SH"],
        tls=TlsFiles(env.ca.cert_pem, cert.cert_pem, cert.key_pem),
        trust=TrustStore.load(env.trust_path.read_bytes()),
    )


def _wait(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _healthz_body(proc) -> dict:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{proc.http_url}/healthz", timeout=5) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


async def test_disk_full_under_serve_fails_fast_and_heals_when_space_returns(serve, small_fs):
    data = small_fs / "data"
    data.mkdir()
    config = write_config(data, serve.env)  # the data directory (and only it) on the tmpfs
    proc = serve.start(config=config).wait_ready()
    trust = TrustStore.load(serve.env.trust_path.read_bytes())
    try:
        async with _client(serve, proc) as client:

            def build():
                return status_update(client, serve.env, payload=PAYLOAD)

            receipts = [await client.submit(build()) for _ in range(3)]
            before = verify_receipt(json.loads(receipts[-1].receipt_json), trust).checkpoint

            # (1): fill the file system; a submission soon fails, at once and precisely
            filler = small_fs / "filler"
            _fill(filler)
            error = None
            for _ in range(200):
                started = time.monotonic()
                try:
                    receipts.append(await client.submit(build(), timeout=30))
                except grpc.aio.AioRpcError as exc:
                    error, elapsed = exc, time.monotonic() - started
                    break
            assert error is not None, "the gateway kept committing on a full file system"
            assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()
            assert reason_of(error) == "unavailable"
            assert "full" in error.details()
            assert elapsed < ANSWER_WITHIN

            # (2): reported down: /healthz 503 naming the worker whose file filled first (the
            # unit of work's gateway.db, or the log's log.db), gRPC NOT_SERVING
            _wait(lambda: proc.healthz() == 503, "/healthz 503")
            down = _healthz_body(proc)["down"]
            assert set(down) & {"sequencer", "exchange-writer"}, down
            assert all("full" in down[w] for w in set(down) & {"sequencer", "exchange-writer"})
            health = health_pb2_grpc.HealthStub(client.channel)
            reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING

            # (3): space returns; it heals by itself (store probe), then commits again
            filler.unlink()
            _wait(lambda: proc.healthz() == 200, "/healthz 200 once space returned")
            reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            receipts.append(await client.submit(build()))

            # (4): nothing lost, and the log extends what was signed before the disk filled
            latest = await client.audit.GetCheckpoint(audit_pb2.GetCheckpointRequest())
            for receipt in receipts:
                exchange_id = json.loads(receipt.receipt_json)["exchange_id"]
                again = await client.exchange.GetReceipt(
                    exchange_pb2.GetReceiptRequest(
                        exchange_id=exchange_id, tree_size=latest.tree_size
                    )
                )
                verify_receipt(json.loads(again.receipt_json), trust)
            proof = await client.audit.GetConsistencyProof(
                audit_pb2.GetConsistencyProofRequest(
                    old_size=before.size, new_size=latest.tree_size
                )
            )
            merkle.verify_consistency(
                before.size, latest.tree_size, list(proof.hashes), before.root, latest.root
            )
        assert proc.terminate() == 0
    finally:
        proc.kill()
