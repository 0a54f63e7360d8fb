"""Finding 3: a second ``yrdgw serve`` on a held data directory or a taken port is refused.

Before: a second instance on the same gRPC port started (SO_REUSEPORT) and split new
connections with the first; one on the same data directory started too and the first then
failed every submission; an HTTP port clash ended in a bare uvicorn error. Now each ends
with exit 2 and one line naming the holder's PID or the port, nothing partial, and the
first instance keeps accepting submissions.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

from gateway.client import GatewayClient
from gateway.tls import TlsFiles
from ledger.trust import TrustStore
from tests.adversarial.serving import REPO, ServeFactory, ServeProcess
from tests.envelopes import status_update


def _submit(serve: ServeFactory, proc: ServeProcess) -> int:
    """One exchange SH -> ZJ through ``proc``; the verified receipt's tree size."""
    env = serve.env
    cert = env.clients["SH"]

    async def go() -> int:
        async with GatewayClient(
            proc.target,
            member=env.member_id("SH"),
            key=env.member_keys["SH"],
            tls=TlsFiles(env.ca.cert_pem, cert.cert_pem, cert.key_pem),
            trust=TrustStore.load(env.trust_path.read_bytes()),
        ) as client:
            signed = status_update(client, env)
            receipt = await asyncio.wait_for(client.submit(signed), 30)
            return receipt.tree_size

    return asyncio.run(go())


def _one_line(proc: ServeProcess) -> str:
    lines = [line for line in proc.stderr().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr()
    assert "Traceback" not in lines[0]
    return lines[0]


def test_second_instance_on_the_same_data_dir_is_refused_naming_the_pid(serve):
    first = serve.start().wait_ready()
    size = _submit(serve, first)

    second = serve.start()  # same config, same data directory, its own free ports
    assert second.wait_exit(30) == 2
    line = _one_line(second)
    assert f"pid {first.proc.pid}" in line and str(serve.root) in line
    assert "listening" not in second.stdout()
    lock = serve.root / "yrdgw.lock"
    assert lock.read_text().strip() == str(first.proc.pid)  # the refused one wrote nothing

    assert first.healthz() == 200
    assert _submit(serve, first) == size + 1  # the first still appends, no index clash
    assert first.terminate() == 0


def test_second_instance_on_a_taken_grpc_port_is_refused_naming_the_port(serve):
    first = serve.start().wait_ready()
    size = _submit(serve, first)

    other = serve.root / "other"
    second = serve.start("--data-dir", str(other), "--grpc-port", str(first.grpc_port))
    assert second.wait_exit(30) == 2
    line = _one_line(second)
    assert f"gRPC port 127.0.0.1:{first.grpc_port}" in line and "in use" in line
    assert "listening" not in second.stdout()
    assert not (other / "gateway.db").exists()

    # every new connection reaches the first gateway and its one log
    for n in range(1, 6):
        assert _submit(serve, first) == size + n
    assert first.healthz() == 200


def test_second_instance_on_a_taken_http_port_is_refused_naming_the_port(serve):
    first = serve.start().wait_ready()
    size = _submit(serve, first)

    other = serve.root / "other"
    second = serve.start("--data-dir", str(other), "--http-port", str(first.http_port))
    assert second.wait_exit(30) == 2
    line = _one_line(second)
    assert f"HTTP port 127.0.0.1:{first.http_port}" in line and "in use" in line
    assert "listening" not in second.stdout()

    assert first.healthz() == 200
    assert _submit(serve, first) == size + 1


def test_the_lock_goes_with_the_process_even_on_sigkill(serve):
    first = serve.start().wait_ready()
    size = _submit(serve, first)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(30)

    # the stale lock file (with a dead PID) does not block the next start
    second = serve.start().wait_ready()
    assert (serve.root / "yrdgw.lock").read_text().strip() == str(second.proc.pid)
    assert _submit(serve, second) == size + 1
    assert second.terminate() == 0
    third = serve.start().wait_ready()  # and a clean stop released it too
    assert third.terminate() == 0


def test_demo_refuses_a_data_dir_held_by_a_running_gateway(serve):
    first = serve.start().wait_ready()
    demo = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "demo", "--data-dir", str(serve.root)],
        env={**os.environ, "PYTHONPATH": str(REPO), "YRD_ANCHOR_MODE": "off"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert demo.returncode == 2, demo.stderr
    lines = demo.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pid {first.proc.pid}" in lines[0], demo.stderr
    assert first.healthz() == 200
    assert _submit(serve, first) >= 1
