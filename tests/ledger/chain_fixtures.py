"""Fixtures for ledger.anchor tests: a real Hardhat JSON-RPC node on loopback.

Import the fixtures into a test module (``from tests.ledger.chain_fixtures import ...``).
The node runs ``npx --no-install hardhat node`` from ledger/contracts, so it needs
``npm ci`` there; without node_modules the tests that use it are skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

CONTRACTS = Path(__file__).resolve().parents[2] / "ledger" / "contracts"

# Hardhat's well-known development accounts (public test keys, funded on every dev node).
ADMIN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANCHORER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
OUTSIDER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804e4ab365a"

_START_TIMEOUT = 90.0


def node_tooling_missing() -> str | None:
    """Why the Hardhat node cannot run here, or None when it can."""
    if shutil.which("npx") is None or shutil.which("node") is None:
        return "node/npx not on PATH"
    if not (CONTRACTS / "node_modules" / "hardhat").is_dir():
        return "ledger/contracts/node_modules missing: run `npm ci` in ledger/contracts"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HardhatNode:
    """A `hardhat node` child process; `start` waits until it answers eth_chainId."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true", "CI": "true"}
        with open(self._log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [
                    "npx",
                    "--no-install",
                    "hardhat",
                    "node",
                    "--hostname",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                cwd=CONTRACTS,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: npx and node die together
            )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"hardhat node exited early: see {self._log_path}")
            if self.answers():
                return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"hardhat node did not answer eth_chainId: see {self._log_path}")

    def answers(self) -> bool:
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
        try:
            return "result" in requests.post(self.url, json=body, timeout=1).json()
        except (requests.RequestException, ValueError):
            return False

    def rpc(self, method: str, params: list | None = None) -> object:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        return requests.post(self.url, json=body, timeout=5).json().get("result")

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        os.killpg(self._proc.pid, 15)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, 9)
            self._proc.wait(timeout=10)


@pytest.fixture(scope="module")
def hardhat_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HardhatNode]:
    """One Hardhat node for a test module, killed at teardown."""
    reason = node_tooling_missing()
    if reason:
        pytest.skip(reason)
    node = HardhatNode(free_port(), tmp_path_factory.mktemp("hardhat") / "node.log")
    node.start()
    yield node
    node.stop()


@pytest.fixture
def hardhat_factory(tmp_path: Path) -> Iterator[Callable[..., HardhatNode]]:
    """Start Hardhat nodes on demand (``factory(port)``); all are killed at teardown."""
    reason = node_tooling_missing()
    if reason:
        pytest.skip(reason)
    started: list[HardhatNode] = []

    def factory(port: int | None = None) -> HardhatNode:
        node = HardhatNode(port or free_port(), tmp_path / f"node-{len(started)}.log")
        started.append(node)
        node.start()
        return node

    yield factory
    for node in started:
        node.stop()
