"""The dev environment's three witnesses (``serve --dev``): real ``yrd-witness`` processes
that cosign the gateway log's checkpoints, keep their keys across restarts, and never
outlive the process that started them, even when it is killed with SIGKILL."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gateway.app.dev_witnesses import DEV_WITNESS_REGIONS, DevWitnesses, dev_witness_name
from ledger import merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.cosignature import TrustedWitness, add_signature_lines, verify_cosignatures
from ledger.crypto import PrivateKey

ORIGIN = "test.yrd/dev-witness-log"
DEADLINE = 20.0

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl")


def _add_checkpoint(url: str, note: str) -> tuple[int, str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request(
            "POST", parts.path.rstrip("/") + "/add-checkpoint", body=f"old 0\n\n{note}".encode()
        )
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def _note(key: PrivateKey, size: int) -> str:
    entries = [f"entry {i}".encode() for i in range(size)]
    return sign_checkpoint(Checkpoint(ORIGIN, size, merkle.root_hash(entries)), key, ORIGIN).text


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie waiting for its new parent counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return any(line.split()[1:2] == ["Z"] for line in status.splitlines() if line[:6] == "State:")


def test_the_three_witnesses_cosign_the_log_and_keep_their_keys(tmp_path):
    log_key = PrivateKey.generate()
    witnesses = DevWitnesses(tmp_path)
    started = witnesses.start_blocking(ORIGIN, log_key.public_key)
    try:
        assert [w.name for w in started] == [dev_witness_name(r) for r in DEV_WITNESS_REGIONS]
        note = _note(log_key, 3)
        lines = []
        for witness in started:
            status, line = _add_checkpoint(witness.url, note)
            assert status == 200, line
            lines.append(line)
        trusted = [TrustedWitness(w.name, w.public_key) for w in started]
        valid, invalid = verify_cosignatures(add_signature_lines(note, lines), trusted)
        assert invalid == [] and sorted(v.witness.name for v in valid) == sorted(
            w.name for w in started
        )
        status, answer = _add_checkpoint(started[0].url, _note(PrivateKey.generate(), 3))
        assert status == 403, answer  # a checkpoint not signed by the log's key
    finally:
        witnesses.stop_blocking()
    assert witnesses.processes == []

    restarted = DevWitnesses(tmp_path)
    try:
        again = restarted.start_blocking(ORIGIN, log_key.public_key)
        assert [w.public_key for w in again] == [w.public_key for w in started]
    finally:
        restarted.stop_blocking()


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from gateway.app.dev_witnesses import DevWitnesses
    from ledger.crypto import PrivateKey

    witnesses = DevWitnesses(Path(sys.argv[1]))
    witnesses.start_blocking("test.yrd/dev-witness-log", PrivateKey.generate().public_key)
    print(" ".join(str(p.pid) for p in witnesses.processes), flush=True)
    time.sleep(120)
    """
)


def test_the_witnesses_die_with_a_gateway_killed_by_sigkill(tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == len(DEV_WITNESS_REGIONS)
        assert not any(_gone(pid) for pid in pids)
        parent.kill()
        parent.wait(timeout=DEADLINE)
        deadline = time.monotonic() + DEADLINE
        while not all(_gone(pid) for pid in pids):
            assert time.monotonic() < deadline, f"witnesses outlived their parent: {pids}"
            time.sleep(0.1)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    logs = json.loads((tmp_path / "witness-logs.json").read_text())
    assert logs  # the trust file the witnesses were started with
