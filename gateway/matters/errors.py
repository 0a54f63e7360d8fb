"""Errors raised by ``gateway.matters``.

Hierarchy (``code`` is each error's :class:`MatterCode`)::

    gateway.errors.Error
    └── MatterError (ValueError)           INVALID    matter data failed a named check;
        │                                             ``field`` names it
        └── MatterNotFound (LookupError)   NOT_FOUND  no matter has this code in this region

Messages are lowercase, name the check, and say expected vs got.
"""

from __future__ import annotations

import enum

from gateway.errors import Error

__all__ = ["MatterCode", "MatterError", "MatterNotFound"]


class MatterCode(enum.StrEnum):
    """The machine code of a matter error."""

    INVALID = "matter_invalid"
    NOT_FOUND = "matter_not_found"


class MatterError(Error, ValueError):
    """Matter data is invalid; ``field`` is the dotted path of the offending field."""

    code: enum.Enum = MatterCode.INVALID

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class MatterNotFound(MatterError, LookupError):
    """No matter with this code (in this region) is in the catalogue."""

    code = MatterCode.NOT_FOUND
