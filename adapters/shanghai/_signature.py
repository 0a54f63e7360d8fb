"""SM2 signatures in JWS form: the fixed 64-byte ``r || s`` of RFC 7518 §3.4, not DER.

``ledger.crypto`` signs and verifies DER (``SEQUENCE { INTEGER r, INTEGER s }``); Shanghai's
ID token carries the signature the way JOSE carries ECDSA ones, each integer as 32 unsigned
big-endian bytes. These two functions convert between the forms, strictly.
"""

from __future__ import annotations

__all__ = ["RAW_SIZE", "der_to_raw", "raw_to_der"]

RAW_SIZE = 64
_HALF = RAW_SIZE // 2


def _der_integer(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 8) // 8, "big")  # minimal, sign bit clear
    return b"\x02" + bytes([len(body)]) + body


def raw_to_der(raw: bytes) -> bytes:
    """DER of a 64-byte ``r || s`` (``ValueError`` on another length); range checks are
    left to the verifier, which refuses r or s outside [1, n-1]."""
    if len(raw) != RAW_SIZE:
        raise ValueError(f"expected {RAW_SIZE} bytes r||s, got {len(raw)}")
    r, s = int.from_bytes(raw[:_HALF], "big"), int.from_bytes(raw[_HALF:], "big")
    body = _der_integer(r) + _der_integer(s)
    return b"\x30" + bytes([len(body)]) + body


def der_to_raw(der: bytes) -> bytes:
    """The 64-byte ``r || s`` of a DER SM2 signature (``ValueError`` if it is not one)."""
    if len(der) < 8 or der[0] != 0x30 or der[1] != len(der) - 2:
        raise ValueError("expected a DER SEQUENCE")
    pos, values = 2, []
    for _ in range(2):
        if pos + 2 > len(der) or der[pos] != 0x02:
            raise ValueError("expected a DER INTEGER")
        size = der[pos + 1]
        body = der[pos + 2 : pos + 2 + size]
        if len(body) != size or not 0 < size <= _HALF + 1 or body[0] & 0x80:
            raise ValueError("expected a positive INTEGER of at most 256 bits")
        values.append(int.from_bytes(body, "big"))
        pos += 2 + size
    if pos != len(der) or any(v.bit_length() > 8 * _HALF for v in values):
        raise ValueError("expected exactly two 256-bit INTEGERs")
    return b"".join(v.to_bytes(_HALF, "big") for v in values)
