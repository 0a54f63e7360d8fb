"""Finding 12: the CLIs answer every bad input with one line on stderr, never a traceback.

A table of bad inputs per command, each run as a real subprocess of this tree's code:
exit 2 for input errors, 1 for "invalid" verdicts, exactly one stderr line, no traceback,
and no raw bytes of the input echoed (quoted input is escaped and cut short). Then the
last-resort guard: an unexpected exception is ``internal error`` in one line, exit 70.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway import cli as gateway_cli
from gateway.app.devenv import ensure_dev_environment
from gateway.registry import RegistryHolder
from ledger import audit_cli
from ledger.crypto import PrivateKey
from ledger.log import MerkleLog, SQLiteStore
from ledger.trust import trust_document
from tests.adversarial.serving import REPO, write_config

ORIGIN = "cli.yrd/log"
DEEP = b"[" * 100_000 + b"]" * 100_000
GARBAGE = bytes(range(256)) * 8  # not UTF-8, full of control bytes
MAX_LINE = 400


@dataclass(frozen=True)
class Case:
    name: str
    tool: str  # "yrdgw" or "yrd-audit"
    args: str  # split on spaces; "{f}" is the fixture directory, "{t}" its trust.json
    code: int
    needle: str


def _table(tool: str, rows: list[tuple[str, str, int, str]]) -> list[Case]:
    return [Case(name, tool, args, code, needle) for name, args, code, needle in rows]


ZERO = "0x" + "00" * 20
GOV = "{f}/dev/dev/keys/governance"
CASES = _table("yrd-audit", [
    # verify
    ("verify-deep-receipt", "verify {f}/deep.json --trust {t}", 2, "deeper than"),
    ("verify-deep-trust", "verify {f}/receipt.json --trust {f}/deep.json", 2, "deeper than"),
    ("verify-binary-receipt", "verify {f}/garbage.bin --trust {t}", 2, "not json"),
    ("verify-binary-trust", "verify {f}/receipt.json --trust {f}/garbage.bin", 2, "trust file"),
    ("verify-huge-receipt", "verify {f}/huge.json --trust {t}", 2, "larger than"),
    ("verify-directory", "verify {f} --trust {t}", 2, "cannot read"),
    ("verify-list-receipt", "verify {f}/list.json --trust {t}", 1, "INVALID"),
    ("verify-tampered-receipt", "verify {f}/tampered.json --trust {t}", 1, "INVALID"),
    ("verify-no-trust", "verify {f}/receipt.json", 2, "--trust"),
    # consistency
    ("consistency-binary-checkpoint",
     "consistency {f}/garbage.bin {f}/new.txt --proof {f}/proof.json --trust {t}", 2, "not utf-8"),
    ("consistency-control-chars",
     "consistency {f}/control.txt {f}/new.txt --proof {f}/proof.json --trust {t}", 2,
     "not a checkpoint"),
    ("consistency-deep-proof",
     "consistency {f}/old.txt {f}/new.txt --proof {f}/deep.json --trust {t}", 2, "deeper than"),
    ("consistency-binary-proof",
     "consistency {f}/old.txt {f}/new.txt --proof {f}/garbage.bin --trust {t}", 2, "not json"),
    ("consistency-untrusted-origin",
     "consistency {f}/foreign.txt {f}/new.txt --proof {f}/proof.json --trust {t}", 1,
     "no trusted key"),
    # anchors: the proofs file is read before the chain is asked
    ("anchors-deep-proofs",
     f"anchors --rpc http://127.0.0.1:9 --contract {ZERO} --origin {ORIGIN} "
     "--proofs {f}/deep.json", 2, "deeper than"),
    ("anchors-bad-block", "anchors --rpc x --contract y --origin z --from-block many", 2,
     "invalid int"),
]) + _table("yrdgw", [
    # registry
    ("registry-inspect-deep", "registry inspect {f}/deep.json", 2, "deeper than"),
    ("registry-verify-deep", f"registry verify {{f}}/deep.json --trust {GOV}.pub", 2,
     "deeper than"),
    ("registry-sign-deep", f"registry sign --key {GOV}.pem --in {{f}}/deep.json --out {{f}}/o",
     2, "deeper than"),
    ("registry-inspect-binary", "registry inspect {f}/garbage.bin", 1, "not utf-8"),
    ("registry-verify-bad-key", "registry verify {f}/dev/dev/registry.json --trust "
     "{f}/garbage.bin", 2, "garbage.bin"),
    # serve: each refused before anything listens
    ("serve-binary-config", "serve --config {f}/garbage.bin", 2, "not utf-8"),
    ("serve-deep-config", "serve --config {f}/deep.toml", 2, "nests too deep"),
    ("serve-bad-setting", "serve --config {f}/badtype.toml", 2, "host"),
    ("serve-data-dir-is-a-file", "serve --data-dir {f}/garbage.bin", 2, "not a directory"),
    ("serve-port-out-of-range", "serve --data-dir {f}/d2 --grpc-port 70000", 2, "0..65535"),
    ("serve-tampered-ledger",
     "serve --config {f}/tampered/yrdgw.toml --grpc-port 0 --http-port 0", 2, "cannot serve"),
    ("serve-bad-port-arg", "serve --grpc-port x", 2, "invalid int"),
    # demo: refused before the scenario runs
    ("demo-out-under-a-file", "demo --out {f}/garbage.bin/receipts", 2, "--out"),
    ("demo-out-missing-parent", "demo --out /proc/yrd-no-such-dir/receipts", 2, "--out"),
    ("demo-data-dir-is-a-file", "demo --data-dir {f}/garbage.bin", 2, "not a directory"),
    # crypto commands
    ("sm2-verify-garbage-signature",
     "sm2 verify --pub {f}/dev/dev/keys/log.pub --in {t} --sig {f}/garbage.bin", 1, "invalid"),
    ("sm2-sign-binary-key", "sm2 sign --key {f}/garbage.bin --in {t} --out {f}/sig", 2,
     "bad private key"),
    ("unknown-command", "nonsense", 2, "invalid choice"),
])  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli-bad")
    key = PrivateKey.generate()
    with MerkleLog(SQLiteStore(root / "log.db"), key, ORIGIN) as log:
        log.append_many([b"e%d" % i for i in range(10)])
        receipt = log.receipt(3)
        (root / "old.txt").write_text(log.checkpoint(10).text)
        log.append_many([b"f%d" % i for i in range(7)])
        (root / "new.txt").write_text(log.latest_checkpoint().text)
        proof = [p.hex() for p in log.consistency_proof(10, 17)]
    with MerkleLog(SQLiteStore(root / "foreign.db"), key, "foreign.yrd/log") as log:
        log.append_many([b"x"] * 10)
        (root / "foreign.txt").write_text(log.checkpoint(10).text)
    (root / "receipt.json").write_text(json.dumps(receipt))
    (root / "tampered.json").write_text(json.dumps({**receipt, "leaf_index": 4}))
    (root / "proof.json").write_text(json.dumps({"old_size": 10, "new_size": 17, "proof": proof}))
    (root / "trust.json").write_text(json.dumps(trust_document(ORIGIN, key.public_key)))
    (root / "list.json").write_text("[]")
    (root / "deep.json").write_bytes(DEEP)
    (root / "garbage.bin").write_bytes(GARBAGE)
    (root / "control.txt").write_text("origin\x1b[2J\x07\nnot a size\n\nbell\n")
    with (root / "huge.json").open("wb") as huge:
        huge.truncate(17 << 20)  # sparse: larger than any input the CLI reads
    (root / "deep.toml").write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    (root / "badtype.toml").write_text(f'host = 5\ndata_dir = "{root / "d1"}"\n')
    _tampered_ledger(root / "tampered", ensure_dev_environment(root / "dev"))
    return root


def _tampered_ledger(data_dir: Path, env) -> None:
    """A configured data directory whose log lost its last entry while stopped."""
    data_dir.mkdir()
    write_config(data_dir, env)
    holder = RegistryHolder(env.registry_path, [env.governance.public_key])
    assert holder.reload(), holder.last_error
    store = SQLiteStore(data_dir / "log.db")
    with MerkleLog(store, env.log_key, holder.current.log_origin) as log:
        log.append_many([b"entry %d" % i for i in range(3)])
    with sqlite3.connect(data_dir / "log.db") as db:
        db.execute("DELETE FROM leaves WHERE idx = 2")


def _run(tool: str, argv: list[str], **env: str) -> subprocess.CompletedProcess:
    module = "gateway.cli" if tool == "yrdgw" else "ledger.audit_cli"
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "YRD_ANCHOR_MODE": "off", **env}
    full_env.pop("YRD_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", module, *argv],
        env=full_env,
        capture_output=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _assert_one_line(stderr: bytes) -> str:
    text = stderr.decode("utf-8")  # never raw input bytes: always valid UTF-8
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    line = lines[0]
    assert "Traceback" not in line
    assert len(line) <= MAX_LINE, line
    assert line.isprintable(), line  # quoted input is escaped, no control characters
    return line


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_and_an_exit_code(files, case):
    argv = case.args.replace("{t}", "{f}/trust.json").replace("{f}", str(files)).split()
    out = _run(case.tool, argv)
    line = _assert_one_line(out.stderr)
    assert out.returncode == case.code, line
    assert case.needle in line, line


def test_tampered_ledger_refusal_leaves_nothing_listening(files):
    out = _run("yrdgw", ["serve", "--config", str(files / "tampered" / "yrdgw.toml")])
    assert out.returncode == 2
    assert b"listening" not in out.stdout


# -- the last-resort guard, by fault injection in-process --------------------------------


def _boom(args) -> int:
    raise RuntimeError("boom\nsecond line")


@pytest.mark.parametrize(
    ("module", "command", "argv", "prefix"),
    [
        (gateway_cli, "cmd_selfcheck", ["selfcheck"], "yrdgw"),
        (audit_cli, "cmd_verify", ["verify", "r.json", "--trust", "t.json"], "yrd-audit"),
    ],
)
def test_unexpected_exception_is_internal_error_exit_70(
    monkeypatch, capsys, module, command, argv, prefix
):
    monkeypatch.setattr(module, command, _boom)
    monkeypatch.delenv("YRD_DEBUG", raising=False)
    assert module.main(argv) == 70
    captured = capsys.readouterr()
    assert captured.err == f"{prefix}: internal error: RuntimeError: boom\\nsecond line\n"
    monkeypatch.setenv("YRD_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        module.main(argv)
