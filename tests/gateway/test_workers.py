"""``yrdgw serve --workers 2 --database postgresql://...``: two gateway processes share the
ports; the kernel spreads connections over them; a worker that dies is started again; a
second deployment on the port is still refused; SIGTERM stops them all. Real processes, a
real throwaway PostgreSQL cluster, real mTLS clients."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.app.devenv import ensure_dev_environment
from ledger.receipt import verify_receipt
from ledger.trust import TrustStore
from tests.adversarial.serving import write_config
from tests.envelopes import status_update
from tests.gateway.test_gateway_crash import ALL_PULL, _client, _port
from tests.gateway.test_shared_failover import _healthz

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 90.0  # s: every wait in this file


def _serve(config: Path, data_dir: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "YRD_ANCHOR_MODE": "off", "PYTHONPATH": str(REPO)}
    env.pop("YRD_WORKER_OF", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config),
         "--data-dir", str(data_dir), *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _pids(http_port: int, asks: int = 40) -> dict[int, str]:
    """Which worker answered each of ``asks`` fresh connections: pid -> sequencer role."""
    seen: dict[int, str] = {}
    for _ in range(asks):
        try:
            body = _healthz(http_port)
        except OSError:
            continue
        if body.get("status") == "ok":
            seen[body["pid"]] = body["sequencer"]
    return seen


def _until(predicate, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_two_workers_share_the_ports_restart_and_stop_together(tmp_path, pg_url):
    env = ensure_dev_environment(tmp_path, pull_regions=ALL_PULL)
    config = write_config(tmp_path, env)
    grpc_port, http_port = _port(), _port()
    ports = ("--grpc-port", str(grpc_port), "--http-port", str(http_port))
    parent = _serve(config, tmp_path, "--database", pg_url, "--workers", "2", *ports)
    try:
        _until(lambda: len(_pids(http_port)) == 2, "two workers answering on one port")
        roles = _pids(http_port)
        assert sorted(roles.values()) == ["leader", "standby"], roles

        # exchanges over the shared gRPC port, from several channels: one log
        async def load() -> list:
            async def one_channel() -> list:
                async with _client(env, "SH", grpc_port) as client:
                    return [await client.submit(status_update(client, env)) for _ in range(10)]

            async with asyncio.timeout(DEADLINE):
                batches = await asyncio.gather(*(one_channel() for _ in range(6)))
            return [r for batch in batches for r in batch]

        receipts = asyncio.run(load())
        trust = TrustStore.load(env.trust_path.read_bytes())
        for receipt in receipts:
            verify_receipt(json.loads(receipt.receipt_json), trust)
        assert sorted(r.leaf_index for r in receipts) == list(range(60))

        # a second deployment on the same port is refused, the workers untouched
        other = tmp_path / "other"
        second = _serve(config, other, *ports)
        out, _ = second.communicate(timeout=DEADLINE)
        assert second.returncode == 2 and "in use" in out, out

        # kill -9 one worker: the parent starts another; two answer again
        victim = next(iter(roles))
        os.kill(victim, signal.SIGKILL)
        _until(
            lambda: len(p := _pids(http_port)) == 2 and victim not in p,
            "the killed worker replaced",
        )

        # SIGTERM to the parent stops every worker
        workers = set(_pids(http_port))
        parent.send_signal(signal.SIGTERM)
        out, _ = parent.communicate(timeout=DEADLINE)
        assert parent.returncode == 0, out
        assert "exited with code -9; starting it again" in out
        # each worker, the restarted one too, froze its start-up heap out of gc passes
        assert out.count("heap settled after start") >= 3, out
        for pid in workers:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(30)


def test_workers_need_a_shared_database_and_fixed_ports(tmp_path):
    env = ensure_dev_environment(tmp_path, pull_regions=ALL_PULL)
    config = write_config(tmp_path, env)
    cases = [
        (("--workers", "2", "--grpc-port", str(_port()), "--http-port", str(_port())), "shared"),
        (("--workers", "2", "--database", "postgresql://x@/y", "--grpc-port", "0"), "fixed"),
    ]
    for extra, word in cases:
        proc = _serve(config, tmp_path, *extra)
        out, _ = proc.communicate(timeout=DEADLINE)
        assert proc.returncode == 2 and word in out, out
