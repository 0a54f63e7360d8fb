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

Messages are lowercase, name the failing check, and say expected vs got.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "CryptoError",
    "Error",
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
