"""``yrd-audit verify --rpc`` and ``yrd-audit anchors`` against a real Hardhat node.

Exit codes: 0 valid, 1 a named check failed, 2 usage error or chain unreachable.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ledger.anchor import Anchorer, JsonRpcChain
from ledger.crypto import PrivateKey
from ledger.log import MerkleLog, SQLiteStore
from ledger.trust import trust_document
from tests.ledger.chain_fixtures import (  # noqa: F401 -- pytest fixture
    ADMIN_KEY,
    ANCHORER_KEY,
    free_port,
    hardhat_node,
)

ORIGIN = "yrd.gov.cn/log/audit"
KEY = PrivateKey.generate()
AUDIT = [sys.executable, "-m", "ledger.audit_cli"]


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*AUDIT, *map(str, args)], capture_output=True, text=True, check=False, timeout=120
    )


class _Clock:
    t = 0.0

    def __call__(self) -> float:
        self.t += 10.0  # every anchor is due
        return self.t


@pytest.fixture(scope="module")
def setup(hardhat_node, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("audit-anchor")
    admin = JsonRpcChain(hardhat_node.url, ADMIN_KEY, timeout=30)
    address = admin.deploy()
    gateway = JsonRpcChain(hardhat_node.url, ANCHORER_KEY, address, timeout=30)
    admin.grant(ORIGIN, gateway.account)
    with MerkleLog(SQLiteStore(path / "log.db"), KEY, ORIGIN) as log:
        anchorer = Anchorer(log, gateway, path / "anchors.db", clock=_Clock())

        def grow(n: int, anchor: bool) -> None:
            log.append_many([b"audit-%d" % (log.size + i) for i in range(n)])
            if anchor:
                assert anchorer.run_once().status == "confirmed"

        grow(3, False)  # checkpoint 3
        grow(2, True)  # checkpoint 5, anchored
        grow(4, False)  # checkpoint 9
        grow(3, True)  # checkpoint 12, anchored
        grow(3, False)  # checkpoint 15, not anchored
        files = {
            "exact": anchorer.attach_anchor(log.receipt(4, 5)),
            "covered": anchorer.attach_anchor(log.receipt(1, 3)),
            "plain": log.receipt(7, 9),
            "unanchored": anchorer.attach_anchor(log.receipt(13, 15)),
        }
        for name, receipt in files.items():
            (path / f"{name}.json").write_text(json.dumps(receipt))
        proof = [p.hex() for p in log.consistency_proof(9, 12)]
        (path / "proof-9-12.json").write_text(
            json.dumps({"old_size": 9, "new_size": 12, "proof": proof})
        )
        (path / "proofs.json").write_text(json.dumps(anchorer.consistency_proofs()))
        anchorer.close()
    (path / "trust.json").write_text(json.dumps(trust_document(ORIGIN, KEY.public_key)))
    assert "anchor" not in files["unanchored"]
    return path, hardhat_node.url, address


def _verify(setup, name: str, *extra) -> subprocess.CompletedProcess:
    path, url, _ = setup
    return _run("verify", path / name, "--trust", path / "trust.json", "--rpc", url, *extra)


def test_exact_anchor_passes_with_contract_from_the_receipt(setup):
    out = _verify(setup, "exact.json")
    assert out.returncode == 0, out.stderr
    assert "ok   inclusion proof" in out.stdout
    line = next(x for x in out.stdout.splitlines() if x.startswith("ok   anchor on chain"))
    assert "(tx 0x" in line and "block " in line
    assert "anchored on chain at size 5" in out.stdout
    verdict = out.stdout.splitlines()[-1]  # what was checked, and where
    assert verdict.startswith("VALID:") and "anchor checked on chain id " in verdict
    assert f"contract {setup[2]}".lower() in verdict.lower() and setup[1] in verdict
    assert "NOT checked" not in out.stdout


def test_later_anchor_passes_with_the_receipts_consistency_proof(setup):
    out = _verify(setup, "covered.json")
    assert out.returncode == 0, out.stderr
    assert "ok   anchor consistency (size 3 -> anchored size 5)" in out.stdout


def test_later_anchor_passes_with_a_proof_file(setup):
    path, _, address = setup
    out = _verify(setup, "plain.json", "--contract", address, "--proof", path / "proof-9-12.json")
    assert out.returncode == 0, out.stderr
    assert "anchored on chain at size 12" in out.stdout


def test_unanchored_checkpoint_fails_naming_the_check(setup):
    _, _, address = setup
    out = _verify(setup, "unanchored.json", "--contract", address)
    assert out.returncode == 1
    assert f"INVALID: anchor: no anchor for origin {ORIGIN} at or above size 15" in out.stderr
    assert "Traceback" not in out.stderr


def test_plain_receipt_without_proof_fails_naming_the_check(setup):
    _, _, address = setup
    out = _verify(setup, "plain.json", "--contract", address)
    assert out.returncode == 1
    assert "INVALID: anchor consistency: no consistency proof from size 9" in out.stderr


def test_tampered_anchor_consistency_proof_fails(setup):
    path, _, _ = setup
    receipt = json.loads((path / "covered.json").read_text())
    first = receipt["anchor"]["consistency_proof"][0]
    receipt["anchor"]["consistency_proof"][0] = ("00" if first[:2] != "00" else "01") + first[2:]
    (path / "tampered.json").write_text(json.dumps(receipt))
    out = _verify(setup, "tampered.json")
    assert out.returncode == 1
    assert "INVALID: anchor consistency: size 3 to 5" in out.stderr


def test_tampered_anchor_root_fails(setup):
    path, _, _ = setup
    receipt = json.loads((path / "covered.json").read_text())
    receipt["anchor"]["root"] = "22" * 32
    (path / "wrong-root.json").write_text(json.dumps(receipt))
    out = _verify(setup, "wrong-root.json")
    assert out.returncode == 1 and "differs from the receipt's anchor root" in out.stderr


def test_address_without_a_contract_fails(setup):
    out = _verify(setup, "exact.json", "--contract", "0x" + "12" * 20)
    assert out.returncode == 1 and "no AnchorRegistry contract at" in out.stderr


def test_unreachable_rpc_exits_2(setup):
    path, _, _ = setup
    url = f"http://127.0.0.1:{free_port()}"
    out = _run("verify", path / "exact.json", "--trust", path / "trust.json", "--rpc", url)
    assert out.returncode == 2
    assert f"yrd-audit: error: chain unreachable at {url}" in out.stderr
    assert "Traceback" not in out.stderr


def test_rpc_without_a_contract_is_a_usage_error(setup):
    out = _verify(setup, "plain.json")
    assert out.returncode == 2 and "--rpc needs --contract" in out.stderr


def _anchors(setup, *extra) -> subprocess.CompletedProcess:
    _, url, address = setup
    return _run("anchors", "--rpc", url, "--contract", address, "--origin", ORIGIN, *extra)


def test_anchors_lists_and_checks_consecutive_roots(setup):
    path, _, _ = setup
    out = _anchors(setup, "--proofs", path / "proofs.json")
    assert out.returncode == 0, out.stderr
    sizes = [line.split()[0] for line in out.stdout.splitlines()[1:3]]
    assert sizes == ["5", "12"]
    assert "ok   anchor consistency sizes 5 -> 12" in out.stdout
    assert "1 consecutive pairs consistent, 0 unchecked" in out.stdout


def test_anchors_without_proofs_reports_unchecked_pairs(setup):
    out = _anchors(setup)
    assert out.returncode == 0, out.stderr
    assert "--   anchor consistency sizes 5 -> 12 unchecked (no proof)" in out.stdout


def test_anchors_with_a_bad_proof_names_the_inconsistent_pair(setup):
    path, _, _ = setup
    proofs = json.loads((path / "proofs.json").read_text())
    proofs[0]["proof"] = proofs[0]["proof"][:-1]
    (path / "bad-proofs.json").write_text(json.dumps(proofs))
    out = _anchors(setup, "--proofs", path / "bad-proofs.json")
    assert out.returncode == 1
    assert "INVALID: anchor consistency: anchors at sizes 5 and 12 are inconsistent" in out.stderr


def test_anchors_unreachable_and_unknown_origin(setup):
    _, _, address = setup
    url = f"http://127.0.0.1:{free_port()}"
    out = _run("anchors", "--rpc", url, "--contract", address, "--origin", ORIGIN)
    assert out.returncode == 2 and "chain unreachable" in out.stderr
    out = _anchors(setup, "--origin", "nobody")  # the last --origin wins
    assert out.returncode == 1 and "no anchors for origin nobody" in out.stderr
