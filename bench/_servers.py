"""The server processes bench/exchange.py measures: start, wait until ready, stop."""

from __future__ import annotations

import json
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

__all__ = ["Server", "free_port", "healthz", "port_open", "start_gateway", "wait"]

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


def healthz(port: int) -> dict:
    """/healthz's answer; raises (OSError, HTTPError) until the gateway is up."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
        return json.loads(answer.read())


def _ready(port: int, workers: int, seen: set[int]) -> bool:
    """Up, and (``serve --workers``) answered by ``workers`` distinct processes: each new
    connection reaches one worker, so asking again reaches the others in turn."""
    seen.add(healthz(port)["pid"])
    return len(seen) >= workers


class Server:
    """One server process under test and where to call it; its output goes to a temporary
    file, shown when it fails to start and removed when it stops."""

    def __init__(self, name: str, argv: list[str], env: dict, method: str, port: int) -> None:
        self.name, self.method, self.target = name, method, f"127.0.0.1:{port}"
        self.postmaster: int | None = None  # the PostgreSQL server it uses: its CPU is counted
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
    name: str,
    data_dir: Path,
    dev: bool,
    env: DevEnvironment,
    database: str | None = None,
    workers: int = 1,
) -> Server:
    """``yrdgw serve`` (anchoring off: a shared database refuses the embedded anchor), on
    SQLite in ``data_dir`` or on ``database``, with ``workers`` processes."""
    grpc_port, http_port = free_port(), free_port()
    child_env = {**os.environ, "YRD_ANCHOR_MODE": "off", "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "gateway.cli", "serve", "--data-dir", str(data_dir)]
    argv += ["--grpc-port", str(grpc_port), "--http-port", str(http_port)]
    if database:
        argv += ["--database", database]
    if workers > 1:
        argv += ["--workers", str(workers)]
    if dev:
        argv.append("--dev")
    else:
        child_env.update({f"YRD_{k.upper()}": v for k, v in env.trust_settings().items()})
    server = Server(name, argv, child_env, SUBMIT_METHOD, grpc_port)
    seen: set[int] = set()
    server.wait_ready(lambda: _ready(http_port, workers, seen))
    return server
