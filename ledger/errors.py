"""Errors raised by the ledger package.

Hierarchy (``code`` is each error's machine code)::

    Error                              code
    ├── CryptoError                    Code.CRYPTO
    │   ├── ledger.crypto._der.DERError (ValueError)   Code.DER   not strict DER (internal)
    │   ├── KeyFormatError             Code.KEY_FORMAT     malformed or unsupported key material
    │   └── SignatureError             Code.SIGNATURE      a signature failed to parse or verify
    ├── ProofError (ValueError)        Code.PROOF          a Merkle proof failed a named check
    ├── CheckpointError (ValueError)   Code.CHECKPOINT     malformed, badly signed, inconsistent
    ├── EvidenceError (ValueError)     Code.EVIDENCE       witness evidence proves no misbehaviour
    ├── ReceiptError (ValueError)      ReceiptCheck.*      which receipt check failed
    │   └── ledger.anchor_verify.AnchorCheckError   ReceiptCheck.ANCHOR*  an anchor check failed
    ├── ledger.boundedjson.JsonLimitError (ValueError)   Code.JSON_LIMIT   too large/deep JSON
    ├── ledger.audit_cli.UsageError    Code.USAGE          bad CLI input
    ├── StorageError                   Code.STORAGE        the durable store could not read/write
    │   └── IntegrityError             IntegrityCode.*     the stored log contradicts its history
    ├── MissingExtraError (ImportError)  Code.MISSING_EXTRA  an optional part's extra is missing
    ├── ledger.witness.WitnessError    WitnessCode.*       a witness refused a request (HTTP status)
    └── ledger.anchor.errors.AnchorError   Code.ANCHOR     an anchoring operation failed
        ├── ChainUnavailable               Code.CHAIN_UNAVAILABLE
        └── ContractRevert                 Code.CONTRACT_REVERT

Messages are lowercase, name the failing check, and say expected vs got. Callers branch on
``code`` (an enum member), never on message text. Foreign exceptions are translated where they
arise, ``raise ... from exc``: sqlite3 in the stores (``StorageError``), tongsuopy/gmssl in
``ledger.crypto`` (``CryptoError``), web3/requests in ``ledger.anchor._translate``.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import inspect
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = [
    "CheckpointError",
    "Code",
    "CryptoError",
    "Error",
    "EvidenceError",
    "IntegrityCode",
    "IntegrityError",
    "KeyFormatError",
    "MissingExtraError",
    "ProofError",
    "ReceiptCheck",
    "ReceiptError",
    "SignatureError",
    "StorageError",
    "storage_boundary",
]

DISTRIBUTION = "yrd-gateway"
"""The distribution whose extras a MissingExtraError names, unless only yrd-ledger is installed."""


def _distribution() -> str:
    """``yrd-ledger`` in an auditor's install (no gateway), else ``yrd-gateway``."""
    from importlib import metadata

    try:
        metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        try:
            metadata.distribution("yrd-ledger")
        except metadata.PackageNotFoundError:
            return DISTRIBUTION
        return "yrd-ledger"
    return DISTRIBUTION


class Code(enum.StrEnum):
    """The machine code of a ledger error (its ``code``), beside its message."""

    ERROR = "error"
    USAGE = "usage"
    JSON_LIMIT = "json_limit"
    CRYPTO = "crypto"
    DER = "der"
    KEY_FORMAT = "key_format"
    SIGNATURE = "signature"
    PROOF = "proof"
    CHECKPOINT = "checkpoint"
    EVIDENCE = "evidence"
    STORAGE = "storage"
    MISSING_EXTRA = "missing_extra"
    ANCHOR = "anchor"
    CHAIN_UNAVAILABLE = "chain_unavailable"
    CONTRACT_REVERT = "contract_revert"


class ReceiptCheck(enum.StrEnum):
    """Which check of a receipt failed (the ``code`` of a ReceiptError), in the order
    ``ledger.receipt.verify_receipt`` runs them; ``TRUST_FILE`` is the trust file itself."""

    FORMAT = "format"
    TRUSTED_KEY = "trusted_key"
    CHECKPOINT_SIGNATURE = "checkpoint_signature"
    CHECKPOINT_SIZE = "checkpoint_size"
    LEAF_HASH = "leaf_hash"
    INCLUSION_PROOF = "inclusion_proof"
    CONSISTENCY_PROOF = "consistency_proof"
    ANCHOR = "anchor"
    ANCHOR_CONSISTENCY = "anchor_consistency"
    ANCHOR_FORMAT = "anchor_format"
    WITNESS_QUORUM = "witness_quorum"
    TRUST_FILE = "trust_file"


