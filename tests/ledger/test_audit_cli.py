"""``yrd-audit verify`` and ``consistency``: exit codes 0/1/2 and named checks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ledger.crypto import PrivateKey
from ledger.log import MerkleLog, SQLiteStore
from ledger.trust import trust_document

ORIGIN = "audit.yrd/log"
KEY = PrivateKey.generate()
AUDIT = [sys.executable, "-m", "ledger.audit_cli"]


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*AUDIT, *map(str, args)], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    path = tmp_path_factory.mktemp("audit")
    with MerkleLog(SQLiteStore(path / "log.db"), KEY, ORIGIN) as log:
        log.append_many([b"e%d" % i for i in range(10)])
        (path / "receipt.json").write_text(json.dumps(log.receipt(3)))
        (path / "old.txt").write_text(log.checkpoint(10).text)
        log.append_many([b"f%d" % i for i in range(7)])
        (path / "new.txt").write_text(log.latest_checkpoint().text)
        proof = [p.hex() for p in log.consistency_proof(10, 17)]
        (path / "proof.json").write_text(
            json.dumps({"old_size": 10, "new_size": 17, "proof": proof})
        )
    (path / "trust.json").write_text(json.dumps(trust_document(ORIGIN, KEY.public_key)))
    return path


def test_verify_valid(files):
    out = _run("verify", files / "receipt.json", "--trust", files / "trust.json")
    assert out.returncode == 0, out.stderr
    assert "ok   inclusion proof" in out.stdout
    # no --rpc: the verdict says the anchor was not checked, never a bare VALID
    assert "--   anchor not checked: the receipt carries no anchor object" in out.stdout
    assert out.stdout.rstrip().endswith("(log checks only; the anchor was NOT checked: no --rpc)")


def test_verify_without_rpc_names_the_unchecked_anchor_claim(files):
    receipt = json.loads((files / "receipt.json").read_text())
    receipt["anchor"] = {"chain_id": 31337, "contract": "0x" + "12" * 20, "tree_size": 10,
                         "block_number": 4, "root": "00" * 32, "tx_hash": "0x" + "ab" * 32,
                         "consistency_proof": []}  # fmt: skip
    claimed = files / "claimed.json"
    claimed.write_text(json.dumps(receipt))
    out = _run("verify", claimed, "--trust", files / "trust.json")
    assert out.returncode == 0, out.stderr  # exit codes unchanged: the log checks passed
    line = next(x for x in out.stdout.splitlines() if x.startswith("--   anchor not checked"))
    assert "tree size 10" in line and "chain id 31337" in line and "--rpc" in line
    assert "the anchor was NOT checked" in out.stdout.splitlines()[-1]


def test_verify_invalid_names_check(files):
    receipt = json.loads((files / "receipt.json").read_text())
    receipt["leaf_index"] = 4
    bad = files / "bad.json"
    bad.write_text(json.dumps(receipt))
    out = _run("verify", bad, "--trust", files / "trust.json")
    assert out.returncode == 1
    assert "inclusion proof" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("content", "needle"),
    [(None, "cannot read"), ("", "is empty"), ("{not json", "not json")],
)
def test_verify_usage_errors(files, content, needle):
    target = files / "missing.json"
    if content is not None:
        target = files / "odd.json"
        target.write_text(content)
    out = _run("verify", target, "--trust", files / "trust.json")
    assert out.returncode == 2 and needle in out.stderr and "Traceback" not in out.stderr


def test_bad_trust_file_is_usage_error(files):
    (files / "badtrust").write_text("hello")
    out = _run("verify", files / "receipt.json", "--trust", files / "badtrust")
    assert out.returncode == 2 and "trust file" in out.stderr


def test_consistency_valid_and_invalid(files):
    ok = _run(
        "consistency",
        files / "old.txt",
        files / "new.txt",
        "--proof",
        files / "proof.json",
        "--trust",
        files / "trust.json",
    )
    assert ok.returncode == 0, ok.stderr
    proof = json.loads((files / "proof.json").read_text())
    proof["proof"] = proof["proof"][:-1]
    (files / "short.json").write_text(json.dumps(proof))
    bad = _run(
        "consistency",
        files / "old.txt",
        files / "new.txt",
        "--proof",
        files / "short.json",
        "--trust",
        files / "trust.json",
    )
    assert bad.returncode == 1 and "consistency proof" in bad.stderr
    swapped = _run(
        "consistency",
        files / "new.txt",
        files / "old.txt",
        "--proof",
        files / "proof.json",
        "--trust",
        files / "trust.json",
    )
    assert swapped.returncode == 1


@pytest.mark.parametrize("command", ["verify", "anchors"])
def test_chain_commands_without_web3_are_one_usage_error_naming_the_extra(files, command):
    """web3 unimportable (an auditor's install without the ``chain`` extra): the chain commands
    stop with exit 2 and the pip line, before any check and with no traceback."""
    argv = (
        ["verify", str(files / "receipt.json"), "--trust", str(files / "trust.json")]
        if command == "verify"
        else ["anchors", "--contract", "0x" + "12" * 20, "--origin", ORIGIN]
    )
    code = (
        "import sys\nsys.modules['web3'] = None\n"
        "from ledger.audit_cli import main\n"
        f"sys.exit(main({[*argv, '--rpc', 'http://127.0.0.1:9']!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert out.returncode == 2 and out.stdout == "", (out.stdout, out.stderr)
    assert out.stderr.strip() == (
        "yrd-audit: error: yrd-audit --rpc (a chain over JSON-RPC) needs the 'chain' extra, "
        "which is not installed: pip install 'yrd-gateway[chain]'"
    )
