"""SIGKILL the gateway under load: every exchange that got a receipt survives the restart,
and the restarted log's checkpoints are consistent with the last one before the kill."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

import grpc
import pytest

from gateway.app.devenv import ensure_dev_environment
from gateway.client import GatewayClient
from gateway.pb.yrd.v1 import audit_pb2, exchange_pb2
from gateway.tls import TlsFiles
from ledger import merkle
from ledger.receipt import verify_receipt
from ledger.trust import TrustStore
from tests.adversarial.serving import write_config
from tests.envelopes import status_update

ALL_PULL = ("SH", "JS", "ZJ", "AH")

LOAD_DEADLINE = 120.0  # s: generous; the load normally reaches 400 receipts in seconds


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(data_dir, grpc_port, http_port) -> subprocess.Popen:
    env = {**os.environ, "YRD_ANCHOR_MODE": "off", "PYTHONPATH": os.getcwd()}
    config = write_config(data_dir, ensure_dev_environment(data_dir, pull_regions=ALL_PULL))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "serve",
            "--config",
            str(config),
            "--data-dir",
            str(data_dir),
            "--grpc-port",
            str(grpc_port),
            "--http-port",
            str(http_port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gateway exited {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("gateway did not become ready")


async def assert_receipts_in_log(client: GatewayClient, receipts: list[dict], trust) -> None:
    """Every receipt verifies, and the gateway's log holds its entry at its index."""
    for receipt in receipts:
        verify_receipt(receipt, trust)
        proof = await client.audit.GetInclusionProof(
            audit_pb2.GetInclusionProofRequest(exchange_id=receipt["exchange_id"])
        )
        assert proof.leaf_index == receipt["leaf_index"]
        assert base64.b64encode(proof.entry).decode() == receipt["entry"]


def _client(env, region, port) -> GatewayClient:
    cert = env.clients[region]
    return GatewayClient(
        f"127.0.0.1:{port}",
        member=env.member_id(region),
        key=env.member_keys[region],
        tls=TlsFiles(env.ca.cert_pem, cert.cert_pem, cert.key_pem),
        trust=TrustStore.load(env.trust_path.read_bytes()),
    )


@pytest.mark.slow
def test_sigkill_under_load_keeps_every_receipted_exchange(tmp_path):
    env = ensure_dev_environment(tmp_path, pull_regions=("SH", "JS", "ZJ", "AH"))
    grpc_port, http_port = _port(), _port()
    proc = _start(tmp_path, grpc_port, http_port)
    receipts: list[dict] = []

    async def load() -> None:
        deadline = time.monotonic() + LOAD_DEADLINE
        async with _client(env, "SH", grpc_port) as client:

            async def worker() -> None:
                while time.monotonic() < deadline:
                    signed = status_update(client, env)
                    try:
                        receipt = await client.exchange.Submit(signed, timeout=10)
                    except grpc.aio.AioRpcError:
                        return  # the server died under us: this one has no receipt
                    receipts.append(json.loads(receipt.receipt_json))

            tasks = [asyncio.ensure_future(worker()) for _ in range(16)]
            while len(receipts) < 400:
                if time.monotonic() > deadline or all(t.done() for t in tasks):
                    proc.kill()
                    raise AssertionError(f"only {len(receipts)} receipts before the deadline")
                await asyncio.sleep(0.01)
            proc.send_signal(signal.SIGKILL)  # mid-load: workers have requests in flight
            await asyncio.wait_for(asyncio.gather(*tasks), LOAD_DEADLINE)

    asyncio.run(load())
    proc.wait(30)
    trust = TrustStore.load(env.trust_path.read_bytes())
    last = max(receipts, key=lambda r: r["tree_size"])
    proc = _start(tmp_path, grpc_port, http_port)
    try:

        async def check() -> None:
            async with _client(env, "SH", grpc_port) as client:
                await assert_receipts_in_log(client, receipts, trust)
                latest = await client.audit.GetCheckpoint(audit_pb2.GetCheckpointRequest())
                consistency = await client.audit.GetConsistencyProof(
                    audit_pb2.GetConsistencyProofRequest(
                        old_size=last["tree_size"], new_size=latest.tree_size
                    )
                )
                old_root = base64.b64decode(last["checkpoint"].split("\n")[2])
                merkle.verify_consistency(
                    last["tree_size"],
                    latest.tree_size,
                    list(consistency.hashes),
                    old_root,
                    latest.root,
                )
                # and it keeps working
                again = status_update(client, env)
                receipt = await client.submit(again)
                assert receipt.tree_size > latest.tree_size - 1
                envelope = exchange_pb2.Envelope.FromString(again.envelope)
                assert receipt.exchange_id == envelope.exchange_id

        asyncio.run(check())
        # the unit of work left nothing half done: every log entry has its gateway row at
        # the same index with its outbox row, every row is logged, nothing is still pending
        logged = dict(_rows(tmp_path / "log.db", "SELECT key, idx FROM leaves"))
        stored = dict(
            _rows(tmp_path / "gateway.db", "SELECT exchange_id, leaf_index FROM exchanges")
        )
        assert logged == stored and len(logged) > len(receipts)
        assert _rows(tmp_path / "gateway.db", "SELECT COUNT(*) FROM log_pending") == [(0,)]
        outbox = {r[0] for r in _rows(tmp_path / "gateway.db", "SELECT exchange_id FROM outbox")}
        assert outbox == set(stored)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def _rows(path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()
