"""Errors raised by ``gateway.matters``.

Hierarchy::

    gateway.errors.Error
    └── MatterError (ValueError)      matter data failed a named check; ``field`` names it
    └── MatterNotFound (LookupError)  no matter has this code in this region

Messages are lowercase, name the check, and say expected vs got.
"""

from __future__ import annotations

from gateway.errors import Error

__all__ = ["MatterError", "MatterNotFound"]


class MatterError(Error, ValueError):
    """Matter data is invalid; ``field`` is the dotted path of the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class MatterNotFound(MatterError, LookupError):
    """No matter with this code (in this region) is in the catalogue."""
