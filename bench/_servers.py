"""The server processes bench/exchange.py measures: start, wait until ready, stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench._load import SUBMIT_METHOD
from gateway.app.devenv import DevEnvironment

__all__ = ["Server", "free_port", "port_open", "serve_has_workers", "start_gateway", "wait"]

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(ready, what: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} never became ready")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def healthy(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
        return True


class Server:
    """One server process under test and where to call it; its output goes to a temporary
    file, shown when it fails to start and removed when it stops."""

    def __init__(self, name: str, argv: list[str], env: dict, method: str, port: int) -> None:
        self.name, self.method, self.target = name, method, f"127.0.0.1:{port}"
        self.log_path = Path(tempfile.gettempdir()) / f"yrd-bench-{name}-{port}.log"
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, ready) -> None:
        try:
            wait(ready, self.name)
        except RuntimeError as exc:
            self.log.flush()
            tail = self.log_path.read_text(errors="replace")[-2000:]
            self.stop()
            raise RuntimeError(f"{exc}; its output ends:\n{tail}") from None

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
        self.log.close()
        self.log_path.unlink(missing_ok=True)


def start_gateway(
    name: str, data_dir: Path, dev: bool, env: DevEnvironment, extra: list[str] | None = None
) -> Server:
    grpc_port, http_port = free_port(), free_port()
    child_env = {**os.environ, "YRD_ANCHOR_MODE": "off", "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "gateway.cli", "serve", "--data-dir", str(data_dir)]
    argv += ["--grpc-port", str(grpc_port), "--http-port", str(http_port)]
    argv += extra or []
    if dev:
        argv.append("--dev")
    else:
        child_env.update({f"YRD_{k.upper()}": v for k, v in env.trust_settings().items()})
    server = Server(name, argv, child_env, SUBMIT_METHOD, grpc_port)
    server.wait_ready(lambda: healthy(http_port))
    return server


def serve_has_workers() -> bool:
    """Whether this checkout's ``yrdgw serve`` takes ``--workers`` (issue 16, Build item 3):
    the row for several processes is measured only where there is something to measure."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return "--workers" in done.stdout
