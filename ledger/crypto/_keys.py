"""SM2 keys: generation, PEM/DER import and export, raw public keys, key ids, sign/verify.

Formats (interoperable with OpenSSL 3 and Tongsuo):

- private keys: PKCS#8 ``PRIVATE KEY`` (algorithm id-ecPublicKey with the SM2 curve OID
  1.2.156.10197.1.301); SEC1 ``EC PRIVATE KEY`` is accepted on import;
- public keys: SubjectPublicKeyInfo ``PUBLIC KEY``; raw 64-byte ``x || y`` or 65-byte
  ``04 || x || y`` (and compressed 33-byte points) as bytes or hex;
- key id: SM3 of the 65-byte uncompressed public point, hex-encoded.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
import secrets

from ..errors import KeyFormatError, SignatureError
from . import _der, _native, _reference
from ._curve import (
    DEFAULT_ID,
    GX,
    GY,
    N,
    decode_signature,
    decompress_y,
    digest_e,
    encode_signature,
    is_on_curve,
    multiply_g,
    z_value,
)
from ._sm3 import sm3

OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
OID_SM2 = "1.2.156.10197.1.301"

_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.DOTALL)


def _backend_name(requested: str | None) -> str:
    name = requested or os.environ.get("YRD_SM2_BACKEND") or "auto"
    if name == "auto":
        if _native.AVAILABLE:
            return _native.NAME
        _reference.check_available()  # no tongsuopy wheel here: gmssl is the only way
        return _reference.NAME
    if name == _native.NAME and not _native.AVAILABLE:
        raise ValueError("sm2 backend 'native' requested but tongsuopy is not installed")
    if name == _reference.NAME:
        _reference.check_available()
        return name
    if name != _native.NAME:
        raise ValueError(f"unknown sm2 backend: expected native or reference, got {name!r}")
    return name


def default_backend() -> str:
    """The backend used when none is named: native where tongsuopy loads, else reference."""
    return _backend_name(None)


def _pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    blocks = []
    for label, body in _PEM_RE.findall(data):
        if b"Proc-Type" in body:
            raise KeyFormatError("encrypted pem keys are not supported: decrypt it first")
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
        except binascii.Error as exc:
            raise KeyFormatError(f"malformed pem: bad base64 in {label.decode()} block") from exc
        blocks.append((label.decode(), der))
    if not blocks:
        raise KeyFormatError("malformed pem: no -----BEGIN ...----- block found")
    return blocks


def _check_curve_oid(oid: str) -> None:
    if oid != OID_SM2:
        raise KeyFormatError(f"wrong curve: expected sm2 ({OID_SM2}), got {oid}")


def _decode_point(raw: bytes) -> tuple[int, int]:
    if len(raw) == 65 and raw[0] == 4:
        x, y = int.from_bytes(raw[1:33], "big"), int.from_bytes(raw[33:], "big")
    elif len(raw) == 64:
        x, y = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    elif len(raw) == 33 and raw[0] in (2, 3):
        x = int.from_bytes(raw[1:], "big")
        try:
            y = decompress_y(x, odd=raw[0] == 3)
        except ValueError as exc:
            raise KeyFormatError("public key is not a point on the sm2 curve") from exc
    else:
        raise KeyFormatError(
            "public key point must be 64 bytes x||y, 65 bytes 04||x||y or 33 bytes compressed, "
            f"got {len(raw)} bytes"
        )
    if not is_on_curve(x, y):
        raise KeyFormatError("public key is not a point on the sm2 curve")
    return x, y


class PublicKey:
    """An SM2 public key (an affine point of the recommended curve)."""

    __slots__ = ("_native", "_z_cache", "x", "y")

    def __init__(self, x: int, y: int) -> None:
        if not is_on_curve(x, y):
            raise KeyFormatError("public key is not a point on the sm2 curve")
        self.x, self.y = x, y
        self._native: _native.NativeKey | None = None
        self._z_cache: dict[bytes, bytes] = {}

    # -- import -------------------------------------------------------------------------
    @classmethod
    def from_bytes(cls, raw: bytes) -> PublicKey:
        """From a raw point: 64 bytes x||y, 65 bytes 04||x||y, or 33 bytes compressed."""
        return cls(*_decode_point(raw))

    @classmethod
    def from_hex(cls, text: str) -> PublicKey:
        """From hex of a raw point, with or without the ``04`` prefix."""
        try:
            raw = bytes.fromhex(text.strip())
        except ValueError as exc:
            raise KeyFormatError("public key hex is not valid hexadecimal") from exc
        return cls.from_bytes(raw)

    @classmethod
    def from_der(cls, der: bytes) -> PublicKey:
        """From DER SubjectPublicKeyInfo."""
        try:
            spki = _der.read_sequence(_der.read_single(der, _der.SEQUENCE))
            if len(spki) != 2 or spki[0].tag != _der.SEQUENCE or spki[1].tag != _der.BIT_STRING:
                raise _der.DERError("subjectpublickeyinfo must be sequence{algorithm, bitstring}")
            algorithm = _der.read_sequence(spki[0].value)
            oids = [_der.decode_oid(a.value) for a in algorithm if a.tag == _der.OID]
        except _der.DERError as exc:
            raise KeyFormatError(f"malformed public key der: {exc}") from exc
        if not oids or oids[0] not in (OID_EC_PUBLIC_KEY, OID_SM2):
            got = oids[0] if oids else "none"
            raise KeyFormatError(f"not an ec/sm2 public key: algorithm {got}")
        if oids[0] == OID_EC_PUBLIC_KEY:
            _check_curve_oid(oids[1] if len(oids) > 1 else "none")
        bits = spki[1].value
        if not bits or bits[0] != 0:
            raise KeyFormatError("malformed public key der: bit string has unused bits")
        return cls.from_bytes(bits[1:])

    @classmethod
    def from_pem(cls, data: bytes | str) -> PublicKey:
        """From a ``PUBLIC KEY`` PEM block (the public half of a private PEM also works)."""
        raw = data.encode() if isinstance(data, str) else data
        for label, der in _pem_blocks(raw):
            if label == "PUBLIC KEY":
                return cls.from_der(der)
            if label in ("PRIVATE KEY", "EC PRIVATE KEY"):
                return PrivateKey.from_pem(raw).public_key
        raise KeyFormatError("malformed pem: expected a PUBLIC KEY block")

    # -- export -------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The 65-byte uncompressed point ``04 || x || y``."""
        return b"\x04" + self.x.to_bytes(32, "big") + self.y.to_bytes(32, "big")

    def to_hex(self) -> str:
        return self.to_bytes().hex()

    def to_der(self) -> bytes:
        algorithm = _der.encode_sequence(
            _der.encode_oid(OID_EC_PUBLIC_KEY), _der.encode_oid(OID_SM2)
        )
        return _der.encode_sequence(
            algorithm, _der.encode(_der.BIT_STRING, b"\x00" + self.to_bytes())
        )

    def to_pem(self) -> bytes:
        return _to_pem("PUBLIC KEY", self.to_der())

    @property
    def key_id(self) -> str:
        """SM3 of the uncompressed point, hex: how registries and receipts name this key."""
        return sm3(self.to_bytes()).hex()

    # -- signatures ---------------------------------------------------------------------
    def z(self, user_id: bytes = DEFAULT_ID) -> bytes:
        """Z_A for this key and user ID (cached: it depends on nothing else)."""
        cached = self._z_cache.get(user_id)
        if cached is None:
            cached = z_value(self.x, self.y, user_id)
            if len(self._z_cache) < 64:
                self._z_cache[user_id] = cached
        return cached

    def verify(
        self,
        message: bytes,
        signature: bytes,
        user_id: bytes = DEFAULT_ID,
        backend: str | None = None,
    ) -> None:
        """Verify a DER SM2 signature of ``message`` (GB/T 32918.2); raise SignatureError.

        The DER is parsed strictly first: trailing bytes, non-minimal encodings and r or s
        outside [1, n-1] are refused before any arithmetic.
        """
        try:
            r, s = decode_signature(signature)
        except _der.DERError as exc:
            raise SignatureError(f"malformed signature: {exc}") from exc
        if _backend_name(backend) == _native.NAME:
            if self._native is None:
                self._native = _native.public_key(self.x, self.y)
            if user_id == DEFAULT_ID:
                ok = self._native.verify(message, signature)
            else:
                ok = self._native.verify_digest(digest_e(self.z(user_id), message), signature)
        else:
            e = digest_e(self.z(user_id), message)
            ok = _reference.verify_digest(self.x, self.y, e, r, s)
        if not ok:
            raise SignatureError("signature does not verify: wrong key, id, message or signature")

    def is_valid(self, message: bytes, signature: bytes, user_id: bytes = DEFAULT_ID) -> bool:
        try:
            self.verify(message, signature, user_id)
        except SignatureError:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self) -> int:
        return hash((self.x, self.y))

    def __repr__(self) -> str:
        return f"PublicKey(key_id={self.key_id[:16]}...)"


