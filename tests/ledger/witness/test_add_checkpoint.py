"""``POST /add-checkpoint`` on a real ``yrd-witness`` process: every C2SP tlog-witness rule,
with its status, and refused input leaves the state as it was."""

from __future__ import annotations

import json

import pytest

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.cosignature import TrustedWitness, add_signature_lines, verify_cosignatures
from ledger.crypto import PrivateKey
from ledger.errors import EvidenceError
from ledger.evidence import verify_evidence
from ledger.trust import TrustStore, trust_document

from .conftest import ORIGIN, body, request

TEXT = "text/plain; charset=utf-8"


def _cosigned_size(witness) -> int | None:
    answer = witness.latest()
    if answer.status == 404:
        return None
    assert answer.status == 200
    return int(answer.text.split("\n")[1])


def _verified(note: str, line: str, witness_key) -> list:
    trusted = [TrustedWitness("w1", witness_key.public_key)]
    valid, invalid = verify_cosignatures(add_signature_lines(note, [line]), trusted)
    assert invalid == []
    return valid


def test_first_checkpoint_then_an_extension_are_cosigned(witness, test_log, witness_key):
    note = test_log.note(3)
    first = witness.add(body(0, [], note))
    assert (first.status, first.content_type) == (200, TEXT), first.text
    assert first.text.startswith("\u2014 w1 ") and first.text.endswith("\n")
    assert first.text.count("\n") == 1
    assert len(_verified(note, first.text, witness_key)) == 1

    note = test_log.note(10)
    second = witness.add(body(3, test_log.proof(3, 10), note))
    assert second.status == 200, second.text
    assert len(_verified(note, second.text, witness_key)) == 1

    latest = witness.latest()
    assert (latest.status, latest.content_type) == (200, TEXT)
    assert latest.text.startswith(note.partition("\n\n")[0] + "\n\n")
    trusted = [TrustedWitness("w1", witness_key.public_key)]
    assert len(verify_cosignatures(latest.text, trusted)[0]) == 1

    # the same checkpoint again (old == size, same root) is cosigned again
    again = witness.add(body(10, [], note))
    assert again.status == 200, again.text

    health = request(witness.url, "GET", "/healthz")
    document = json.loads(health.body)
    assert document["status"] == "ok" and document["name"] == "w1"
    assert document["public_key"] == witness_key.public_key.to_pem().decode()


def test_a_stale_old_size_gets_409_with_the_latest_size(witness, test_log):
    empty = witness.add(body(4, test_log.proof(4, 6), test_log.note(6)))
    assert (empty.status, empty.content_type, empty.text) == (409, "text/x.tlog.size", "0\n")
    assert witness.add(body(0, [], test_log.note(5))).status == 200
    for old in (0, 3):
        proof = test_log.proof(old, 8) if old else []
        answer = witness.add(body(old, proof, test_log.note(8)))
        assert (answer.status, answer.content_type, answer.text) == (
            409,
            "text/x.tlog.size",
            "5\n",
        )
    assert _cosigned_size(witness) == 5


def test_a_bad_proof_gets_422_and_changes_nothing(witness, test_log, log_key):
    assert witness.add(body(0, [], test_log.note(5))).status == 200
    before = witness.latest().text
    proof = test_log.proof(5, 9)
    bad = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    answer = witness.add(body(5, bad, test_log.note(9)))
    assert (answer.status, answer.content_type) == (422, TEXT)
    assert answer.text.startswith("bad_proof: consistency proof")
    assert witness.add(body(5, proof[:-1], test_log.note(9))).status == 422  # too short
    assert witness.latest().text == before
    # the refused proof with a valid log signature is kept, but proves no split view
    kept = [e for e in witness.evidence() if e["kind"] == "inconsistent_proof"]
    assert len(kept) == 1 and kept[0]["old_size"] == 5
    trust = TrustStore.load(json.dumps(trust_document(ORIGIN, log_key.public_key)).encode())
    with pytest.raises(EvidenceError, match="same size"):
        verify_evidence(kept[0], trust)
    assert witness.add(body(5, proof, test_log.note(9))).status == 200


def test_unknown_origin_gets_404(witness, log_key):
    note = sign_checkpoint(Checkpoint("other.yrd/log", 1, b"\x01" * 32), log_key, "other.yrd/log")
    answer = witness.add(body(0, [], note.text))
    assert (answer.status, answer.content_type) == (404, TEXT)
    assert answer.text.startswith("unknown_origin:")
    assert request(witness.url, "GET", "/checkpoint?origin=other.yrd/log").status == 404


