"""Real witnesses for the tests: ``python -m ledger.witness serve`` as a subprocess on
loopback, a log built from ``ledger.merkle`` and signed with a real SM2 log key."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ledger import merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.crypto import PrivateKey
from ledger.trust import trust_document

ROOT = Path(__file__).resolve().parents[3]
ORIGIN = "test.yrd/witness-log"
START_DEADLINE = 30.0
STOP_DEADLINE = 15.0


@dataclass
class TestLog:
    """A log kept in memory: entries, their SM3 tree, checkpoints signed with ``key``."""

    __test__ = False  # not a test class, though its name starts with "Test"

    key: PrivateKey
    origin: str = ORIGIN
    entries: list[bytes] = field(default_factory=list)

    def grow(self, size: int) -> None:
        while len(self.entries) < size:
            self.entries.append(f"entry {len(self.entries)}".encode())

    def root(self, size: int) -> bytes:
        self.grow(size)
        return merkle.root_hash(self.entries[:size])

    def note(self, size: int, root: bytes | None = None, key: PrivateKey | None = None) -> str:
        checkpoint = Checkpoint(self.origin, size, self.root(size) if root is None else root)
        return sign_checkpoint(checkpoint, key or self.key, self.origin).text

    def proof(self, old: int, new: int) -> list[bytes]:
        self.grow(new)
        return merkle.consistency_proof(self.entries[:new], old)


def body(old: int, proof: list[bytes], note: str) -> bytes:
    """An add-checkpoint request body (C2SP tlog-witness)."""
    lines = [f"old {old}"] + [base64.b64encode(p).decode() for p in proof]
    return ("\n".join(lines) + "\n\n" + note).encode()


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


def request(url: str, method: str, path: str, data: bytes | None = None, **headers: str) -> Answer:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=20)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return Answer(response.status, response.getheader("Content-Type", ""), response.read())
    finally:
        conn.close()


class WitnessProcess:
    """One ``yrd-witness serve`` subprocess; ``start`` waits for its ready file."""

    def __init__(
        self, directory: Path, name: str, key_path: Path, trust_path: Path, *extra: str
    ) -> None:
        self.extra = list(extra)
        self.directory = directory
        self.name = name
        self.key_path = key_path
        self.trust_path = trust_path
        self.data = directory / "data"
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> WitnessProcess:
        ready = self.directory / "ready"
        ready.unlink(missing_ok=True)
        self.stderr = (self.directory / "stderr.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ledger.witness",
                "serve",
                "--name",
                self.name,
                "--key",
                str(self.key_path),
                "--logs",
                str(self.trust_path),
                "--data",
                str(self.data),
                "--listen",
                "127.0.0.1:0",
                "--ready-file",
                str(ready),
                *self.extra,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        deadline = time.monotonic() + START_DEADLINE
        while not ready.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"witness exited {self.proc.returncode}: {self.log()}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"witness not ready in {START_DEADLINE}s: {self.log()}")
            time.sleep(0.05)
        self.url = ready.read_text(encoding="utf-8").strip()
        assert self.url.startswith("http://127.0.0.1:")
        return self

    def log(self) -> str:
        return (self.directory / "stderr.log").read_text(encoding="utf-8", errors="replace")

    def add(self, data: bytes) -> Answer:
        return request(self.url, "POST", "/add-checkpoint", data)

    def latest(self, origin: str = ORIGIN) -> Answer:
        return request(self.url, "GET", f"/checkpoint?origin={origin}")

    def evidence(self) -> list[dict]:
        answer = request(self.url, "GET", "/evidence")
        assert answer.status == 200
        return json.loads(answer.body)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=STOP_DEADLINE)
        self._close()
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=STOP_DEADLINE)
        self._close()

    def _close(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


@pytest.fixture
def log_key() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture
def test_log(log_key) -> TestLog:
    return TestLog(log_key)


@pytest.fixture
def witness_key() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture
def make_witness(tmp_path, log_key, witness_key):
    """Start witnesses (named w1, w2, ...) witnessing ORIGIN; all stopped at teardown."""
    started: list[WitnessProcess] = []
    key_path = tmp_path / "witness.pem"
    key_path.write_bytes(witness_key.to_pem())
    trust_path = tmp_path / "logs.json"
    trust_path.write_text(json.dumps(trust_document(ORIGIN, log_key.public_key)))

    def make(name: str | None = None, *extra: str) -> WitnessProcess:
        label = name or f"w{len(started) + 1}"
        directory = tmp_path / label
        directory.mkdir(exist_ok=True)
        process = WitnessProcess(directory, label, key_path, trust_path, *extra).start()
        started.append(process)
        return process

    yield make
    for process in started:
        process.kill()


@pytest.fixture
def witness(make_witness) -> WitnessProcess:
    return make_witness("w1")
