"""Strict DER and key parsing: every malformed input has a named refusal."""

from __future__ import annotations

import base64

import pytest

from ledger.crypto import N, PrivateKey, PublicKey
from ledger.crypto._curve import encode_signature
from ledger.crypto._der import encode, encode_integer, encode_sequence
from ledger.errors import KeyFormatError, SignatureError

KEY = PrivateKey.generate()
MESSAGE = b"strict"
GOOD = KEY.sign(MESSAGE)


def _refused(signature: bytes, match: str) -> None:
    for backend in ("reference", "native"):
        with pytest.raises(SignatureError, match=match):
            KEY.public_key.verify(MESSAGE, signature, backend=backend)


def test_good_signature_verifies():
    KEY.public_key.verify(MESSAGE, GOOD)


def test_trailing_bytes_rejected():
    _refused(GOOD + b"\x00", "trailing bytes")


def test_truncated_der_rejected():
    _refused(GOOD[:-1], "truncated")
    _refused(b"", "truncated")


def test_non_minimal_integer_rejected():
    from ledger.crypto._curve import decode_signature

    r, s = decode_signature(GOOD)
    padded_r = encode(0x02, b"\x00" + encode_integer(r)[2:])
    if encode_integer(r)[2] == 0:  # already has a sign byte: add one more zero
        padded_r = encode(0x02, b"\x00" + encode_integer(r)[2:])
    _refused(encode_sequence(padded_r, encode_integer(s)), "non-minimal der integer")


def test_long_form_length_for_short_value_rejected():
    body = GOOD[2:]
    _refused(b"\x30\x81" + bytes([len(body)]) + body, "non-minimal der length")


def test_r_or_s_out_of_range_rejected():
    _refused(encode_signature(0, 5), "r outside")
    _refused(encode_signature(5, N), "s outside")
    _refused(encode_signature(N + 1, 5), "r outside")


def test_negative_integer_rejected():
    _refused(encode_sequence(encode(0x02, b"\x80\x01"), encode_integer(1)), "negative")


def test_three_integers_rejected():
    _refused(encode_sequence(encode_integer(1), encode_integer(2), encode_integer(3)), "two")


P256_PKCS8 = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDAVSMm0Ssl8uHBjr\n"
    "CM5d0BH2Y0/U2cEOdshJ6TJO67ehRANCAATGpsg/jf3xXuijdm3zhXnMzaLWdXC7\n"
    "kCjWCxN5BoTIgdrFj4HtH/W7pcH2eS5grpxwTwrN4PdGyvtfrnQ/fT3U\n"
    "-----END PRIVATE KEY-----\n"
)


def test_wrong_curve_private_key_refused():
    with pytest.raises(KeyFormatError, match="wrong curve"):
        PrivateKey.from_pem(P256_PKCS8)


def test_malformed_pem_refused():
    with pytest.raises(KeyFormatError, match="no -----BEGIN"):
        PrivateKey.from_pem(b"not a key")
    with pytest.raises(KeyFormatError, match="base64"):
        PrivateKey.from_pem(b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n")
    der = base64.b64decode(b"".join(KEY.to_pem().splitlines()[1:-1]))
    truncated = base64.b64encode(der[:-5])
    with pytest.raises(KeyFormatError, match="malformed private key der"):
        PrivateKey.from_pem(
            b"-----BEGIN PRIVATE KEY-----\n" + truncated + b"\n-----END PRIVATE KEY-----\n"
        )


def test_public_key_not_on_curve_refused():
    raw = bytearray(KEY.public_key.to_bytes())
    raw[-1] ^= 1
    with pytest.raises(KeyFormatError, match="not a point"):
        PublicKey.from_bytes(bytes(raw))
    with pytest.raises(KeyFormatError, match="64 bytes"):
        PublicKey.from_bytes(b"\x04" + b"\x01" * 10)
    with pytest.raises(KeyFormatError, match="hexadecimal"):
        PublicKey.from_hex("zz")


def test_private_key_out_of_range_refused():
    with pytest.raises(KeyFormatError, match="out of range"):
        PrivateKey(0)
    with pytest.raises(KeyFormatError, match="out of range"):
        PrivateKey(N - 1)
