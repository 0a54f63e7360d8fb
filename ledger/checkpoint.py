"""Checkpoints: the C2SP tlog-checkpoint text, signed in signed-note style with SM2.

A checkpoint note looks like this (every line ends with ``\\n``)::

    yrd.gov.cn/gateway/log          <- origin
    1234                            <- tree size, decimal
    5X2f...base64 root...=          <- root hash, standard base64
                                    <- blank line ends the body
    — yrd.gov.cn/gateway/log AbCdEf...base64(hint || signature)...

Signed bytes: the body, i.e. the three lines above including their newlines, exactly as
they appear (C2SP signed-note). The signature is SM2 over those bytes with the default user
ID ``1234567812345678`` (GB/T 32918.2), DER-encoded (GM/T 0009).

Key hint (signed-note "key ID"): the first 4 bytes of
``SM3(key_name || 0x0A || 0x53 || 04||x||y)`` where 0x53 ("S") marks an SM2 key and the
point is the 65-byte uncompressed public key. The hint only selects a key; the full key id
(SM3 of the point, :attr:`ledger.crypto.PublicKey.key_id`) is what receipts name.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from .crypto import PrivateKey, PublicKey, sm3
from .errors import CheckpointError, SignatureError

__all__ = [
    "Checkpoint",
    "SignedCheckpoint",
    "key_hint",
    "parse_checkpoint",
    "sign_checkpoint",
    "verify_checkpoint",
]

SIG_PREFIX = "\u2014 "  # em dash + space, as in signed notes
SM2_KEY_TYPE = b"\x53"
HASH_SIZE = 32


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The signed statement "log ``origin`` had ``size`` entries with root ``root``"."""

    origin: str
    size: int
    root: bytes

    def body(self) -> bytes:
        """The exact signed bytes."""
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("checkpoint origin must be one non-empty line")
        if self.size < 0:
            raise CheckpointError(f"checkpoint size must be >= 0, got {self.size}")
        if len(self.root) != HASH_SIZE:
            raise CheckpointError(
                f"checkpoint root must be {HASH_SIZE} bytes, got {len(self.root)}"
            )
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n".encode()


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    key_name: str
    hint: bytes
    signature: bytes

    @property
    def text(self) -> str:
        blob = base64.b64encode(self.hint + self.signature).decode()
        return f"{self.checkpoint.body().decode()}\n{SIG_PREFIX}{self.key_name} {blob}\n"

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root


def key_hint(key_name: str, public: PublicKey) -> bytes:
    """The 4-byte signed-note key hint of an SM2 key (see module docstring)."""
    return sm3(key_name.encode() + b"\n" + SM2_KEY_TYPE + public.to_bytes())[:4]


def sign_checkpoint(checkpoint: Checkpoint, key: PrivateKey, key_name: str) -> SignedCheckpoint:
    """Sign ``checkpoint`` with ``key`` under ``key_name`` (usually the origin)."""
    if not key_name or any(c.isspace() for c in key_name) or "+" in key_name:
        raise CheckpointError("key name must be non-empty with no spaces or '+'")
    signature = key.sign(checkpoint.body())
    return SignedCheckpoint(checkpoint, key_name, key_hint(key_name, key.public_key), signature)


def parse_checkpoint(text: str) -> SignedCheckpoint:
    """Parse a signed checkpoint note; the signature is not checked here.

    Raises :class:`CheckpointError` naming the malformed part. Extra signature lines (from
    witnesses) are allowed; the first SM2 one is returned.
    """
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint note must end with a newline")
    body, sep, signatures = text.partition("\n\n")
    if not sep:
        raise CheckpointError("checkpoint note has no blank line before its signatures")
    lines = body.split("\n")
    if len(lines) < 3:
        raise CheckpointError(
            f"checkpoint body needs origin, size and root lines, got {len(lines)}"
        )
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise CheckpointError(f"checkpoint size is not a canonical decimal: {size_text!r}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise CheckpointError("checkpoint root is not valid base64") from exc
    checkpoint = Checkpoint(origin, int(size_text), root)
    checkpoint.body()  # validates root length and origin
    for line in signatures.split("\n"):
        if not line:
            continue
        if not line.startswith(SIG_PREFIX):
            raise CheckpointError("checkpoint signature line must start with an em dash")
        name, _, blob = line[len(SIG_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error as exc:
            raise CheckpointError("checkpoint signature is not valid base64") from exc
        if len(raw) < 5:
            raise CheckpointError("checkpoint signature too short")
        return SignedCheckpoint(checkpoint, name, raw[:4], raw[4:])
    raise CheckpointError("checkpoint note has no signature line")


def _line_for(text: str, first: SignedCheckpoint, name: str, hint: bytes) -> SignedCheckpoint:
    """The signature line by key ``name`` with ``hint``, else the first line (to be refused)."""
    for line in text.partition("\n\n")[2].split("\n"):
        key_name, _, blob = line[len(SIG_PREFIX) :].partition(" ")
        if not line.startswith(SIG_PREFIX) or key_name != name:
            continue
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            continue
        if raw[:4] == hint and len(raw) > 4:
            return SignedCheckpoint(first.checkpoint, key_name, raw[:4], raw[4:])
    return first


def verify_checkpoint(
    text: str, trusted: PublicKey, origin: str | None = None, key_name: str | None = None
) -> SignedCheckpoint:
    """Parse and verify a signed checkpoint against a trusted SM2 key.

    Checks, in order: (1) the note parses; (2) the origin is the expected one, if given;
    (3) the key name and hint match the trusted key; (4) the SM2 signature over the body.
    Raises :class:`CheckpointError` naming the failed check.
    """
    # (1): parse
    signed = parse_checkpoint(text)
    # (2): origin
    if origin is not None and signed.checkpoint.origin != origin:
        raise CheckpointError(
            f"checkpoint origin mismatch: expected {origin!r}, got {signed.checkpoint.origin!r}"
        )
    # (3): key name and hint; witness cosignature lines may come before the log's own
    name = key_name or signed.key_name
    signed = _line_for(text, signed, name, key_hint(name, trusted))
    if signed.key_name != name:
        raise CheckpointError(
            f"checkpoint key name mismatch: expected {name!r}, got {signed.key_name!r}"
        )
    if signed.hint != key_hint(name, trusted):
        raise CheckpointError("checkpoint signature is by an untrusted key (key hint mismatch)")
    # (4): signature
    try:
        trusted.verify(signed.checkpoint.body(), signed.signature)
    except SignatureError as exc:
        raise CheckpointError(f"checkpoint signature invalid: {exc}") from exc
    return signed
