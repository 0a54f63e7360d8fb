"""SM4-GCM (GB/T 32907, RFC 8998 nonce size) for payload confidentiality at rest.

The sealed form is ``nonce(12) || ciphertext || tag(16)``: self-contained, so a stored blob
can be opened with only the key and the associated data it was sealed with.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import CryptoError

KEY_SIZE = 16
NONCE_SIZE = 12
TAG_SIZE = 16


def generate_sm4_key() -> bytes:
    return secrets.token_bytes(KEY_SIZE)


def sm4_gcm_seal(key: bytes, plaintext: bytes, associated_data: bytes = b"") -> bytes:
    """Encrypt and authenticate; a fresh random 96-bit nonce per call."""
    if len(key) != KEY_SIZE:
        raise CryptoError(f"sm4 key must be {KEY_SIZE} bytes, got {len(key)}")
    nonce = secrets.token_bytes(NONCE_SIZE)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(associated_data)
    body = encryptor.update(plaintext) + encryptor.finalize()
    return nonce + body + encryptor.tag


def sm4_gcm_open(key: bytes, sealed: bytes, associated_data: bytes = b"") -> bytes:
    """Decrypt and check the tag; any tampering raises CryptoError (no detail leaks)."""
    if len(key) != KEY_SIZE:
        raise CryptoError(f"sm4 key must be {KEY_SIZE} bytes, got {len(key)}")
    if len(sealed) < NONCE_SIZE + TAG_SIZE:
        raise CryptoError("sm4-gcm blob too short: missing nonce or tag")
    nonce, body, tag = sealed[:NONCE_SIZE], sealed[NONCE_SIZE:-TAG_SIZE], sealed[-TAG_SIZE:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(associated_data)
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag as exc:
        raise CryptoError("sm4-gcm authentication failed: wrong key, data or tag") from exc
