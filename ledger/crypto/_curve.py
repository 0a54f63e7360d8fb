"""The SM2 recommended curve (GB/T 32918.5-2017), Z_A, e, and strict signature encoding.

Shared by both backends: the backends differ only in who does the scalar arithmetic.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from . import _der
from ._sm3 import sm3

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

DEFAULT_ID = b"1234567812345678"
"""The default user ID of GB/T 32918.2 and GM/T 0009 (``1234567812345678``)."""

MAX_ID_BYTES = 8191  # ENTL is a 16-bit count of *bits*


def is_on_curve(x: int, y: int) -> bool:
    """True if (x, y) is an affine point of the SM2 curve (the identity is not)."""
    if not (0 <= x < P and 0 <= y < P):
        return False
    return (y * y - (x * x * x + A * x + B)) % P == 0


def decompress_y(x: int, odd: bool) -> int:
    """Recover y from x and its parity (P is 3 mod 4, so sqrt is one exponentiation)."""
    rhs = (x * x * x + A * x + B) % P
    y = pow(rhs, (P + 1) // 4, P)
    if y * y % P != rhs:
        raise ValueError("x is not the abscissa of a curve point")
    return y if (y & 1) == odd else P - y


def _add(p1: tuple[int, int] | None, p2: tuple[int, int] | None) -> tuple[int, int] | None:
    """Affine point addition (None is the point at infinity)."""
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        slope = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (slope * slope - x1 - x2) % P
    return x3, (slope * (x1 - x3) - y1) % P


def multiply_g(d: int) -> tuple[int, int]:
    """Q = d*G in affine coordinates, pure Python, for d in [1, n-1].

    Only where tongsuopy is missing (deriving a public key on import of a private one); like
    any Python big-integer code it is not constant-time, as gmssl's scalar code is not.
    """
    if not 1 <= d < N:
        raise ValueError("scalar outside [1, n-1]")
    result: tuple[int, int] | None = None
    addend: tuple[int, int] | None = (GX, GY)
    while d:
        if d & 1:
            result = _add(result, addend)
        addend = _add(addend, addend)
        d >>= 1
    assert result is not None  # d < n, so d*G is never the point at infinity
    return result


def _coord(v: int) -> bytes:
    return v.to_bytes(32, "big")


def z_value(x: int, y: int, user_id: bytes = DEFAULT_ID) -> bytes:
    """Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2 section 5.5)."""
    if len(user_id) > MAX_ID_BYTES:
        raise ValueError(f"sm2 user id too long: at most {MAX_ID_BYTES} bytes, got {len(user_id)}")
    entl = (len(user_id) * 8).to_bytes(2, "big")
    return sm3(
        entl + user_id + _coord(A) + _coord(B) + _coord(GX) + _coord(GY) + _coord(x) + _coord(y)
    )


def digest_e(z: bytes, message: bytes) -> bytes:
    """e = SM3(Z_A || M), the value actually signed."""
    return sm3(z + message)


def encode_signature(r: int, s: int) -> bytes:
    """DER ``SEQUENCE { r INTEGER, s INTEGER }`` (GM/T 0009-2012), by ``cryptography``."""
    return encode_dss_signature(r, s)


def decode_signature(signature: bytes) -> tuple[int, int]:
    """Parse a DER signature strictly; r and s must lie in [1, n-1].

    ``cryptography``'s decoder (Rust ``asn1``) decides: it refuses BER forms (indefinite or
    non-minimal lengths), non-minimal or negative INTEGERs, any shape but two INTEGERs and
    trailing bytes -- as strict as DER demands. It does not say which check failed, so on
    refusal our own strict reader names it; it accepts r or s = 0, so the range is ours.
    Raises ``_der.DERError`` naming the failing check.
    """
    try:
        r, s = decode_dss_signature(signature)
    except ValueError as exc:
        raise _der.DERError(_refusal(signature)) from exc
    if not 1 <= r < N:
        raise _der.DERError("signature r outside [1, n-1]")
    if not 1 <= s < N:
        raise _der.DERError("signature s outside [1, n-1]")
    return r, s


def _refusal(signature: bytes) -> str:
    """The failing check of a signature ``cryptography`` refused, found by our reader."""
    try:
        items = _der.read_sequence(_der.read_single(signature, _der.SEQUENCE))
        if len(items) != 2 or any(item.tag != _der.INTEGER for item in items):
            return "signature must be a sequence of exactly two integers"
        for item in items:
            _der.decode_integer(item.value)
    except _der.DERError as exc:
        return str(exc)
    return "malformed der signature"
