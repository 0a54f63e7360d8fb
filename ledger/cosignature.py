"""Witness cosignatures: C2SP ``tlog-cosignature`` (``cosignature/v1``) with SM2.

A witness that has checked a checkpoint is a consistent extension of everything it cosigned
before adds one signature line to the checkpoint note::

    — <witness name> base64(key hint[4] || timestamp[8, big-endian] || SM2 DER signature)

Signed bytes (C2SP ``cosignature/v1``, unchanged): two lines, then the checkpoint's whole body
(origin, size, root and any extension lines, with their newlines; no signature lines)::

    cosignature/v1
    time <timestamp: POSIX seconds, ASCII decimal, no leading zeroes>
    <origin>
    <size>
    <base64 root>

The signature is SM2 over those bytes with the default user ID ``1234567812345678``
(GB/T 32918.2), DER-encoded (GM/T 0009), so it is 70-72 bytes where Ed25519's is 64.

Key hint: the first 4 bytes of ``SM3(name || 0x0A || 0x54 || 04||x||y)``. 0x54 ("T", a
timestamped cosignature) marks an SM2 ``cosignature/v1`` key, as C2SP's 0x04 marks an
Ed25519 one; the log's own checkpoint key uses 0x53 ("S"), so one key can never pass for
the other (:func:`ledger.checkpoint.key_hint`).
"""

from __future__ import annotations

import base64
import binascii
import struct
import time
from dataclasses import dataclass

from .checkpoint import SIG_PREFIX, Checkpoint, parse_checkpoint
from .crypto import PrivateKey, PublicKey, sm3
from .errors import CheckpointError, SignatureError

__all__ = [
    "COSIGNATURE_HEADER",
    "Cosignature",
    "TrustedWitness",
    "VerifiedCosignature",
    "add_signature_lines",
    "cosign",
    "cosignature_hint",
    "cosigned_message",
    "note_body",
    "parse_cosignature_line",
    "signature_lines",
    "verify_cosignatures",
]

COSIGNATURE_HEADER = b"cosignature/v1\n"
SM2_COSIGNATURE_TYPE = b"\x54"
MAX_TIMESTAMP = 2**63 - 1


@dataclass(frozen=True, slots=True)
class TrustedWitness:
    """A witness the verifier trusts: its name (the signature line's key name) and SM2 key."""

    name: str
    public_key: PublicKey

    @property
    def hint(self) -> bytes:
        return cosignature_hint(self.name, self.public_key)


@dataclass(frozen=True, slots=True)
class Cosignature:
    """One witness signature line, parsed (not yet verified)."""

    name: str
    hint: bytes
    timestamp: int
    signature: bytes

    @property
    def line(self) -> str:
        """The note signature line, ending in a newline."""
        blob = self.hint + struct.pack(">Q", self.timestamp) + self.signature
        return f"{SIG_PREFIX}{self.name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True, slots=True)
class VerifiedCosignature:
    witness: TrustedWitness
    timestamp: int


def cosignature_hint(name: str, public: PublicKey) -> bytes:
    """The 4-byte key hint of a witness's SM2 cosignature key (see module docstring)."""
    return sm3(name.encode() + b"\n" + SM2_COSIGNATURE_TYPE + public.to_bytes())[:4]


