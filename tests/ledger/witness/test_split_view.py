"""A log that shows two histories is caught by three real witnesses, and proven offline.

The harness holds the log key and signs two different trees of the same size (history A and
history B). It offers A to two witnesses and B to the third (each sees one consistent
history, so each cosigns what it is shown first); then it tries to get B cosigned by the
others. No quorum of 2 ever forms for B; the witnesses that refuse record both signed
checkpoints, and ``yrd-audit misbehaviour`` proves the split view from that evidence alone.
A rolled-back log (its last batch removed, then regrown) is refused by every witness.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ledger.cosignature import TrustedWitness, add_signature_lines
from ledger.crypto import PrivateKey
from ledger.quorum import check_quorum
from ledger.trust import trust_document

from .conftest import ORIGIN, ROOT, TestLog, WitnessProcess, body

QUORUM = 2


@pytest.fixture
def three(tmp_path, log_key):
    """Three witnesses, each with its own SM2 key, witnessing ORIGIN."""
    logs = tmp_path / "logs.json"
    logs.write_text(json.dumps(trust_document(ORIGIN, log_key.public_key)))
    started, trusted = [], []
    for n in (1, 2, 3):
        key = PrivateKey.generate()
        name = f"witness-{n}.test.yrd"
        directory = tmp_path / f"w{n}"
        directory.mkdir()
        (directory / "key.pem").write_bytes(key.to_pem())
        started.append(WitnessProcess(directory, name, directory / "key.pem", logs).start())
        trusted.append(TrustedWitness(name, key.public_key))
    yield started, trusted
    for process in started:
        process.kill()


def _cosign(witnesses: list[WitnessProcess], data: bytes) -> list[str]:
    """Offer ``data`` to each witness; the cosignature lines of those that accepted."""
    lines = []
    for witness in witnesses:
        answer = witness.add(data)
        if answer.status == 200:
            lines += [line for line in answer.text.split("\n") if line]
    return lines


def _audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger.audit_cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_two_histories_of_one_size_never_both_reach_a_quorum(three, log_key, tmp_path):
    witnesses, trusted = three
    history_a = TestLog(log_key)
    history_b = TestLog(log_key, entries=[f"forged {n}".encode() for n in range(8)])
    note_a, note_b = history_a.note(8), history_b.note(8)
    assert history_a.root(8) != history_b.root(8)

    a_lines = _cosign(witnesses[:2], body(0, [], note_a))
    b_lines = _cosign(witnesses[2:], body(0, [], note_b))
    assert check_quorum(add_signature_lines(note_a, a_lines), trusted, QUORUM).reached
    # now the log tries to get history B past the witnesses that cosigned A
    for witness in witnesses[:2]:
        refused = witness.add(body(8, [], note_b))
        assert refused.status == 409, refused.text
        assert witness.add(body(0, [], note_b)).status == 409  # a stale old size changes nothing
    b_note = add_signature_lines(note_b, b_lines)
    result = check_quorum(b_note, trusted, QUORUM)
    assert not result.reached
    assert [c.name for c in result.found] == [witnesses[2].name]

    # each refusing witness recorded both checkpoints; the evidence proves the split offline
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(trust_document(ORIGIN, log_key.public_key, witnesses=trusted)))
    for witness in witnesses[:2]:
        recorded = [e for e in witness.evidence() if e.get("kind", "split_view") == "split_view"]
        assert len(recorded) == 1
        evidence = tmp_path / f"{witness.directory.name}-evidence.json"
        evidence.write_text(json.dumps(recorded[0]))
        audited = _audit("misbehaviour", str(evidence), "--trust", str(trust))
        assert audited.returncode == 0, audited.stderr
        assert f"PROVEN: split view of {ORIGIN} at size 8" in audited.stdout
        assert history_a.root(8).hex() in audited.stdout
        assert history_b.root(8).hex() in audited.stdout
    assert witnesses[2].evidence() == []  # it only ever saw history B


def test_a_rolled_back_log_is_refused_by_every_witness(three, log_key):
    witnesses, trusted = three
    log = TestLog(log_key)
    for witness in witnesses:
        assert witness.add(body(0, [], log.note(6))).status == 200
        assert witness.add(body(6, log.proof(6, 10), log.note(10))).status == 200
    # the last batch (entries 6..9) is removed and the log grows again from size 6
    rolled = TestLog(log_key, entries=log.entries[:6] + [f"other {n}".encode() for n in range(6)])
    for witness in witnesses:
        regrown = witness.add(body(10, rolled.proof(10, 12), rolled.note(12)))
        assert regrown.status == 422, regrown.text  # no consistency proof from the true 10
        from_six = witness.add(body(6, rolled.proof(6, 12), rolled.note(12)))
        assert from_six.status == 409 and from_six.text == "10\n"
        rewritten = witness.add(body(10, [], rolled.note(10)))
        assert rewritten.status == 409  # the rewritten size-10 tree: a split view
        latest = witness.latest()
        assert latest.status == 200 and latest.text.startswith(log.note(10).split("\n\n")[0])
    lines = _cosign(witnesses, body(10, rolled.proof(10, 12), rolled.note(12)))
    assert lines == []
    assert not check_quorum(rolled.note(12), trusted, 1).reached
