"""Native SM2 backend on Tongsuo (``tongsuopy``), the BabaSSL/Tongsuo libcrypto.

We sign and verify the 32-byte e = SM3(Z_A || M) with ``EVP_PKEY_sign``/``EVP_PKEY_verify``
on an SM2 key: Tongsuo then does only the scalar work, natively and with the GIL released.
Computing e in Python (SM3 from ``cryptography``) lets any user ID work natively and lets us
cache Z_A per key and ID, which is why this path keeps up with ``openssl speed sm2``.

``AVAILABLE`` is False where tongsuopy has no wheel; callers then use the reference backend.
"""

from __future__ import annotations

import threading
from typing import Any

from ._curve import N, encode_signature, is_on_curve

NAME = "native"

try:  # pragma: no cover - the import either works or it does not, per platform
    from tongsuopy.backends.tongsuo.backend import backend as _backend
    from tongsuopy.crypto.asymciphers import ec as _ec

    _lib = _backend._lib
    _ffi = _backend._ffi
    AVAILABLE = True
except ImportError:  # pragma: no cover
    AVAILABLE = False

_MAX_SIG = 80


class NativeKey:
    """An SM2 key held by Tongsuo, with one signing/verifying context per thread."""

    __slots__ = ("_key", "_local", "_private")

    def __init__(self, key: Any, private: bool) -> None:
        self._key = key
        self._private = private
        self._local = threading.local()

    def _ctx(self) -> Any:
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            raw = _lib.EVP_PKEY_CTX_new(self._key._evp_pkey, _ffi.NULL)
            if raw == _ffi.NULL:
                raise RuntimeError("tongsuo: EVP_PKEY_CTX_new failed")
            ctx = _ffi.gc(raw, _lib.EVP_PKEY_CTX_free)
            init = _lib.EVP_PKEY_sign_init if self._private else _lib.EVP_PKEY_verify_init
            if init(ctx) != 1:
                _backend._consume_errors()
                raise RuntimeError("tongsuo: sign/verify init failed for this key")
            self._local.ctx = ctx
        return ctx

    def sign_digest(self, e: bytes) -> bytes:
        """DER signature of the 32-byte e."""
        ctx = self._ctx()
        siglen = _ffi.new("size_t *", _MAX_SIG)
        buf = _ffi.new("unsigned char[]", _MAX_SIG)
        if _lib.EVP_PKEY_sign(ctx, buf, siglen, e, len(e)) != 1:
            _backend._consume_errors()
            raise RuntimeError("tongsuo: EVP_PKEY_sign failed")
        return _ffi.buffer(buf)[: siglen[0]]

    def verify_digest(self, e: bytes, der_signature: bytes) -> bool:
        """True if the DER signature is valid for e (parse strictly before calling this)."""
        ctx = self._ctx()
        res = _lib.EVP_PKEY_verify(ctx, der_signature, len(der_signature), e, len(e))
        if res != 1:
            _backend._consume_errors()
        return res == 1


def private_key(d: int, x: int, y: int) -> NativeKey:
    public = _ec.EllipticCurvePublicNumbers(x, y, _ec.SM2())
    key = _ec.EllipticCurvePrivateNumbers(d, public).private_key()
    return NativeKey(key, private=True)


def public_key(x: int, y: int) -> NativeKey:
    return NativeKey(_ec.EllipticCurvePublicNumbers(x, y, _ec.SM2()).public_key(), private=False)


def generate() -> tuple[int, int, int]:
    """A fresh key pair from Tongsuo's CSPRNG: (d, x, y)."""
    key = _ec.generate_private_key(_ec.SM2())
    numbers = key.private_numbers()
    return numbers.private_value, numbers.public_numbers.x, numbers.public_numbers.y


def sign_digest(key: NativeKey, e: bytes) -> bytes:
    return key.sign_digest(e)


def verify_digest(key: NativeKey, x: int, y: int, e: bytes, r: int, s: int) -> bool:
    if not (1 <= r < N and 1 <= s < N) or not is_on_curve(x, y):
        return False
    return key.verify_digest(e, encode_signature(r, s))
