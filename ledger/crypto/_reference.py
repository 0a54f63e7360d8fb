"""Reference SM2 backend: pure Python scalar arithmetic from ``gmssl`` 3.2.2.

gmssl is used only for its point arithmetic and the final sign/verify equations. Its known
pitfalls (ARCHITECTURE.md section 9) are worked around here:

- ``public_key.lstrip("04")`` eats leading 0/4 digits of X, and it runs whenever the string
  starts with "04" -- even without a prefix, when X itself starts with 04. We construct it
  with no public key and set the 128-digit ``x || y`` afterwards, so lstrip never runs;
- its nonces come from ``random``: we never call its nonce source, k comes from ``secrets``
  (or from the caller, for the standard's fixed-k test vector);
- ``sign()`` expects the already-computed e: we compute e = SM3(Z_A || M) ourselves.

Slow (hundreds of operations per second); it exists to cross-check the native backend.
"""

from __future__ import annotations

import secrets

from gmssl import sm2 as _gmssl_sm2

from ._curve import GX, GY, N, is_on_curve

NAME = "reference"


def _crypt(d: int | None, x: int, y: int) -> _gmssl_sm2.CryptSM2:
    private_hex = f"{d:064x}" if d is not None else ""
    helper = _gmssl_sm2.CryptSM2(private_key=private_hex, public_key="")
    helper.public_key = f"{x:064x}{y:064x}"  # bypasses the constructor's lstrip("04")
    return helper


def public_point(d: int) -> tuple[int, int]:
    """Q = d*G, in affine coordinates."""
    helper = _crypt(None, GX, GY)
    point = helper._kg(d, helper.ecc_table["g"])
    return int(point[:64], 16), int(point[64:128], 16)


def sign_digest(d: int, x: int, y: int, e: bytes, k: int | None = None) -> tuple[int, int]:
    """Sign the 32-byte e with private d; k is drawn from ``secrets`` unless given."""
    helper = _crypt(d, x, y)
    while True:
        nonce = k if k is not None else secrets.randbelow(N - 1) + 1
        out = helper.sign(e, f"{nonce:064x}")
        if out is not None:
            return int(out[:64], 16), int(out[64:], 16)
        if k is not None:
            raise ValueError("the given k yields r = 0, r + k = n or s = 0")


def verify_digest(x: int, y: int, e: bytes, r: int, s: int) -> bool:
    """True if (r, s) is a valid signature of e under (x, y)."""
    if not (1 <= r < N and 1 <= s < N) or not is_on_curve(x, y):
        return False
    return bool(_crypt(None, x, y).verify(f"{r:064x}{s:064x}", e))
