"""Errors raised by ledger.witness.

Hierarchy (``code`` is each error's :class:`WitnessCode`)::

    ledger.errors.Error
    └── WitnessError          WitnessCode.*   a request was refused, or the witness
                                              could not be configured (``CONFIG``)

Each refusal code is answered with one HTTP status (``ledger.witness._service.STATUS``), as
C2SP tlog-witness prescribes. Storage failures stay ``ledger.errors.StorageError``.
"""

from __future__ import annotations

import enum

from ledger.errors import Error

__all__ = ["WitnessCode", "WitnessError"]


class WitnessCode(enum.StrEnum):
    """Why a witness refused a request (or could not start)."""

    MALFORMED = "malformed"
    """400: the body is not ``old N``, proof lines, a blank line and a checkpoint note."""
    OLD_SIZE_AHEAD = "old_size_ahead"
    """400: the old size is larger than the checkpoint's size."""
    FORBIDDEN = "forbidden"
    """403: no signature on the checkpoint verifies with a trusted key of its origin."""
    UNKNOWN_ORIGIN = "unknown_origin"
    """404: the checkpoint's origin is not a log this witness witnesses."""
    NOT_FOUND = "not_found"
    """404: no such endpoint, or nothing cosigned yet for the origin asked."""
    METHOD = "method"
    """405: the endpoint exists but not with this HTTP method."""
    STALE_OLD_SIZE = "stale_old_size"
    """409 ``text/x.tlog.size``: the old size is not the size of the latest cosigned checkpoint."""
    CONFLICT = "conflict"
    """409: a checkpoint of a size already cosigned with another root (evidence recorded)."""
    LENGTH_REQUIRED = "length_required"
    """411: a POST without Content-Length (chunked bodies are not accepted)."""
    TOO_LARGE = "too_large"
    """413: the body is over the limit (64 KiB)."""
    BAD_PROOF = "bad_proof"
    """422: the consistency proof does not verify from the latest cosigned checkpoint."""
    CONFIG = "config"
    """The key, trust file, name or data directory given to the witness is unusable."""


class WitnessError(Error):
    """A refused witness request; ``code`` says which rule, ``latest_size`` is set for
    ``STALE_OLD_SIZE`` (the size a client must send as its old size)."""

    code: WitnessCode = WitnessCode.MALFORMED

    def __init__(self, code: WitnessCode, message: str, latest_size: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.latest_size = latest_size

    def __reduce__(self) -> tuple[object, ...]:  # keep ``code`` across pickling
        return (type(self), (self.code, str(self), self.latest_size))
