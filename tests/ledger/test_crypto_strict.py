"""Strict DER and key parsing: every malformed input has a named refusal."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.crypto import N, PrivateKey, PublicKey
from ledger.crypto._curve import decode_signature, encode_signature
from ledger.crypto._der import (
    INTEGER,
    SEQUENCE,
    DERError,
    decode_integer,
    decode_oid,
    encode,
    encode_integer,
    encode_oid,
    encode_sequence,
    read_sequence,
    read_single,
)
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


@pytest.mark.parametrize("r", [0x7F << 248, 0x80 << 248], ids=["high-bit-clear", "sign-byte"])
def test_non_minimal_integer_rejected(r: int) -> None:
    # One superfluous zero byte in front of r's minimal contents, whether those contents
    # already begin with a sign byte (00 00 80 ...) or not (00 7f ...).
    minimal = encode_integer(r)[2:]
    padded_r = encode(0x02, b"\x00" + minimal)
    _refused(encode_sequence(padded_r, encode_integer(5)), "non-minimal der integer")


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


def test_indefinite_length_rejected():
    # BER's indefinite form: 30 80 <contents> 00 00.
    _refused(b"\x30\x80" + GOOD[2:] + b"\x00\x00", "indefinite length")


def test_zero_r_or_s_rejected():
    # cryptography's decoder accepts zero; the range check is ours.
    _refused(encode_signature(0, 1), "r outside")
    _refused(encode_signature(1, 0), "s outside")


def test_signature_encoding_is_minimal_der():
    for value in (1, 0x7F, 0x80, 0xFF, 0x100, N - 1):
        signature = encode_signature(value, value)
        assert decode_signature(signature) == (value, value)
        assert signature == encode_sequence(encode_integer(value), encode_integer(value))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 200), st.binary(min_size=1, max_size=3), st.booleans())
def test_our_reader_and_cryptography_agree_on_mutated_signatures(pos, patch, insert):
    """Whatever cryptography accepts parses under our strict reader, and the other way."""
    pos %= len(GOOD) + 1
    data = GOOD[:pos] + patch + GOOD[pos + (0 if insert else len(patch)) :]
    try:
        decode_dss_signature(data)
        theirs = True
    except ValueError:
        theirs = False
    assert _our_reader_accepts(data) == theirs, data.hex()


def _our_reader_accepts(data: bytes) -> bool:
    try:
        items = read_sequence(read_single(data, SEQUENCE))
        if len(items) != 2 or any(item.tag != INTEGER for item in items):
            return False
        for item in items:
            decode_integer(item.value)
    except DERError:
        return False
    return True


@pytest.mark.parametrize(
    ("contents", "match"),
    [
        (b"", "empty der oid"),
        (b"\x2a\x86", "truncated der oid"),
        (b"\x2a\x80\x86\x48", "non-minimal der oid"),  # 1.2.840 with a leading 0x80 byte
        (b"\x80\x2a", "non-minimal der oid"),  # a padded first subidentifier
        (b"\x2a\x86\x48\x80\x01", "non-minimal der oid"),  # 1.2.840 then a padded 1
    ],
)
def test_non_strict_oid_refused(contents: bytes, match: str) -> None:
    with pytest.raises(DERError, match=match):
        decode_oid(contents)


@pytest.mark.parametrize(
    "dotted", ["1.2.156.10197.1.301", "1.2.840.10045.2.1", "2.999.1", "0.0", "1.2.128.16383"]
)
def test_oid_round_trips(dotted: str) -> None:
    assert decode_oid(encode_oid(dotted)[2:]) == dotted


def test_public_key_with_padded_curve_oid_refused():
    """A SubjectPublicKeyInfo whose curve OID has a 0x80 pad byte is not the SM2 OID."""
    der = KEY.public_key.to_der()
    curve = encode_oid("1.2.156.10197.1.301")
    assert der.count(curve) == 1
    padded_body = b"\x2a\x80\x81\x1c" + curve[5:]  # 1.2.156 with 156 as 80 81 1c
    padded = encode(0x06, padded_body)
    algorithm = encode_sequence(encode_oid("1.2.840.10045.2.1"), padded)
    spki = encode_sequence(algorithm, encode(0x03, b"\x00" + KEY.public_key.to_bytes()))
    with pytest.raises(KeyFormatError, match="non-minimal der oid"):
        PublicKey.from_der(spki)


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