def cosigned_message(body: bytes, timestamp: int) -> bytes:
    """The exact bytes a witness signs for checkpoint ``body`` at ``timestamp``."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CheckpointError(f"cosignature timestamp must be in [0, 2^63-1], got {timestamp}")
    return COSIGNATURE_HEADER + f"time {timestamp}\n".encode() + body


def note_body(note: str) -> bytes:
    """The body of a checkpoint note (everything before the blank line, with a final
    newline): what the log signed and what a cosignature covers."""
    body, sep, _ = note.partition("\n\n")
    if not sep:
        raise CheckpointError("checkpoint note has no blank line before its signatures")
    return (body + "\n").encode()


def cosign(
    checkpoint: Checkpoint | bytes,
    key: PrivateKey,
    name: str,
    timestamp: int | None = None,
) -> Cosignature:
    """Cosign a checkpoint (or a note body, to keep extension lines) as witness ``name``."""
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise CheckpointError("witness name must be non-empty with no spaces or '+'")
    body = checkpoint.body() if isinstance(checkpoint, Checkpoint) else checkpoint
    when = int(time.time()) if timestamp is None else timestamp
    signature = key.sign(cosigned_message(body, when))
    return Cosignature(name, cosignature_hint(name, key.public_key), when, signature)


def signature_lines(note: str) -> list[str]:
    """The signature lines of a note (without their newlines), in order."""
    _, sep, signatures = note.partition("\n\n")
    if not sep:
        raise CheckpointError("checkpoint note has no blank line before its signatures")
    lines = [line for line in signatures.split("\n") if line]
    for line in lines:
        if not line.startswith(SIG_PREFIX):
            raise CheckpointError("checkpoint signature line must start with an em dash")
    return lines


def parse_cosignature_line(line: str) -> Cosignature:
    """Parse ``— name base64(hint || timestamp || signature)``; CheckpointError if malformed."""
    if not line.startswith(SIG_PREFIX):
        raise CheckpointError("cosignature line must start with an em dash and a space")
    name, _, blob = line[len(SIG_PREFIX) :].rstrip("\n").partition(" ")
    if not name or not blob:
        raise CheckpointError("cosignature line needs a key name and a signature")
    try:
        raw = base64.b64decode(blob, validate=True)
    except binascii.Error as exc:
        raise CheckpointError("cosignature is not valid base64") from exc
    if len(raw) < 4 + 8 + 8:
        raise CheckpointError(f"cosignature too short: {len(raw)} bytes")
    (timestamp,) = struct.unpack(">Q", raw[4:12])
    if timestamp > MAX_TIMESTAMP:
        raise CheckpointError("cosignature timestamp exceeds 2^63-1")
    return Cosignature(name, raw[:4], timestamp, raw[12:])


def verify_cosignatures(
    note: str, witnesses: list[TrustedWitness]
) -> tuple[list[VerifiedCosignature], list[str]]:
    """The valid cosignatures on ``note`` by trusted witnesses, and the names of trusted
    witnesses whose line on it does not verify.

    Lines from unknown keys (name or hint not trusted), including the log's own signature,
    are ignored, as C2SP asks. A trusted witness counts once, however many lines it has.
    """
    parse_checkpoint(note)  # a well-formed checkpoint note, or CheckpointError
    body = note_body(note)
    by_key = {(w.name, w.hint): w for w in witnesses}
    valid: dict[str, VerifiedCosignature] = {}
    invalid: list[str] = []
    for line in signature_lines(note):
        name = line[len(SIG_PREFIX) :].partition(" ")[0]
        if name not in {w.name for w in witnesses}:
            continue
        try:
            cosignature = parse_cosignature_line(line)
        except CheckpointError:
            invalid.append(name)
            continue
        witness = by_key.get((cosignature.name, cosignature.hint))
        if witness is None:
            continue  # same name, another key (rotated or foreign): not ours to judge
        try:
            witness.public_key.verify(
                cosigned_message(body, cosignature.timestamp), cosignature.signature
            )
        except SignatureError:
            invalid.append(name)
            continue
        valid.setdefault(witness.name, VerifiedCosignature(witness, cosignature.timestamp))
    return list(valid.values()), [n for n in invalid if n not in valid]


def add_signature_lines(note: str, lines: list[str]) -> str:
    """``note`` with the signature ``lines`` appended, skipping any it already carries."""
    if not note.endswith("\n"):
        raise CheckpointError("checkpoint note must end with a newline")
    present = set(signature_lines(note))
    extra = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.startswith(SIG_PREFIX):
            raise CheckpointError("a signature line must start with an em dash and a space")
        if line not in present:
            present.add(line)
            extra.append(line + "\n")
    return note + "".join(extra)