class PrivateKey:
    """An SM2 private key d in [1, n-2] with its public point."""

    __slots__ = ("_d", "_native", "public_key")

    def __init__(self, d: int, public: PublicKey | None = None) -> None:
        if not 1 <= d <= N - 2:
            raise KeyFormatError("sm2 private key out of range [1, n-2]")
        self._d = d
        self.public_key = public or PublicKey(*_public_point(d))
        self._native: _native.NativeKey | None = None

    @classmethod
    def generate(cls) -> PrivateKey:
        """A fresh key: from Tongsuo's CSPRNG when native, else from ``secrets``."""
        if _native.AVAILABLE:
            d, x, y = _native.generate()
            return cls(d, PublicKey(x, y))
        return cls(secrets.randbelow(N - 2) + 1)

    @classmethod
    def from_der(cls, der: bytes) -> PrivateKey:
        """From DER PKCS#8 PrivateKeyInfo or SEC1 ECPrivateKey."""
        try:
            items = _der.read_sequence(_der.read_single(der, _der.SEQUENCE))
            if len(items) >= 3 and items[1].tag == _der.SEQUENCE:  # PKCS#8
                algorithm = _der.read_sequence(items[1].value)
                oids = [_der.decode_oid(a.value) for a in algorithm if a.tag == _der.OID]
                if not oids or oids[0] not in (OID_EC_PUBLIC_KEY, OID_SM2):
                    got = oids[0] if oids else "none"
                    raise KeyFormatError(f"not an ec/sm2 private key: algorithm {got}")
                if oids[0] == OID_EC_PUBLIC_KEY:
                    _check_curve_oid(oids[1] if len(oids) > 1 else "none")
                if items[2].tag != _der.OCTET_STRING:
                    raise _der.DERError("pkcs#8 private key must be an octet string")
                return cls._from_sec1(items[2].value, curve_required=False)
            return cls._from_sec1(der, curve_required=True)
        except _der.DERError as exc:
            raise KeyFormatError(f"malformed private key der: {exc}") from exc

    @classmethod
    def _from_sec1(cls, der: bytes, curve_required: bool) -> PrivateKey:
        items = _der.read_sequence(_der.read_single(der, _der.SEQUENCE))
        if len(items) < 2 or items[0].tag != _der.INTEGER or items[1].tag != _der.OCTET_STRING:
            raise _der.DERError("ecprivatekey must start with version and private key")
        if _der.decode_integer(items[0].value) != 1:
            raise _der.DERError("ecprivatekey version must be 1")
        curve = None
        point = None
        for item in items[2:]:
            if item.tag == _der.CONTEXT_0:
                curve = _der.decode_oid(_der.read_single(item.value, _der.OID))
            elif item.tag == _der.CONTEXT_1:
                bits = _der.read_single(item.value, _der.BIT_STRING)
                point = bits[1:]
        if curve is not None or curve_required:
            _check_curve_oid(curve or "none")
        key = cls(int.from_bytes(items[1].value, "big"))
        if point is not None and PublicKey.from_bytes(point) != key.public_key:
            raise KeyFormatError("private key's embedded public key does not match d*G")
        return key

    @classmethod
    def from_pem(cls, data: bytes | str) -> PrivateKey:
        raw = data.encode() if isinstance(data, str) else data
        for label, der in _pem_blocks(raw):
            if label in ("PRIVATE KEY", "EC PRIVATE KEY"):
                return cls.from_der(der)
            if label == "ENCRYPTED PRIVATE KEY":
                raise KeyFormatError("encrypted private keys are not supported: decrypt it first")
        raise KeyFormatError("malformed pem: expected a PRIVATE KEY block")

    def to_der(self) -> bytes:
        """PKCS#8 PrivateKeyInfo, as ``openssl genpkey -algorithm SM2`` writes it."""
        ec_private = _der.encode_sequence(
            _der.encode_integer(1),
            _der.encode(_der.OCTET_STRING, self._d.to_bytes(32, "big")),
            _der.encode(
                _der.CONTEXT_1, _der.encode(_der.BIT_STRING, b"\x00" + self.public_key.to_bytes())
            ),
        )
        algorithm = _der.encode_sequence(
            _der.encode_oid(OID_EC_PUBLIC_KEY), _der.encode_oid(OID_SM2)
        )
        return _der.encode_sequence(
            _der.encode_integer(0), algorithm, _der.encode(_der.OCTET_STRING, ec_private)
        )

    def to_pem(self) -> bytes:
        return _to_pem("PRIVATE KEY", self.to_der())

    def sign(
        self,
        message: bytes,
        user_id: bytes = DEFAULT_ID,
        backend: str | None = None,
    ) -> bytes:
        """DER SM2 signature of ``message`` with ``user_id`` (GB/T 32918.2, GM/T 0009)."""
        if _backend_name(backend) == _native.NAME:
            if self._native is None:
                self._native = _native.private_key(self._d, self.public_key.x, self.public_key.y)
            if user_id == DEFAULT_ID:
                return self._native.sign(message)
            return self._native.sign_digest(digest_e(self.public_key.z(user_id), message))
        e = digest_e(self.public_key.z(user_id), message)
        r, s = _reference.sign_digest(self._d, self.public_key.x, self.public_key.y, e)
        return encode_signature(r, s)

    def sign_with_k(self, message: bytes, k: int, user_id: bytes = DEFAULT_ID) -> bytes:
        """Deterministic signature with a caller-chosen k, for standard test vectors only."""
        e = digest_e(self.public_key.z(user_id), message)
        r, s = _reference.sign_digest(self._d, self.public_key.x, self.public_key.y, e, k=k)
        return encode_signature(r, s)

    def __repr__(self) -> str:
        return f"PrivateKey(key_id={self.public_key.key_id[:16]}...)"


def _public_point(d: int) -> tuple[int, int]:
    """d*G: by Tongsuo where it loads, else in pure Python (gmssl has no public call)."""
    return _native.public_point(d) if _native.AVAILABLE else multiply_g(d)


def _to_pem(label: str, der: bytes) -> bytes:
    body = base64.b64encode(der)
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"".join(
        [
            f"-----BEGIN {label}-----\n".encode(),
            *(ln + b"\n" for ln in lines),
            f"-----END {label}-----\n".encode(),
        ]
    )


@functools.lru_cache(maxsize=1)
def generator() -> PublicKey:
    """The base point G, occasionally handy in tests."""
    return PublicKey(GX, GY)
