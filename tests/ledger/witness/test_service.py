"""The protocol class and its store in process (a real store on disk, an injected clock):
what the HTTP tests cannot reach, the clock going back and the store's own guard."""

from __future__ import annotations

import json

import pytest

from ledger.cosignature import parse_cosignature_line
from ledger.crypto import PrivateKey
from ledger.errors import StorageError
from ledger.trust import TrustStore, trust_document
from ledger.witness import MAX_BODY, Cosigned, Witness, WitnessCode, WitnessError, WitnessStore

from .conftest import ORIGIN, body


@pytest.fixture
def store(tmp_path):
    store = WitnessStore(tmp_path / "data")
    yield store
    store.close()


def _witness(store, test_log, clock) -> Witness:
    trust = TrustStore.load(json.dumps(trust_document(ORIGIN, test_log.key.public_key)).encode())
    return Witness("w1", PrivateKey.generate(), trust, store, clock=clock)


def test_cosignature_time_never_goes_back_for_an_origin(store, test_log):
    times = iter([1_000_000, 999_000, 1_000_500])
    witness = _witness(store, test_log, lambda: next(times))
    stamps = []
    for old, new in ((0, 3), (3, 5), (5, 9)):
        proof = test_log.proof(old, new) if old else []
        answer = witness.add_checkpoint(body(old, proof, test_log.note(new)))
        assert answer.status == 200, answer.body
        stamps.append(parse_cosignature_line(answer.body.decode()).timestamp)
    assert stamps == [1_000_000, 1_000_000, 1_000_500]


def test_the_store_refuses_to_move_backwards(store):
    with store.transaction() as tx:
        tx.record_cosigned(Cosigned(ORIGIN, 7, b"\x01" * 32, "n7", 1))
    with pytest.raises(StorageError, match="never move backwards"), store.transaction() as tx:
        tx.record_cosigned(Cosigned(ORIGIN, 6, b"\x02" * 32, "n6", 2))
    latest = store.latest(ORIGIN)
    assert latest is not None and (latest.size, latest.note) == (7, "n7")


def test_refusals_carry_their_code_and_status(store, test_log):
    witness = _witness(store, test_log, lambda: 1)
    assert witness.add_checkpoint(b"x" * (MAX_BODY + 1)).code is WitnessCode.TOO_LARGE
    answer = witness.add_checkpoint(body(3, [], test_log.note(5)))
    assert (answer.status, answer.code, answer.body) == (
        409,
        WitnessCode.STALE_OLD_SIZE,
        b"0\n",
    )


def test_a_witness_needs_a_name_and_origins(store, test_log):
    bare = TrustStore.load(test_log.key.public_key.to_pem())
    with pytest.raises(WitnessError) as info:
        Witness("w1", PrivateKey.generate(), bare, store)
    assert info.value.code is WitnessCode.CONFIG
    trust = TrustStore.load(json.dumps(trust_document(ORIGIN, test_log.key.public_key)).encode())
    for name in ("", "a b", "a+b"):
        with pytest.raises(WitnessError):
            Witness(name, PrivateKey.generate(), trust, store)
