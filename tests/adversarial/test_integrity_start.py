"""Finding 4: tampered storage is signed over.

A real ``yrdgw serve`` takes a few exchanges and is stopped; the SQLite file is tampered
with; the gateway must then refuse to start: exit 2, one line naming the bad index or size,
no traceback. ``yrdgw ledger verify`` says 0 on the good copy and 1 on a tampered one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.client import GatewayClient
from gateway.tls import TlsFiles
from ledger.trust import TrustStore
from tests.adversarial.serving import REPO, ServeFactory
from tests.envelopes import status_update

EXCHANGES = 10
PAYLOAD = b'{"case_id": "C-1", "status": "received", "time": "2026-11-28T10:00:00+08:00"}'


def _client(factory: ServeFactory, target: str) -> GatewayClient:
    env = factory.env
    cert = env.clients["SH"]
    return GatewayClient(
        target,
        member=env.member_id("SH"),
        key=env.member_keys["SH"],
        tls=TlsFiles(env.ca.cert_pem, cert.cert_pem, cert.key_pem),
        trust=TrustStore.load(env.trust_path.read_bytes()),
    )


async def _submit(factory: ServeFactory, target: str, count: int) -> list[int]:
    indexes = []
    async with _client(factory, target) as client:
        for _ in range(count):  # one at a time: one batch, one checkpoint each
            signed = status_update(client, factory.env, payload=PAYLOAD)
            receipt = await client.submit(signed)
            indexes.append(receipt.leaf_index)
    return indexes


@pytest.fixture(scope="module")
def good_dir(tmp_path_factory) -> Path:
    """A data directory (trust files included) after EXCHANGES exchanges and a clean stop."""
    root = tmp_path_factory.mktemp("good")
    factory = ServeFactory(root)
    try:
        proc = factory.start().wait_ready()
        indexes = asyncio.run(_submit(factory, proc.target, EXCHANGES))
        assert indexes == list(range(EXCHANGES))
        assert proc.terminate() == 0
    finally:
        factory.close()
    return root


@pytest.fixture
def copy(good_dir: Path, tmp_path: Path):
    """A fresh copy of the good directory and a factory serving from it."""
    root = tmp_path / "gw"
    shutil.copytree(good_dir, root, ignore=shutil.ignore_patterns("serve-*", "yrdgw.toml"))
    factory = ServeFactory(root)
    yield factory
    factory.close()


def _sql(root: Path, *statements: str) -> None:
    conn = sqlite3.connect(root / "log.db")
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def _node_id(level: int, index: int) -> int:
    return (level << 56) | index


def _tamper_entry(root: Path) -> None:
    """Flip one bit of entry 5, keeping it a BLOB."""
    conn = sqlite3.connect(root / "log.db")
    (entry,) = conn.execute("SELECT entry FROM leaves WHERE idx = 5").fetchone()
    flipped = bytes([entry[0] ^ 1]) + bytes(entry[1:])
    conn.execute("UPDATE leaves SET entry = ? WHERE idx = 5", (flipped,))
    conn.commit()
    conn.close()


def _tamper_subtree(root: Path) -> None:
    _sql(root, f"UPDATE nodes SET hash = zeroblob(32) WHERE id = {_node_id(2, 0)}")


def _tamper_checkpoint_text(root: Path) -> None:
    conn = sqlite3.connect(root / "log.db")
    (note,) = conn.execute("SELECT note FROM checkpoints WHERE size = ?", (EXCHANGES,)).fetchone()
    conn.close()
    body, signature_line = note.rstrip("\n").rsplit("\n", 1)
    blob = signature_line[-8:-4]
    flipped = blob[:-1] + ("A" if blob[-1] != "A" else "B")
    tampered = f"{body}\n{signature_line[:-8]}{flipped}{signature_line[-4:]}\n"
    assert tampered != note
    conn = sqlite3.connect(root / "log.db")
    conn.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (tampered, EXCHANGES))
    conn.commit()
    conn.close()


def _remove_last_batch(root: Path) -> None:
    """The last batch (leaf 9, the node it completed: none at level >= 2, its checkpoint)."""
    last = EXCHANGES - 1
    _sql(
        root,
        f"DELETE FROM leaves WHERE idx = {last}",
        f"DELETE FROM checkpoints WHERE size = {EXCHANGES}",
    )


def _tamper_frontier(root: Path) -> None:
    _sql(root, f"UPDATE nodes SET hash = zeroblob(32) WHERE id = {_node_id(3, 0)}")


def _remove_last_entry(root: Path) -> None:
    _sql(root, f"DELETE FROM leaves WHERE idx = {EXCHANGES - 1}")


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "entry-bytes": (_tamper_entry, r"first bad index in \[5, 6\)"),
    "interior-subtree": (_tamper_subtree, r"leaves \[0, 4\)"),
    "checkpoint-text": (_tamper_checkpoint_text, rf"checkpoint of size {EXCHANGES}"),
    "last-batch-removed": (_remove_last_batch, rf"size {EXCHANGES}\b"),
    "frontier-hash": (_tamper_frontier, r"leaves \[0, 8\)"),
    "last-entry-missing": (_remove_last_entry, rf"index {EXCHANGES - 1}\b"),
}


def _assert_one_line_refusal(stderr: str, pattern: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("yrdgw: error: "), stderr
    import re

    assert re.search(pattern, lines[0]), lines[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampered_log_refuses_to_start(copy: ServeFactory, case: str):
    tamper, pattern = CASES[case]
    tamper(copy.root)
    proc = copy.start()
    assert proc.wait_exit(60) == 2, proc.stderr()
    _assert_one_line_refusal(proc.stderr(), pattern)
    assert proc.healthz(timeout=0.5) is None


def test_untampered_copy_starts_and_keeps_its_history(copy: ServeFactory):
    proc = copy.start().wait_ready()
    indexes = asyncio.run(_submit(copy, proc.target, 2))
    assert indexes == [EXCHANGES, EXCHANGES + 1]
    assert proc.terminate() == 0


def _ledger_verify(root: Path, config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "gateway.cli", "ledger", "verify", "--data-dir", str(root)]
    return subprocess.run(
        [*argv, "--config", str(config)], env=env, capture_output=True, text=True, timeout=120
    )


def test_ledger_verify_good_and_tampered(copy: ServeFactory):
    config = copy.config()
    good = _ledger_verify(copy.root, config)
    assert good.returncode == 0, good.stderr
    assert f"log ok: {EXCHANGES} entries" in good.stdout
    _tamper_entry(copy.root)
    bad = _ledger_verify(copy.root, config)
    assert bad.returncode == 1, bad.stderr
    assert "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert bad.stderr.startswith("yrdgw: invalid: ")
    assert "first bad index in [5, 6)" in bad.stderr


def test_ledger_verify_says_when_the_chain_cannot_be_reached(copy: ServeFactory, tmp_path: Path):
    from tests.adversarial.serving import free_port

    config = copy.config(
        anchor_mode="jsonrpc",
        anchor_rpc_url=f"http://127.0.0.1:{free_port()}",
        anchor_contract="0x" + "22" * 20,
    )
    result = _ledger_verify(copy.root, config)
    assert result.returncode == 0, result.stderr
    assert "chain not checked" in result.stdout
    missing = _ledger_verify(tmp_path / "nothing-here", config)
    assert missing.returncode == 2
    assert missing.stderr.startswith("yrdgw: error: no log database")
