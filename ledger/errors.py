"""Errors raised by the ledger package.

Hierarchy::

    Error
    ├── CryptoError
    │   ├── KeyFormatError        malformed or unsupported key material
    │   └── SignatureError        a signature failed to parse or to verify
    ├── ProofError (ValueError)   a Merkle proof failed a named check
    ├── CheckpointError           a checkpoint is malformed, badly signed or inconsistent
    ├── ReceiptError              a receipt is malformed or does not verify
    └── StorageError              the durable log could not read or write
        └── IntegrityError        the stored log contradicts its own signed history

Messages are lowercase, name the failing check, and say expected vs got.
"""

from __future__ import annotations

import enum

__all__ = [
    "CheckpointError",
    "CryptoError",
    "Error",
    "IntegrityCode",
    "IntegrityError",
    "KeyFormatError",
    "ProofError",
    "ReceiptError",
    "SignatureError",
    "StorageError",
]


class Error(Exception):
    """Root of every error the ledger package raises on purpose."""


class CryptoError(Error):
    """A cryptographic operation could not be carried out."""


class KeyFormatError(CryptoError, ValueError):
    """Key material is malformed, on the wrong curve, or of an unsupported type."""


class SignatureError(CryptoError):
    """A signature is malformed (strict DER) or does not verify."""


class ProofError(Error, ValueError):
    """A Merkle inclusion or consistency proof failed a named check."""


class CheckpointError(Error, ValueError):
    """A checkpoint is malformed, badly signed, or inconsistent with an earlier one."""


class ReceiptError(Error, ValueError):
    """A receipt is malformed or one of its checks failed."""


class StorageError(Error):
    """The durable store could not be read or written."""


class IntegrityCode(enum.Enum):
    """What an integrity check of the stored log found (the machine code of IntegrityError)."""

    MISSING_ENTRY = "missing_entry"
    """The leaf indexes are not 0..n-1 without a gap."""
    SUBTREE_MISMATCH = "subtree_mismatch"
    """A stored subtree hash differs from the one recomputed from the entries."""
    SUBTREE_MISSING = "subtree_missing"
    """A stored subtree hash is absent, or there are more stored than the size implies."""
    CHECKPOINT_ROOT_MISMATCH = "checkpoint_root_mismatch"
    """A stored checkpoint's root differs from the root recomputed at its size."""
    CHECKPOINT_MALFORMED = "checkpoint_malformed"
    """A stored checkpoint note does not parse or disagrees with its own row."""
    CHECKPOINT_SIGNATURE = "checkpoint_signature"
    """A stored checkpoint's SM2 signature does not verify with the log key."""
    SIZE_MISMATCH = "size_mismatch"
    """The number of entries differs from the last signed checkpoint's size."""
    SIGNER_HISTORY = "signer_history"
    """The log is behind, or differs from, what the signer's durable history says it signed."""
    ANCHOR_MISMATCH = "anchor_mismatch"
    """The log is behind, or differs from, its last confirmed anchor."""


class IntegrityError(StorageError):
    """The stored log contradicts its signed history: it must not be opened or signed over.

    ``code`` says which check failed; ``size`` is the first bad leaf index or tree size it
    names; ``expected`` and ``got`` are what differs (short hex or decimal text).
    """

    def __init__(
        self,
        code: IntegrityCode,
        message: str,
        *,
        size: int | None = None,
        expected: str | None = None,
        got: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.size = size
        self.expected = expected
        self.got = got
