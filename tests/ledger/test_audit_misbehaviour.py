"""``yrd-audit misbehaviour EVIDENCE --trust T``: a witness's evidence document checked offline.

The split view is real: two MerkleLogs with the same log key and origin but different entries
sign two checkpoints of the same size (what a log showing two members two histories does).
Exit codes: 0 PROVEN, 1 NOT PROVEN naming the check, 2 unreadable, oversize or non-JSON input.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from ledger.audit_cli import MAX_EVIDENCE_BYTES, main
from ledger.cosignature import add_signature_lines, cosign, note_body
from ledger.crypto import PrivateKey
from ledger.evidence import evidence_document
from ledger.log import MerkleLog, SQLiteStore
from ledger.trust import trust_document

ORIGIN = "split.yrd/log"
KEY = PrivateKey.generate()
OTHER_KEY = PrivateKey.generate()
WITNESS = PrivateKey.generate()
WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _history(path, key: PrivateKey, tag: bytes) -> dict[int, str]:
    """Checkpoint notes at sizes 4 and 6 of a log whose entries are tagged ``tag``."""
    with MerkleLog(SQLiteStore(path / f"{tag.decode()}.db"), key, ORIGIN) as log:
        log.append_many([tag + b"%d" % i for i in range(4)])
        log.append_many([tag + b"%d" % i for i in range(4, 6)])
        return {size: log.checkpoint(size).text for size in (4, 6)}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    path = tmp_path_factory.mktemp("split")
    honest, forked = _history(path, KEY, b"a"), _history(path, KEY, b"b")
    stranger, stranger_fork = _history(path, OTHER_KEY, b"c"), _history(path, OTHER_KEY, b"d")
    # the witness cosigned the honest note (its stored note carries its own line)
    line = cosign(note_body(honest[6]), WITNESS, "hefei", timestamp=1_780_000_000).line
    cosigned = add_signature_lines(honest[6], [line])
    cases = {
        "split": (cosigned, forked[6]),
        "same-roots": (cosigned, honest[6]),
        "sizes": (cosigned, forked[4]),
        "other-key": (stranger[6], stranger_fork[6]),
    }
    for name, (first, second) in cases.items():
        document = evidence_document(ORIGIN, "hefei", first, second, recorded_at=WHEN)
        (path / f"{name}.json").write_text(json.dumps(document))
    (path / "trust.json").write_text(json.dumps(trust_document(ORIGIN, KEY.public_key)))
    (path / "trust-elsewhere.json").write_text(
        json.dumps(trust_document("elsewhere.yrd/log", KEY.public_key))
    )
    return path, honest, forked


def _misbehaviour(capsys, path, evidence: str, trust: str = "trust.json"):
    code = main(["misbehaviour", str(path / evidence), "--trust", str(path / trust)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _root(note: str) -> str:
    return base64.b64decode(note.split("\n")[2]).hex()


def test_a_split_view_is_proven(capsys, files):
    path, honest, forked = files
    code, out, err = _misbehaviour(capsys, path, "split.json")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:5] == [
        "ok   evidence format",
        "ok   cosigned checkpoint signature (size 6)",
        "ok   offered checkpoint signature (size 6)",
        "ok   same size (6)",
        "ok   different roots",
    ]
    assert lines[5] == (
        "--   recorded by witness hefei at 2026-12-01T09:30:00Z (the document's word, not signed)"
    )
    assert _root(honest[6]) != _root(forked[6])
    assert lines[-1] == (
        f"PROVEN: split view of {ORIGIN} at size 6: roots {_root(honest[6])} and "
        f"{_root(forked[6])}, both signed by log key {KEY.public_key.key_id}"
    )


@pytest.mark.parametrize(
    ("evidence", "trust", "reason"),
    [
        ("same-roots.json", "trust.json", "different roots: both checkpoints of size 6 agree"),
        ("sizes.json", "trust.json", "same size: the checkpoints have sizes 6 and 4"),
        ("other-key.json", "trust.json", "cosigned checkpoint signature: checkpoint signature "),
        ("split.json", "trust-elsewhere.json", "log key: trusted log key: no trusted key for"),
    ],
)
def test_evidence_that_proves_nothing_is_not_proven(capsys, files, evidence, trust, reason):
    path, _, _ = files
    code, out, err = _misbehaviour(capsys, path, evidence, trust)
    assert code == 1 and "PROVEN:" not in out
    assert err.startswith(f"NOT PROVEN: {reason}") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("content", "code", "needle"),
    [
        (None, 2, "cannot read evidence"),
        (b"", 2, "is empty"),
        (b"{not json", 2, "is not json"),
        (b"\xff\xfe{}", 2, "is not json"),
        (b"[" * 5000 + b"]" * 5000, 2, "refused"),
        (b" " * MAX_EVIDENCE_BYTES + b"{}", 2, f"is larger than {MAX_EVIDENCE_BYTES} bytes"),
        (b"[]", 1, "NOT PROVEN: evidence format: expected a json object"),
        (b'{"format": "yrd-witness-evidence/v1", "origin": "split.yrd/log", "cosigned": 7}',
         1, "NOT PROVEN: evidence format: field 'cosigned' must be a checkpoint note"),
        (b'{"format": "yrd-witness-evidence/v1", "origin": "split.yrd/log", "cosigned": "x",'
         b' "offered": "y"}', 1, "NOT PROVEN: cosigned checkpoint signature: checkpoint note "),
    ],
)  # fmt: skip
def test_bad_input(capsys, files, tmp_path, content, code, needle):
    path, _, _ = files
    target = tmp_path / "evidence.json"
    if content is not None:
        target.write_bytes(content)
    got, out, err = _misbehaviour(capsys, tmp_path, "evidence.json", str(path / "trust.json"))
    assert (got, out) == (code, ""), err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_the_module_run_as_a_program(files):
    path, _, _ = files

    def run(evidence: str) -> subprocess.CompletedProcess[str]:
        argv = ["misbehaviour", str(path / evidence), "--trust", str(path / "trust.json")]
        return subprocess.run(
            [sys.executable, "-m", "ledger.audit_cli", *argv],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip

    proven = run("split.json")
    assert proven.returncode == 0, proven.stderr
    assert proven.stdout.splitlines()[-1].startswith(f"PROVEN: split view of {ORIGIN} at size 6")
    unproven = run("same-roots.json")
    assert unproven.returncode == 1
    assert unproven.stderr.startswith("NOT PROVEN: different roots")
