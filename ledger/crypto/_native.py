"""Native SM2 backend on Tongsuo (``tongsuopy``), the BabaSSL/Tongsuo libcrypto.

Default user ID (every signature the gateway itself makes or checks): tongsuopy's public
API, ``sign(message, ECDSA(SM3()))`` and ``verify``. Tongsuo computes Z_A and
e = SM3(Z_A || M) itself and does the scalar work natively, with the GIL released.

Any other user ID (``yrdgw sign/verify --id``): tongsuopy 1.0.1 has no public way to set the
SM2 distinguishing ID (``EVP_PKEY_CTX_set1_id`` is not bound) nor to sign a precomputed
digest (its ``Prehashed`` is not accepted by ``ECDSA``), so there we compute e ourselves and
call ``EVP_PKEY_sign``/``EVP_PKEY_verify`` through the binding's private ``_lib``/``_ffi``
and the key's private ``_evp_pkey``. The alternative, the pure-Python reference backend, is
a hundred times slower. That is why pyproject.toml pins tongsuopy to one version, and
tests/ledger/test_crypto_native.py fails loudly if those private names change.

``AVAILABLE`` is False where tongsuopy has no wheel; callers then use the reference backend.
"""

from __future__ import annotations

import threading
from typing import Any

from ..errors import CryptoError

__all__ = [
    "AVAILABLE",
    "NAME",
    "NativeKey",
    "generate",
    "private_key",
    "public_key",
    "public_point",
]

NAME = "native"

try:  # pragma: no cover - the import either works or it does not, per platform
    from tongsuopy.crypto import hashes as _hashes
    from tongsuopy.crypto.asymciphers import ec as _ec
    from tongsuopy.crypto.exceptions import InvalidSignature as _InvalidSignature

    _SM2_SM3 = _ec.ECDSA(_hashes.SM3())  # with an SM2 key, Tongsuo signs SM2 with SM3
    AVAILABLE = True
except ImportError:  # pragma: no cover
    AVAILABLE = False

_MAX_SIG = 80
_PRIVATE_LIB_NAMES = (
    "EVP_PKEY_CTX_new",
    "EVP_PKEY_CTX_free",
    "EVP_PKEY_sign_init",
    "EVP_PKEY_verify_init",
    "EVP_PKEY_sign",
    "EVP_PKEY_verify",
)


class _Private:
    """tongsuopy's private names that signing a precomputed digest needs (see above)."""

    __slots__ = ("backend", "ffi", "lib")

    def __init__(self) -> None:
        from tongsuopy.backends.tongsuo.backend import backend

        self.backend = backend
        self.lib = backend._lib
        self.ffi = backend._ffi
        for name in _PRIVATE_LIB_NAMES:  # fail here, not on the first custom-id signature
            getattr(self.lib, name)
        if not callable(backend._consume_errors):
            raise AttributeError("backend._consume_errors is not callable")

    def consume_errors(self) -> None:
        self.backend._consume_errors()


_private: _Private | None = None
_private_lock = threading.Lock()


def _private_api() -> _Private:
    """The private names, checked once; a changed tongsuopy fails here, naming the pin."""
    global _private
    if _private is not None:
        return _private
    with _private_lock:
        if _private is None:
            try:
                _private = _Private()
            except (ImportError, AttributeError) as exc:
                raise CryptoError(
                    "tongsuopy private api for custom sm2 ids changed: expected tongsuopy "
                    f"1.0.1 (pinned in pyproject.toml), got {exc}"
                ) from exc
        return _private


class NativeKey:
    """An SM2 key held by Tongsuo, with one raw signing/verifying context per thread."""

    __slots__ = ("_key", "_local", "_private")

    def __init__(self, key: Any, private: bool) -> None:
        self._key = key
        self._private = private
        self._local = threading.local()

    # -- default user ID: public API ------------------------------------------------------
    def sign(self, message: bytes) -> bytes:
        """DER SM2 signature of ``message`` with the default user ID."""
        return bytes(self._key.sign(message, _SM2_SM3))

    def verify(self, message: bytes, der_signature: bytes) -> bool:
        """True if the DER signature of ``message`` is valid with the default user ID.

        Parse the signature strictly before calling this: Tongsuo is not the gate.
        """
        try:
            self._key.verify(der_signature, message, _SM2_SM3)
        except _InvalidSignature:
            return False
        return True

    # -- any other user ID: precomputed e, private API ---------------------------------------
    def _ctx(self, api: _Private) -> Any:
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            raw = api.lib.EVP_PKEY_CTX_new(self._key._evp_pkey, api.ffi.NULL)
            if raw == api.ffi.NULL:
                raise CryptoError("tongsuo: EVP_PKEY_CTX_new failed")
            ctx = api.ffi.gc(raw, api.lib.EVP_PKEY_CTX_free)
            init = api.lib.EVP_PKEY_sign_init if self._private else api.lib.EVP_PKEY_verify_init
            if init(ctx) != 1:
                api.consume_errors()
                raise CryptoError("tongsuo: sign/verify init failed for this key")
            self._local.ctx = ctx
        return ctx

    def sign_digest(self, e: bytes) -> bytes:
        """DER signature of the 32-byte e = SM3(Z_A || M), for a custom user ID."""
        api = _private_api()
        ctx = self._ctx(api)
        siglen = api.ffi.new("size_t *", _MAX_SIG)
        buf = api.ffi.new("unsigned char[]", _MAX_SIG)
        if api.lib.EVP_PKEY_sign(ctx, buf, siglen, e, len(e)) != 1:
            api.consume_errors()
            raise CryptoError("tongsuo: EVP_PKEY_sign failed")
        return bytes(api.ffi.buffer(buf)[: siglen[0]])

    def verify_digest(self, e: bytes, der_signature: bytes) -> bool:
        """True if the DER signature is valid for e (parse strictly before calling this)."""
        api = _private_api()
        ctx = self._ctx(api)
        res = api.lib.EVP_PKEY_verify(ctx, der_signature, len(der_signature), e, len(e))
        if res != 1:
            api.consume_errors()
        return bool(res == 1)


def private_key(d: int, x: int, y: int) -> NativeKey:
    public = _ec.EllipticCurvePublicNumbers(x, y, _ec.SM2())
    key = _ec.EllipticCurvePrivateNumbers(d, public).private_key()
    return NativeKey(key, private=True)


def public_key(x: int, y: int) -> NativeKey:
    return NativeKey(_ec.EllipticCurvePublicNumbers(x, y, _ec.SM2()).public_key(), private=False)


def public_point(d: int) -> tuple[int, int]:
    """Q = d*G, computed by Tongsuo."""
    numbers = _ec.derive_private_key(d, _ec.SM2()).public_key().public_numbers()
    return numbers.x, numbers.y


def generate() -> tuple[int, int, int]:
    """A fresh key pair from Tongsuo's CSPRNG: (d, x, y)."""
    key = _ec.generate_private_key(_ec.SM2())
    numbers = key.private_numbers()
    return numbers.private_value, numbers.public_numbers.x, numbers.public_numbers.y