def test_no_trusted_log_signature_gets_403(witness, test_log):
    stranger = test_log.note(4, key=PrivateKey.generate())
    answer = witness.add(body(0, [], stranger))
    assert (answer.status, answer.content_type) == (403, TEXT)
    assert answer.text.startswith("forbidden:")
    # right key hint, body altered after signing: the signature does not verify
    honest = test_log.note(4)
    lines = honest.split("\n")
    lines[1] = "5"
    assert witness.add(body(0, [], "\n".join(lines))).status == 403
    assert _cosigned_size(witness) is None


def test_old_size_beyond_the_checkpoint_gets_400(witness, test_log):
    assert witness.add(body(0, [], test_log.note(5))).status == 200
    answer = witness.add(body(7, [], test_log.note(6)))
    assert (answer.status, answer.text.split(":")[0]) == (400, "old_size_ahead")
    assert _cosigned_size(witness) == 5


def _malformed(test_log) -> dict[str, bytes]:
    note = test_log.note(2)
    hash_line = "A" * 43 + "="
    return {
        "no blank line": f"old 0\n{note.partition(chr(10) * 2)[0]}\n".encode(),
        "64 proof lines": ("old 1\n" + (hash_line + "\n") * 64 + "\n" + note).encode(),
        "non-base64 proof line": f"old 1\n!!!notbase64!!!\n\n{note}".encode(),
        "short proof hash": f"old 1\nAAAA\n\n{note}".encode(),
        "leading zero": f"old 00\n\n{note}".encode(),
        "leading zero 2": f"old 01\n\n{note}".encode(),
        "negative": f"old -1\n\n{note}".encode(),
        "plus sign": f"old +1\n\n{note}".encode(),
        "no old line": f"\n{note}".encode(),
        "OLD": f"OLD 0\n\n{note}".encode(),
        "huge old": f"old {2**64}\n\n{note}".encode(),
        "not utf-8": b"old 0\n\n\xff\xfe" + note.encode(),
        "bad note": b"old 0\n\nnot a checkpoint\n",
        "empty": b"",
    }


def test_malformed_bodies_get_400_and_change_nothing(witness, test_log):
    for label, data in _malformed(test_log).items():
        answer = witness.add(data)
        assert (answer.status, answer.content_type) == (400, TEXT), (label, answer.text)
        assert answer.text.startswith("malformed:"), label
        assert answer.text.count("\n") == 1, label
    assert _cosigned_size(witness) is None
    # 63 proof lines is the limit, not malformed: it fails as a proof instead
    hash_line = "A" * 43 + "="
    answer = witness.add(("old 0\n" + (hash_line + "\n") * 63 + "\n" + test_log.note(2)).encode())
    assert answer.status == 422


def test_an_oversize_body_gets_413(witness, test_log):
    note = test_log.note(2)
    answer = witness.add(b"old 0\n\n" + note.encode() + b"A" * (64 << 10))
    assert (answer.status, answer.content_type) == (413, TEXT)
    assert _cosigned_size(witness) is None


def test_same_size_other_root_gets_409_and_evidence_that_verifies(witness, test_log, log_key):
    assert witness.add(body(0, [], test_log.note(5))).status == 200
    assert witness.add(body(5, test_log.proof(5, 8), test_log.note(8))).status == 200
    forged = test_log.note(5, root=b"\x07" * 32)  # the log signs a second history
    for old in (5, 0, 8):  # whatever the old size says, even one beyond the size
        answer = witness.add(body(old, [], forged))
        assert (answer.status, answer.content_type) == (409, TEXT), (old, answer.text)
        assert answer.text.startswith("conflict:")
    assert _cosigned_size(witness) == 8
    split = [e for e in witness.evidence() if e["kind"] == "split_view"]
    assert len(split) == 1  # the same offered checkpoint is recorded once
    trust = TrustStore.load(json.dumps(trust_document(ORIGIN, log_key.public_key)).encode())
    view = verify_evidence(split[0], trust)
    assert (view.origin, view.size, view.witness) == (ORIGIN, 5, "w1")
    assert {view.first.root, view.second.root} == {test_log.root(5), b"\x07" * 32}
    # at the latest size too
    forged8 = test_log.note(8, root=b"\x08" * 32)
    assert witness.add(body(8, [], forged8)).status == 409
    assert len([e for e in witness.evidence() if e["kind"] == "split_view"]) == 2


def test_other_methods_and_paths(witness):
    assert request(witness.url, "GET", "/add-checkpoint").status == 405
    assert request(witness.url, "POST", "/healthz", b"").status == 405
    assert request(witness.url, "GET", "/nope").status == 404
    assert request(witness.url, "GET", "/checkpoint").status == 400
    assert request(witness.url, "GET", "/checkpoint?a=1&b=2&c=3&d=4&e=5").status == 400
    answer = request(witness.url, "GET", f"/checkpoint?origin={ORIGIN}")
    assert (answer.status, answer.text.split(":")[0]) == (404, "not_found")
    assert witness.evidence() == []
