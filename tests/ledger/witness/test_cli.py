"""``yrd-witness keygen`` and ``serve``: the contract's arguments, exit codes and output, and
the HTTP front's limits seen from a raw socket."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from urllib.parse import urlsplit

from ledger.crypto import PrivateKey, PublicKey

from .conftest import ROOT, WitnessProcess

WITNESS = [sys.executable, "-m", "ledger.witness"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WITNESS, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_keygen_writes_a_private_key_once(tmp_path):
    path = tmp_path / "w.pem"
    out = _run("keygen", str(path))
    assert out.returncode == 0, out.stderr
    key = PrivateKey.from_pem(path.read_bytes())
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PublicKey.from_pem(out.stdout) == key.public_key
    before = path.read_bytes()
    again = _run("keygen", str(path))
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr.count("\n") == 1 and "refusing to overwrite" in again.stderr
    assert path.read_bytes() == before


def test_serve_usage_errors_exit_2_with_one_line(tmp_path, make_witness):
    key = tmp_path / "k.pem"
    key.write_bytes(PrivateKey.generate().to_pem())
    bare = tmp_path / "bare.pem"
    bare.write_bytes(PrivateKey.generate().public_key.to_pem())
    witness = make_witness("w1")
    base = ["serve", "--name", "w", "--data", str(tmp_path / "d")]
    cases = {
        "no such key": [*base, "--key", "/nonexistent", "--logs", str(witness.trust_path)],
        "not a key": [*base, "--key", str(witness.trust_path), "--logs", str(witness.trust_path)],
        "bad trust": [*base, "--key", str(key), "--logs", str(key) + ".none"],
        "any-origin trust": [*base, "--key", str(key), "--logs", str(bare)],
        "bad name": [
            "serve",
            "--name",
            "a b",
            "--key",
            str(key),
            "--logs",
            str(witness.trust_path),
            "--data",
            str(tmp_path / "d"),
        ],
        "bad listen": [*base, "--key", str(key), "--logs", str(witness.trust_path)],
        "missing arg": ["serve", "--name", "w"],
    }
    for label, args in cases.items():
        listen = ["--listen", "nowhere"] if label == "bad listen" else ["--listen", "127.0.0.1:0"]
        out = _run(*args, *listen)
        assert out.returncode == 2, (label, out.stderr)
        assert out.stderr.startswith("yrd-witness"), (label, out.stderr)
        assert ": error: " in out.stderr and "Traceback" not in out.stderr, label
        assert out.stderr.count("\n") == 1, (label, out.stderr)
    # a second witness on the same data directory is refused
    second = _run(
        "serve",
        "--name",
        "w2",
        "--key",
        str(witness.key_path),
        "--logs",
        str(witness.trust_path),
        "--data",
        str(witness.data),
        "--listen",
        "127.0.0.1:0",
    )
    assert second.returncode == 2 and "another yrd-witness" in second.stderr


def test_serve_prints_its_url_and_stops_cleanly_on_sigterm(witness):
    assert witness.proc is not None and witness.proc.stdout is not None
    line = witness.proc.stdout.readline().decode()
    assert line == f"yrd-witness: listening on {witness.url}\n"
    assert witness.stop() == 0
    log = witness.log()
    assert "Traceback" not in log


def _raw(witness: WitnessProcess, data: bytes) -> bytes:
    parts = urlsplit(witness.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_http_limits(make_witness):
    witness = make_witness("w1", "--request-timeout", "1")
    no_length = _raw(witness, b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\n\r\nold 0\n")
    assert no_length.startswith(b"HTTP/1.1 411 ")
    chunked = _raw(
        witness,
        b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    )
    assert chunked.startswith(b"HTTP/1.1 411 ")
    # 413 from the declared length alone: the body is never sent, the answer still comes
    huge = _raw(
        witness, b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n"
    )
    assert huge.startswith(b"HTTP/1.1 413 ") and b"too_large" in huge
    # a client that never finishes its body is cut off by the request timeout (_raw's own
    # socket timeout is the test's deadline)
    slow = _raw(witness, b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
    assert slow == b""
    assert witness.latest().status == 404
    assert os.path.exists(witness.data / "witness.db")
