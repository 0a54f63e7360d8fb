"""Standard vectors: SM3 (GB/T 32905) and the SM2 signature example (GB/T 32918.5)."""

from __future__ import annotations

import pytest
from gmssl import func as gmssl_func
from gmssl import sm3 as gmssl_sm3

from ledger.crypto import PrivateKey, PublicKey, SM3Hasher, sm3, z_value
from ledger.crypto._curve import decode_signature, digest_e
from tests.vectors.loader import load

SM3_CASES = load("crypto/sm3.json")
SM2_CASES = load("crypto/sm2_sign.json")


@pytest.mark.parametrize("case", SM3_CASES, ids=[c["desc"] for c in SM3_CASES])
def test_sm3_vectors(case):
    message = case["message_ascii"].encode()
    assert sm3(message).hex() == case["digest"]
    assert gmssl_sm3.sm3_hash(gmssl_func.bytes_to_list(message)) == case["digest"]


def test_sm3_streaming_equals_one_shot():
    data = b"abcd" * 16
    hasher = SM3Hasher()
    for i in range(0, len(data), 5):
        hasher.update(data[i : i + 5])
    snapshot = hasher.copy()
    assert hasher.digest() == sm3(data)
    assert snapshot.hexdigest() == sm3(data).hex()
    with pytest.raises(ValueError, match="finalised"):
        hasher.digest()


@pytest.mark.parametrize("case", SM2_CASES, ids=[c["desc"] for c in SM2_CASES])
def test_sm2_annex_vector_through_reference(case):
    key = PrivateKey(int(case["d"], 16))
    public = key.public_key
    assert (public.x, public.y) == (int(case["x"], 16), int(case["y"], 16))
    user_id = case["user_id_ascii"].encode()
    message = case["message_ascii"].encode()
    z = z_value(public.x, public.y, user_id)
    assert z.hex() == case["z"].lower()
    assert digest_e(z, message).hex() == case["e"].lower()
    signature = key.sign_with_k(message, int(case["k"], 16), user_id)
    assert decode_signature(signature) == (int(case["r"], 16), int(case["s"], 16))
    for backend in ("reference", "native"):
        public.verify(message, signature, user_id, backend=_available(backend))


@pytest.mark.parametrize("case", SM2_CASES, ids=[c["desc"] for c in SM2_CASES])
def test_sm2_e_matches_gmssl_independent_z(case):
    from gmssl.sm2 import CryptSM2

    helper = CryptSM2(private_key="", public_key=(case["x"] + case["y"]).lower())
    assert helper._sm3_z(case["message_ascii"].encode()) == case["e"].lower()


def _available(backend: str) -> str:
    from ledger.crypto import NATIVE_AVAILABLE

    return backend if backend == "reference" or NATIVE_AVAILABLE else "reference"


def test_public_key_raw_forms_round_trip():
    key = PrivateKey.generate().public_key
    raw = key.to_bytes()
    assert PublicKey.from_bytes(raw) == key
    assert PublicKey.from_bytes(raw[1:]) == key
    assert PublicKey.from_hex(raw.hex()) == key
    assert PublicKey.from_hex(raw[1:].hex()) == key
    compressed = bytes([2 + (key.y & 1)]) + raw[1:33]
    assert PublicKey.from_bytes(compressed) == key
    assert PublicKey.from_pem(key.to_pem()) == key
    assert key.key_id == sm3(raw).hex()


def test_public_key_with_leading_zero_and_four_digits_in_x():
    """gmssl's lstrip('04') pitfall: x starting with 0/4 hex digits must survive."""
    found = 0
    for d in range(1, 4000):
        key = PrivateKey(d)
        if f"{key.public_key.x:064x}"[:2] in ("04", "00", "40", "44"):
            signature = key.sign(b"m", backend="reference")
            key.public_key.verify(b"m", signature, backend="reference")
            key.public_key.verify(b"m", signature, backend=_available("native"))
            found += 1
            if found >= 3:
                break
    assert found >= 3
