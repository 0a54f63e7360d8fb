"""SIGKILL a process appending under load: no acknowledged entry is lost, history holds."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading

from ledger import merkle
from ledger.checkpoint import parse_checkpoint, verify_checkpoint
from ledger.crypto import PrivateKey
from ledger.log import MerkleLog, SQLiteStore

ORIGIN = "crash.yrd/log"

WRITER = textwrap.dedent(
    """
    import sys, json, threading
    from ledger.crypto import PrivateKey
    from ledger.log import MerkleLog, SQLiteStore
    key = PrivateKey.from_pem(open(sys.argv[2], "rb").read())
    log = MerkleLog(SQLiteStore(sys.argv[1]), key, sys.argv[3], batch_max=256)
    out_lock = threading.Lock()

    def writer(tid):
        n = 0
        while True:
            entry = f"t{tid}-{n}".encode()
            result = log.append(entry)
            line = json.dumps(
                {"i": result.index, "e": entry.decode(), "cp": result.checkpoint.text}
            )
            with out_lock:
                sys.stdout.write(line + "\\n")
                sys.stdout.flush()
            n += 1

    for t in range(8):
        threading.Thread(target=writer, args=(t,), daemon=True).start()
    threading.Event().wait()
    """
)


def test_sigkill_loses_no_acknowledged_entry(tmp_path):
    key = PrivateKey.generate()
    key_path = tmp_path / "log.pem"
    key_path.write_bytes(key.to_pem())
    db = tmp_path / "log.db"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    acked: dict[int, str] = {}
    last_note = None
    for _round in range(2):  # kill twice: the second run appends to a recovered log
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), str(key_path), ORIGIN],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        target = len(acked) + 1500
        assert proc.stdout is not None
        # a writer that stops writing is killed, which ends the read loop below
        watchdog = threading.Timer(120, proc.kill)
        watchdog.start()
        for line in proc.stdout:
            record = json.loads(line)
            acked[record["i"]] = record["e"]
            note = record["cp"]
            if last_note is None or parse_checkpoint(note).size > parse_checkpoint(last_note).size:
                last_note = note
            if len(acked) >= target:
                break
        watchdog.cancel()
        assert len(acked) >= target, "the writer stopped before the kill"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()

    assert last_note is not None
    last = verify_checkpoint(last_note, key.public_key, ORIGIN)
    with MerkleLog(SQLiteStore(db), key, ORIGIN) as log:
        assert log.size >= last.size
        for index, entry in acked.items():
            assert log.entry(index) == entry.encode()
        proof = log.consistency_proof(last.size, log.size)
        merkle.verify_consistency(last.size, log.size, proof, last.root, log.latest_root())
        # and the reopened log keeps signing consistent checkpoints
        after = log.append(b"after the crash")
        merkle.verify_consistency(
            last.size,
            after.tree_size,
            log.consistency_proof(last.size, after.tree_size),
            last.root,
            base64.b64decode(after.checkpoint.text.split("\n")[2]),
        )
