"""Why a witness round failed: one error class with a machine code per cause.

Raised inside the collector and caught there (a failing witness is logged, backed off and
shown in ``/healthz``; it never reaches an exchange). aiohttp's exceptions are mapped here
(:class:`WitnessError` ``UNREACHABLE`` ``from`` them), not left to leak.
"""

from __future__ import annotations

import enum

from gateway.errors import Error

__all__ = ["WitnessCode", "WitnessError"]


class WitnessCode(enum.StrEnum):
    UNREACHABLE = "witness_unreachable"  # connection refused, reset, or over the timeout
    REFUSED = "witness_refused"  # an HTTP status other than 200 (after the one 409 retry)
    BAD_COSIGNATURE = "witness_bad_cosignature"  # a 200 without a valid line of its key
    AHEAD = "witness_ahead"  # it holds a larger checkpoint of our log than we have


class WitnessError(Error):
    """A witness did not cosign; ``code`` says why, the message names the witness."""

    def __init__(self, code: WitnessCode, message: str) -> None:
        super().__init__(message)
        self.code = code
