"""``yrd-audit verify --witnesses K`` and ``ledger.quorum``: receipts from a real MerkleLog whose
checkpoint carries cosignatures by three generated witness keys (``ledger.cosignature``).

Exit codes: 0 the quorum is met, 1 it is not (``ReceiptCheck.WITNESS_QUORUM``, naming found
and missing), 2 a quorum the trust file cannot supply.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from ledger.anchor import Anchorer, JsonRpcChain
from ledger.audit_cli import main
from ledger.cosignature import (
    Cosignature,
    TrustedWitness,
    add_signature_lines,
    cosign,
    note_body,
    parse_cosignature_line,
)
from ledger.crypto import PrivateKey
from ledger.errors import CheckpointError, ReceiptCheck, ReceiptError
from ledger.log import MerkleLog, SQLiteStore
from ledger.quorum import Cosigned, check_quorum
from ledger.receipt import verify_receipt
from ledger.trust import TrustStore, trust_document
from tests.ledger.chain_fixtures import (  # noqa: F401 -- pytest fixture
    ADMIN_KEY,
    ANCHORER_KEY,
    hardhat_node,
)

ORIGIN = "witnessed.yrd/log"
KEY = PrivateKey.generate()
NAMES = ("hefei", "nanjing", "hangzhou")
WITNESS_KEYS = {name: PrivateKey.generate() for name in NAMES}
WITNESSES = [TrustedWitness(name, key.public_key) for name, key in WITNESS_KEYS.items()]
T0 = 1_780_000_000  # 2026-05-28T20:26:40Z


def _line(note: str, name: str, key: PrivateKey | None = None, when: int = T0) -> str:
    return cosign(note_body(note), key or WITNESS_KEYS[name], name, timestamp=when).line


def _tampered(line: str) -> str:
    """The same signature claiming another time: the signed bytes differ, so it fails."""
    parsed = parse_cosignature_line(line)
    return Cosignature(parsed.name, parsed.hint, parsed.timestamp + 1, parsed.signature).line


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    path = tmp_path_factory.mktemp("witnessed")
    with MerkleLog(SQLiteStore(path / "log.db"), KEY, ORIGIN) as log:
        log.append_many([b"w%d" % i for i in range(6)])
        receipt = log.receipt(2)
    note = receipt["checkpoint"]
    stranger = PrivateKey.generate()
    notes = {
        "bare": note,
        "two": add_signature_lines(
            note, [_line(note, "hefei"), _line(note, "nanjing", when=T0 + 5)]
        ),
        "one": add_signature_lines(note, [_line(note, "hangzhou")]),
        # a key not in the trust file, under a new name and under a trusted witness's name
        "foreign": add_signature_lines(
            note,
            [_line(note, "hefei"), _line(note, "shanghai", stranger),
             _line(note, "nanjing", stranger)],
        ),
        "tampered": add_signature_lines(
            note,
            [_line(note, "hefei"), _tampered(_line(note, "nanjing")), _line(note, "hangzhou")],
        ),
    }  # fmt: skip
    for name, text in notes.items():
        (path / f"{name}.json").write_text(json.dumps({**receipt, "checkpoint": text}))
    claimed = {**receipt, "checkpoint": notes["one"]}
    claimed["witnesses"] = {"quorum": 2, "cosignatures": 1, "status": "not yet witnessed"}
    (path / "claimed.json").write_text(json.dumps(claimed))
    (path / "trust.json").write_text(
        json.dumps(trust_document(ORIGIN, KEY.public_key, witnesses=WITNESSES))
    )
    (path / "nowitness.json").write_text(json.dumps(trust_document(ORIGIN, KEY.public_key)))
    return path, notes


def _audit(capsys, *argv) -> tuple[int | str | None, str, str]:
    """``yrd-audit`` in-process: its exit code (argparse's refusals exit from parse_args)."""
    code: int | str | None
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _verify(capsys, files, receipt: str, *extra, trust: str = "trust.json"):
    path, _ = files
    return _audit(capsys, "verify", path / f"{receipt}.json", "--trust", path / trust, *extra)


# -- ledger.quorum ---------------------------------------------------------------------------


def test_check_quorum_sorts_every_trusted_witness_into_one_list(files):
    _, notes = files
    two = check_quorum(notes["two"], WITNESSES, 2)
    assert two.found == [Cosigned("hefei", T0), Cosigned("nanjing", T0 + 5)]
    assert (two.missing, two.invalid, two.reached) == (["hangzhou"], [], True)
    tampered = check_quorum(notes["tampered"], WITNESSES, 3)
    assert [f.name for f in tampered.found] == ["hefei", "hangzhou"]
    assert (tampered.invalid, tampered.missing, tampered.reached) == (["nanjing"], [], False)
    bare = check_quorum(notes["bare"], WITNESSES, 0)  # the log's own line is not a witness's
    assert (bare.found, bare.missing, bare.reached) == ([], list(NAMES), True)
    # the same witness listed twice is one witness: it counts once and caps the quorum
    doubled = [*WITNESSES, WITNESSES[0]]
    assert len(check_quorum(notes["two"], doubled, 2).found) == 2
    with pytest.raises(ReceiptError, match="exceeds the 3 witnesses") as info:
        check_quorum(notes["two"], doubled, 4)
    assert info.value.code is ReceiptCheck.TRUST_FILE


def test_check_quorum_refuses_impossible_quorums_and_non_notes(files):
    _, notes = files
    for witnesses, quorum, needle in (
        ([], 1, "lists none"),
        (WITNESSES, -1, "0 or more"),
        (WITNESSES[:2], 3, "exceeds the 2 witnesses"),
    ):
        with pytest.raises(ReceiptError, match=needle) as info:
            check_quorum(notes["two"], witnesses, quorum)
        assert info.value.code is ReceiptCheck.TRUST_FILE
    with pytest.raises(CheckpointError):
        check_quorum("not a note\n", WITNESSES, 1)


def test_a_cosigned_receipt_still_verifies_as_a_receipt(files):
    path, _ = files
    trust = TrustStore.load((path / "trust.json").read_bytes())
    for name in ("two", "foreign", "tampered"):
        verified = verify_receipt((path / f"{name}.json").read_text(), trust)
        assert verified.checks[-1] == "inclusion proof"


# -- yrd-audit verify --witnesses ------------------------------------------------------------


def test_quorum_two_of_three_met_names_each_witness(capsys, files):
    code, out, err = _verify(capsys, files, "two", "--witnesses", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert "ok   inclusion proof" in lines
    stamp = datetime.fromtimestamp(T0, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"ok   witness hefei (cosigned {stamp})" in lines
    assert any(x.startswith("ok   witness nanjing (cosigned 2026-") for x in lines)
    assert "--   witness hangzhou: no cosignature" in lines
    assert "ok   witness quorum (2 valid, 2 required)" in lines
    assert lines[-1] == (
        "VALID: entry 2 is in the log at tree size 6, cosigned by 2 of 3 trusted witnesses, "
        "quorum 2 (log and witness checks; the anchor was NOT checked: no --rpc)"
    )


def test_quorum_not_met_is_invalid_naming_found_and_missing(capsys, files):
    code, out, err = _verify(capsys, files, "one", "--witnesses", "2")
    assert code == 1
    assert "ok   inclusion proof" in out and "ok   witness hangzhou (cosigned" in out
    assert "--   witness hefei: no cosignature" in out and "VALID" not in out
    assert err == (
        "INVALID: witness quorum: 1 valid cosignature(s), 2 required "
        "(found: hangzhou; missing: hefei, nanjing; invalid: none)\n"
    )


def test_cosignatures_by_keys_not_in_the_trust_file_are_ignored(capsys, files):
    _, notes = files
    assert notes["foreign"].count("\u2014 ") == 4  # the log's line and three cosignatures
    code, out, _ = _verify(capsys, files, "foreign", "--witnesses", "1")
    assert code == 0
    assert "shanghai" not in out  # not a trusted witness: not ours to mention
    assert "--   witness nanjing: no cosignature" in out  # its name on a stranger's key
    code, _, err = _verify(capsys, files, "foreign", "--witnesses", "2")
    assert code == 1 and "found: hefei; missing: nanjing, hangzhou" in err


def test_a_tampered_cosignature_is_reported_and_not_counted(capsys, files):
    code, out, err = _verify(capsys, files, "tampered", "--witnesses", "2")
    assert code == 0, err
    assert "--   witness nanjing: invalid cosignature (does not verify; not counted)" in out
    assert "cosigned by 2 of 3 trusted witnesses" in out.splitlines()[-1]
    code, out, err = _verify(capsys, files, "tampered", "--witnesses", "3")
    assert code == 1 and "VALID" not in out
    assert "2 valid cosignature(s), 3 required" in err and "invalid: nanjing" in err


@pytest.mark.parametrize(
    ("quorum", "trust", "needle"),
    [
        ("4", "trust.json", "--witnesses 4: witness quorum 4 exceeds the 3 witnesses"),
        ("1", "nowitness.json", "--witnesses 1: witness quorum 1 needs witnesses, but the trust"),
        ("-1", "trust.json", "argument --witnesses: must be 0 or more, got -1"),
        ("two", "trust.json", "argument --witnesses: must be a whole number, got 'two'"),
    ],
)
def test_a_quorum_the_trust_file_cannot_supply_is_a_usage_error(
    capsys, files, quorum, trust, needle
):
    code, out, err = _verify(capsys, files, "two", "--witnesses", quorum, trust=trust)
    assert code == 2 and out == ""  # refused before any check
    assert needle in err and "Traceback" not in err


def test_quorum_zero_lists_the_witnesses_and_passes(capsys, files):
    code, out, _ = _verify(capsys, files, "bare", "--witnesses", "0", trust="nowitness.json")
    assert code == 0
    assert "cosigned by 0 of 0 trusted witnesses, quorum 0" in out.splitlines()[-1]


def test_without_witnesses_the_unchecked_cosignatures_are_counted(capsys, files):
    code, out, _ = _verify(capsys, files, "two")
    assert code == 0
    assert (
        "--   witnesses not checked: the checkpoint carries 2 cosignature line(s); run with "
        "--witnesses K to require K of the trusted witnesses"
    ) in out.splitlines()
    assert out.splitlines()[-1] == (
        "VALID: entry 2 is in the log at tree size 6, witnesses not checked (no --witnesses) "
        "(log checks only; the anchor was NOT checked: no --rpc)"
    )
    code, out, _ = _verify(capsys, files, "claimed")  # the receipt's claim, shown, not trusted
    assert code == 0
    assert "the receipt says not yet witnessed, quorum 2 (not checked)" in out
    code, out, _ = _verify(capsys, files, "bare")
    assert "the checkpoint carries 0 cosignature line(s)" in out


def test_the_module_run_as_a_program(files):
    path, _ = files
    argv = ["verify", path / "one.json", "--trust", path / "trust.json", "--witnesses"]
    ok = subprocess.run(
        [sys.executable, "-m", "ledger.audit_cli", *map(str, argv), "1"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "ok   witness hangzhou (cosigned" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "ledger.audit_cli", *map(str, argv), "3"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1 and bad.stderr.startswith("INVALID: witness quorum: 1 valid")


# -- with --rpc: the VALID line reports the anchor and the witnesses ---------------------------


def test_with_rpc_the_verdict_reports_both_the_anchor_and_the_witnesses(
    capsys,
    hardhat_node,  # noqa: F811
    tmp_path,
):
    """The anchorer anchors the witnessed checkpoint (quorum selector), and ``verify --rpc
    --witnesses 2`` checks both on a real Hardhat node."""
    admin = JsonRpcChain(hardhat_node.url, ADMIN_KEY, timeout=30)
    address = admin.deploy()
    chain = JsonRpcChain(hardhat_node.url, ANCHORER_KEY, address, timeout=30)
    admin.grant(ORIGIN, chain.account)
    notes: dict[int, str] = {}

    def witnessed(latest: int) -> int | None:
        reached = [s for s, n in notes.items() if check_quorum(n, WITNESSES, 2).reached]
        return max((s for s in reached if s <= latest), default=None)

    with MerkleLog(SQLiteStore(tmp_path / "log.db"), KEY, ORIGIN) as log:
        clock = iter(range(0, 10**6, 60)).__next__  # every anchor is due
        anchorer = Anchorer(log, chain, tmp_path / "anchors.db", clock=clock, select=witnessed)
        log.append_many([b"r%d" % i for i in range(4)])
        note = log.checkpoint(4).text
        notes[4] = add_signature_lines(note, [_line(note, "hefei"), _line(note, "hangzhou")])
        log.append_many([b"r%d" % i for i in range(4, 7)])  # 7: signed, not witnessed
        assert anchorer.run_once().tree_size == 4
        receipt = anchorer.attach_anchor({**log.receipt(1, 4), "checkpoint": notes[4]})
        anchorer.close()
    (tmp_path / "receipt.json").write_text(json.dumps(receipt))
    (tmp_path / "trust.json").write_text(
        json.dumps(trust_document(ORIGIN, KEY.public_key, witnesses=WITNESSES))
    )
    argv = ["verify", tmp_path / "receipt.json", "--trust", tmp_path / "trust.json"]
    code, out, err = _audit(capsys, *argv, "--rpc", hardhat_node.url, "--witnesses", "2")
    assert code == 0, err
    verdict = out.splitlines()[-1]
    assert "anchored on chain at size 4" in verdict and "anchor checked on chain id " in verdict
    assert verdict.endswith("; cosigned by 2 of 3 trusted witnesses, quorum 2")
    assert "ok   witness hefei (cosigned" in out and "--   witness nanjing: no cosignature" in out
    code, out, err = _audit(capsys, *argv, "--rpc", hardhat_node.url)
    assert code == 0, err
    assert out.splitlines()[-1].endswith("; witnesses not checked (no --witnesses)")
    assert "NOT checked" not in out  # the anchor was checked: nothing shouts
    code, out, err = _audit(capsys, *argv, "--rpc", hardhat_node.url, "--witnesses", "3")
    assert code == 1 and "ok   anchor" not in out  # the quorum failed: the chain is not asked
    assert "missing: nanjing" in err