class Error(Exception):
    """Root of every error the ledger package raises on purpose; ``code`` says which."""

    code: enum.Enum = Code.ERROR


class CryptoError(Error):
    """A cryptographic operation could not be carried out."""

    code = Code.CRYPTO


class KeyFormatError(CryptoError, ValueError):
    """Key material is malformed, on the wrong curve, or of an unsupported type."""

    code = Code.KEY_FORMAT


class SignatureError(CryptoError):
    """A signature is malformed (strict DER) or does not verify."""

    code = Code.SIGNATURE


class ProofError(Error, ValueError):
    """A Merkle inclusion or consistency proof failed a named check."""

    code = Code.PROOF


class CheckpointError(Error, ValueError):
    """A checkpoint is malformed, badly signed, or inconsistent with an earlier one."""

    code = Code.CHECKPOINT


class EvidenceError(Error, ValueError):
    """A witness's evidence document is malformed or does not prove misbehaviour."""

    code = Code.EVIDENCE


class ReceiptError(Error, ValueError):
    """A receipt is malformed or one of its checks failed; ``code`` says which check."""

    code: ReceiptCheck = ReceiptCheck.FORMAT

    def __init__(self, message: str, code: ReceiptCheck = ReceiptCheck.FORMAT) -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self) -> tuple[Any, ...]:  # keep ``code`` across pickling
        return (type(self), (str(self), self.code))


class StorageError(Error):
    """The durable store could not be read or written."""

    code: enum.Enum = Code.STORAGE


class MissingExtraError(Error, ImportError):
    """An optional part was chosen but the extra that installs it is not installed."""

    code = Code.MISSING_EXTRA

    def __init__(self, extra: str, needed_by: str) -> None:
        super().__init__(
            f"{needed_by} needs the {extra!r} extra, which is not installed: "
            f"pip install '{_distribution()}[{extra}]'"
        )
        self.extra = extra
        self.needed_by = needed_by

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.extra, self.needed_by))


_C = TypeVar("_C", bound=type)


def storage_boundary(error: type[Exception]) -> Callable[[_C], _C]:
    """Class decorator for a store: its constructor and public methods raise ``error``
    ``from`` any ``sqlite3.Error`` (names starting with ``_`` are called from those). A
    context manager a method returns (a transaction) is translated on entry and exit too,
    including a ``sqlite3.Error`` raised by the caller's statements inside it. The one place a
    store's foreign exceptions are translated: ``ledger.errors.StorageError`` for the ledger's
    stores, ``gateway.errors.StorageError`` for the gateway's."""

    @contextlib.contextmanager
    def translating(name: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise error(f"{name}: database error: {exc}") from exc

    class Translated:
        def __init__(self, inner: Any, name: str) -> None:
            self._inner = inner
            self._name = name

        def __enter__(self) -> Any:
            with translating(self._name):
                return self._inner.__enter__()

        def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
            with translating(self._name):
                suppressed = bool(self._inner.__exit__(kind, exc, tb))
            if not suppressed and isinstance(exc, sqlite3.Error):
                raise error(f"{self._name}: database error: {exc}") from exc
            return suppressed

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        # a @contextlib.contextmanager method: its __wrapped__ is a generator function
        manager = inspect.isgeneratorfunction(inspect.unwrap(method))

        @functools.wraps(method)
        def translated(*args: Any, **kwargs: Any) -> Any:
            with translating(method.__name__):
                result = method(*args, **kwargs)
            return Translated(result, method.__name__) if manager else result

        return translated

    def decorate(cls: _C) -> _C:
        for name, value in list(vars(cls).items()):
            public = name == "__init__" or not name.startswith("_")
            if public and inspect.isfunction(value):
                setattr(cls, name, wrap(value))
        return cls

    return decorate


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

    ``code`` (an :class:`IntegrityCode`) says which check failed; ``size`` is the first bad
    leaf index or tree size it names; ``expected`` and ``got`` are what differs (short hex or
    decimal text).
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
