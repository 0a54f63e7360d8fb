"""Reference SM2 backend: pure Python scalar arithmetic from ``gmssl`` 3.2.2 (an extra).

gmssl is the ``reference`` extra: the gateway runs without it (the native backend does the
work), and choosing this backend without it raises ``MissingExtraError`` naming the extra.
It is used only through its public ``CryptSM2.sign``/``verify``, the final equations of
GB/T 32918.2 on a precomputed e. Its known pitfalls (ARCHITECTURE.md section 9) are worked
around here:

- ``public_key.lstrip("04")`` eats leading 0/4 digits of X, and it runs whenever the string
  starts with "04" -- even without a prefix, when X itself starts with 04. We construct it
  with no public key and set the 128-digit ``x || y`` afterwards, so lstrip never runs;
- its nonces come from ``random``: we never call its nonce source, k comes from ``secrets``
  (or from the caller, for the standard's fixed-k test vector);
- ``sign()`` expects the already-computed e: we compute e = SM3(Z_A || M) ourselves.

d*G for a key is not gmssl's business (it has no public call for it): see
``_curve.multiply_g``. Slow (tens to hundreds of operations per second); it exists to
cross-check the native backend.
"""

from __future__ import annotations

import secrets
from typing import Any

from .._extras import require
from ._curve import N, is_on_curve

__all__ = ["AVAILABLE", "EXTRA", "NAME", "check_available", "sign_digest", "verify_digest"]

NAME = "reference"
EXTRA = "reference"

try:
    from gmssl import sm2 as _gmssl

    AVAILABLE = True
except ImportError:
    AVAILABLE = False


def check_available() -> None:
    """Raise MissingExtraError, naming the extra, unless gmssl imports."""
    _gmssl_sm2()


def _gmssl_sm2() -> Any:
    if AVAILABLE:
        return _gmssl
    return require("gmssl.sm2", EXTRA, "the reference sm2 backend (gmssl)")


def _crypt(d: int | None, x: int, y: int) -> Any:
    private_hex = f"{d:064x}" if d is not None else ""
    helper = _gmssl_sm2().CryptSM2(private_key=private_hex, public_key="")
    helper.public_key = f"{x:064x}{y:064x}"  # bypasses the constructor's lstrip("04")
    return helper


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
