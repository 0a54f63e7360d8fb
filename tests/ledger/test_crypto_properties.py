"""Property tests: both backends interchange, and any flipped bit is refused."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.crypto import NATIVE_AVAILABLE, PrivateKey, PublicKey
from ledger.errors import KeyFormatError, SignatureError

BACKENDS = ["reference", "native"] if NATIVE_AVAILABLE else ["reference"]
KEYS = [PrivateKey.generate() for _ in range(4)]
SIGNATURES = [key.sign(b"payload") for key in KEYS]

messages = st.binary(max_size=256)
user_ids = st.one_of(st.just(b"1234567812345678"), st.binary(min_size=0, max_size=40))
common = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(
    key=st.sampled_from(KEYS), message=messages, user_id=user_ids, signer=st.sampled_from(BACKENDS)
)
def test_any_backend_verifies_any_backend(key, message, user_id, signer):
    signature = key.sign(message, user_id, backend=signer)
    for verifier in BACKENDS:
        key.public_key.verify(message, signature, user_id, backend=verifier)


@common
@given(key=st.sampled_from(KEYS), message=st.binary(min_size=1, max_size=64), data=st.data())
def test_flipped_message_bit_rejected(key, message, data):
    signature = key.sign(message)
    bit = data.draw(st.integers(0, len(message) * 8 - 1))
    tampered = bytearray(message)
    tampered[bit // 8] ^= 1 << (bit % 8)
    for verifier in BACKENDS:
        with pytest.raises(SignatureError):
            key.public_key.verify(bytes(tampered), signature, backend=verifier)


@common
@given(key=st.sampled_from(KEYS), data=st.data())
def test_flipped_signature_bit_rejected(key, data):
    signature = SIGNATURES[KEYS.index(key)]
    bit = data.draw(st.integers(0, len(signature) * 8 - 1))
    tampered = bytearray(signature)
    tampered[bit // 8] ^= 1 << (bit % 8)
    for verifier in BACKENDS:
        with pytest.raises(SignatureError):
            key.public_key.verify(b"payload", bytes(tampered), backend=verifier)


@common
@given(key=st.sampled_from(KEYS), data=st.data())
def test_flipped_public_key_bit_rejected(key, data):
    signature = key.sign(b"payload")
    raw = bytearray(key.public_key.to_bytes())
    bit = data.draw(st.integers(8, len(raw) * 8 - 1))  # leave the 04 prefix alone
    raw[bit // 8] ^= 1 << (bit % 8)
    try:
        other = PublicKey.from_bytes(bytes(raw))
    except KeyFormatError:
        return  # not on the curve: refused at import, as it should be
    for verifier in BACKENDS:
        with pytest.raises(SignatureError):
            other.verify(b"payload", signature, backend=verifier)


@common
@given(key=st.sampled_from(KEYS), user_id=st.binary(min_size=1, max_size=20))
def test_wrong_user_id_rejected(key, user_id):
    signature = key.sign(b"payload", user_id + b"x")
    for verifier in BACKENDS:
        with pytest.raises(SignatureError):
            key.public_key.verify(b"payload", signature, user_id, backend=verifier)


def test_pem_round_trip_and_signatures_survive():
    key = PrivateKey.generate()
    again = PrivateKey.from_pem(key.to_pem())
    assert again.public_key == key.public_key
    key.public_key.verify(b"x", again.sign(b"x"))
