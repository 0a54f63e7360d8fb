"""Failover of the elected sequencer: two ``python -m ledger.sequencer_cli`` processes on one
database, client threads appending with keys, ``kill -9`` of the leader; the standby takes
over, every acknowledged append is in the log at its index with its bytes, the whole log
verifies, and ``yrd-audit consistency`` accepts the checkpoint before the kill against the
latest one after the takeover. Real cluster, real processes; every wait has a deadline."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from ledger.crypto import PrivateKey
from ledger.log import AppendResult, verify_stored_log
from ledger.log.pg import PgLog, PgLogStore
from ledger.trust import trust_document
from tests.ledger.pg_log_helpers import DEADLINE, KEY, ORIGIN, migrated

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 4


def _start(url: str, key_file: Path, log_file: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "ledger.sequencer_cli", "--database", url, "--key",
           str(key_file), "--origin", ORIGIN, "--standby-poll", "0.2"]  # fmt: skip
    with log_file.open("wb") as out:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def _wait(what: str, check, deadline: float = DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _opened_at(log_file: Path) -> int | None:
    """The size at which a sequencer opened the log (its "opened the log at size N" line)."""
    match = re.search(r"opened the log at size (\d+)", log_file.read_text())
    return None if match is None else int(match.group(1))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(DEADLINE)


def test_kill_9_of_the_leader_the_standby_takes_over_and_nothing_acknowledged_is_lost(
    pg_url, tmp_path
):
    url = migrated(pg_url)
    key_file = tmp_path / "log.pem"
    key_file.write_bytes(KEY.to_pem())
    logs = [tmp_path / "seq-a.log", tmp_path / "seq-b.log"]
    procs = [_start(url, key_file, logs[0])]
    _wait("the first sequencer to lead", lambda: "leader" in logs[0].read_text())
    procs.append(_start(url, key_file, logs[1]))
    _wait("the second sequencer to stand by", lambda: "standby" in logs[1].read_text())
    acked: list[tuple[str, bytes, AppendResult, float]] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []
    front = PgLog(url, KEY.public_key, ORIGIN, poll=0.1)

    def client(n: int) -> None:
        i = 0
        try:
            while not stop.is_set():
                key = f"ex-{n}-{i}"
                entry = f"exchange {n}/{i} ".encode() * 20
                result = front.append_async(entry, key=key).result(DEADLINE)
                with lock:
                    acked.append((key, entry, result, time.monotonic()))
                i += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        _wait("200 acknowledged appends", lambda: len(acked) >= 200)
        before = front.latest_checkpoint()
        assert before is not None
        killed_at = time.monotonic()
        os.kill(procs[0].pid, signal.SIGKILL)
        procs[0].wait(DEADLINE)
        opened = _wait("the standby to lead and open the log", lambda: _opened_at(logs[1]))
        assert opened >= before.size  # nothing the old leader acknowledged is missing
        first_after = _wait(
            "an append committed by the new leader",
            lambda: min(
                (t for _, _, r, t in list(acked) if r.checkpoint.size > opened), default=None
            ),
        )
        gap = first_after - killed_at
        count = len(acked)
        _wait("200 more acknowledged appends", lambda: len(acked) >= count + 200)
    finally:
        stop.set()
        for t in threads:
            t.join(DEADLINE)
        for proc in procs:
            _stop(proc)
    assert not errors, errors
    print(
        f"takeover gap: {gap:.3f} s (kill -9 to the first append acknowledged from a batch of "
        f"the new leader, which opened the log at size {opened}); {len(acked)} acknowledged"
    )
    assert gap < DEADLINE
    after = front.latest_checkpoint()
    assert after is not None and after.size > before.size
    # every acknowledged append is in the log at its index with its bytes, once
    indexes = [r.index for _, _, r, _ in acked]
    assert len(set(indexes)) == len(indexes)
    for key, entry, result, _ in acked:
        assert front.entry(result.index) == entry
        assert front.index_for_key(key) == result.index
    with psycopg.connect(url, autocommit=True) as conn:
        verified = verify_stored_log(
            PgLogStore(conn, ORIGIN), KEY.public_key, ORIGIN, all_signatures=True
        )
    assert verified.size == after.size
    # the checkpoint before the kill vs the latest: the auditor's CLI accepts it
    (tmp_path / "old.txt").write_text(before.text)
    (tmp_path / "new.txt").write_text(after.text)
    proof = front.consistency_proof(before.size, after.size)
    (tmp_path / "proof.json").write_text(
        json.dumps(
            {"old_size": before.size, "new_size": after.size, "proof": [p.hex() for p in proof]}
        )
    )
    (tmp_path / "trust.json").write_text(json.dumps(trust_document(ORIGIN, KEY.public_key)))
    out = subprocess.run(
        [sys.executable, "-m", "ledger.audit_cli", "consistency", "old.txt", "new.txt",
         "--proof", "proof.json", "--trust", "trust.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=DEADLINE, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"VALID: tree {after.size} extends tree {before.size}" in out.stdout
    front.close()


def test_the_cli_refuses_a_bad_key_file_a_bad_url_and_a_key_the_log_does_not_match(
    pg_url, tmp_path
):
    url = migrated(pg_url)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ledger.sequencer_cli", *args], cwd=ROOT, capture_output=True,
            text=True, timeout=DEADLINE, check=False,
        )  # fmt: skip

    (tmp_path / "bad.pem").write_text("not a key")
    out = run("--database", url, "--key", str(tmp_path / "bad.pem"), "--origin", ORIGIN)
    assert out.returncode == 2 and "cannot load the log key from" in out.stderr
    good = tmp_path / "log.pem"
    good.write_bytes(KEY.to_pem())
    out = run("--database", "sqlite:///x.db", "--key", str(good), "--origin", ORIGIN)
    assert out.returncode == 2 and "--database must be a postgresql:// URL" in out.stderr
    missing = url.replace("port=", "port=1")  # nothing listens there
    out = run("--database", missing, "--key", str(good), "--origin", ORIGIN)
    assert out.returncode == 2 and "cannot connect to the database" in out.stderr
    # a log signed by KEY, then a sequencer with another key: it refuses, naming the check
    with PgLog(url, KEY.public_key, ORIGIN, poll=0.1) as front:
        future = front.append_async(b"first")
        proc = _start(url, good, tmp_path / "seq.log")
        try:
            future.result(DEADLINE)
        finally:
            _stop(proc)
    other = tmp_path / "other.pem"
    other.write_bytes(PrivateKey.generate().to_pem())
    out = run("--database", url, "--key", str(other), "--origin", ORIGIN)
    assert out.returncode == 3, out.stderr
    assert "refusing to sequence test.yrd/pglog: IntegrityError [checkpoint_signature]" in (
        out.stderr
    )
