"""SM4-GCM helpers: round trip, tamper detection, key and blob checks."""

from __future__ import annotations

import pytest

from ledger.crypto import generate_sm4_key, sm4_gcm_open, sm4_gcm_seal
from ledger.errors import CryptoError

# RFC 8998 Appendix A.1 (SM4-GCM) test vector.
RFC8998_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
RFC8998_IV = bytes.fromhex("00001234567800000000ABCD")
RFC8998_AAD = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
RFC8998_PT = bytes.fromhex(
    "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
    "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
)
RFC8998_CT = bytes.fromhex(
    "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
    "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
)
RFC8998_TAG = bytes.fromhex("83DE3541E4C2B58177E065A9BF7B62EC")


def test_rfc8998_vector_opens():
    sealed = RFC8998_IV + RFC8998_CT + RFC8998_TAG
    assert sm4_gcm_open(RFC8998_KEY, sealed, RFC8998_AAD) == RFC8998_PT


def test_round_trip_and_fresh_nonces():
    key = generate_sm4_key()
    a = sm4_gcm_seal(key, b"material bytes", b"case-1")
    b = sm4_gcm_seal(key, b"material bytes", b"case-1")
    assert a != b  # a fresh nonce each time
    assert sm4_gcm_open(key, a, b"case-1") == b"material bytes"


@pytest.mark.parametrize("position", [0, 12, -1])
def test_any_flipped_byte_is_refused(position):
    key = generate_sm4_key()
    sealed = bytearray(sm4_gcm_seal(key, b"payload", b"ad"))
    sealed[position] ^= 0x01
    with pytest.raises(CryptoError, match="authentication failed"):
        sm4_gcm_open(key, bytes(sealed), b"ad")


def test_wrong_associated_data_or_key_is_refused():
    key = generate_sm4_key()
    sealed = sm4_gcm_seal(key, b"payload", b"case-1")
    with pytest.raises(CryptoError, match="authentication failed"):
        sm4_gcm_open(key, sealed, b"case-2")
    with pytest.raises(CryptoError, match="authentication failed"):
        sm4_gcm_open(generate_sm4_key(), sealed, b"case-1")


def test_bad_key_and_short_blob():
    with pytest.raises(CryptoError, match="16 bytes"):
        sm4_gcm_seal(b"short", b"x")
    with pytest.raises(CryptoError, match="too short"):
        sm4_gcm_open(generate_sm4_key(), b"tiny")
