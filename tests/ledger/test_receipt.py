"""Receipts verify offline, and every tampered field fails its named check."""

from __future__ import annotations

import copy
import json

import pytest

from ledger.crypto import PrivateKey
from ledger.errors import ReceiptError
from ledger.log import MerkleLog, SQLiteStore
from ledger.receipt import verify_receipt
from ledger.trust import TrustStore, trust_document

KEY = PrivateKey.generate()
ORIGIN = "test.yrd/log"


@pytest.fixture(scope="module")
def receipt(tmp_path_factory):
    path = tmp_path_factory.mktemp("receipt")
    with MerkleLog(SQLiteStore(path / "log.db"), KEY, ORIGIN) as log:
        log.append_many([b"entry-%d" % i for i in range(21)])
        return log.receipt(13, exchange_id="ex-13")


TRUST = TrustStore.load(json.dumps(trust_document(ORIGIN, KEY.public_key)).encode())


def test_valid_receipt(receipt):
    verified = verify_receipt(receipt, TRUST)
    assert (verified.leaf_index, verified.tree_size, verified.entry) == (13, 21, b"entry-13")
    assert verified.checks[-1] == "inclusion proof"


def test_bare_pem_trust(receipt):
    verify_receipt(receipt, TrustStore.load(KEY.public_key.to_pem()))


def _tampered(receipt, **changes):
    out = copy.deepcopy(receipt)
    out.update(changes)
    return out


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"format": "other"}, "receipt format"),
        ({"leaf_index": "3"}, "receipt format"),
        ({"entry": "!!"}, "receipt format"),
        ({"origin": "someone.else/log"}, "trusted log key"),
        ({"log_key_id": "00" * 32}, "trusted log key"),
        ({"tree_size": 22}, "checkpoint size"),
        ({"leaf_index": 12}, "inclusion proof"),
        ({"entry": "ZW50cnktMTI="}, "leaf hash"),
    ],
)
def test_tampered_receipt_fails_named_check(receipt, change, check):
    with pytest.raises(ReceiptError, match=check):
        verify_receipt(_tampered(receipt, **change), TRUST)


def test_tampered_proof_and_checkpoint(receipt):
    proof = list(receipt["inclusion_proof"])
    proof[0] = ("0" if proof[0][0] != "0" else "1") + proof[0][1:]
    with pytest.raises(ReceiptError, match="inclusion proof"):
        verify_receipt(_tampered(receipt, inclusion_proof=proof), TRUST)
    note = receipt["checkpoint"].replace("\n21\n", "\n22\n")
    with pytest.raises(ReceiptError, match="checkpoint signature"):
        verify_receipt(_tampered(receipt, checkpoint=note, tree_size=22), TRUST)


def test_untrusted_key(receipt):
    other_key = PrivateKey.generate().public_key
    other = TrustStore.load(other_key.to_pem())
    with pytest.raises(ReceiptError, match="trusted log key"):
        verify_receipt(receipt, other)
    # a receipt claiming the other key's id still fails on the signature itself
    with pytest.raises(ReceiptError, match="checkpoint signature"):
        verify_receipt(_tampered(receipt, log_key_id=other_key.key_id), other)
