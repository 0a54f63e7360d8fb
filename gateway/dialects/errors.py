"""Errors raised by ``gateway.dialects`` and by every adapter.

Hierarchy::

    gateway.errors.Error
    └── AdapterError (ValueError)   input could not be mapped; ``field`` names the offending
        │                           field (a dialect path such as ``cailiao[1].clbh`` for
        │                           inbound bytes, a canonical path for outbound dicts)
        ├── DeliveryError           the remote system refused a push or could not be reached
        │                           (``status`` is the HTTP status, ``None`` if unreachable)
        └── RegistryError           no adapter for a region or dialect, a clash, a bad entry point

Messages are lowercase, name the check, and say expected vs got. Foreign exceptions
(json, xml, codecs, aiohttp) are mapped to these at the boundary, ``from exc``.
"""

from __future__ import annotations

from gateway.errors import Error

__all__ = ["AdapterError", "DeliveryError", "RegistryError"]


class AdapterError(Error, ValueError):
    """Input in a dialect (or canonical input for a dialect) is invalid.

    ``field`` is the path of the offending field (``"<body>"`` for the payload as a
    whole: malformed JSON or XML, wrong encoding); ``message`` says what is wrong.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DeliveryError(AdapterError):
    """A push to a province system failed; ``status`` is the HTTP status or ``None``."""

    def __init__(self, field: str, message: str, *, status: int | None = None) -> None:
        super().__init__(field, message)
        self.status = status


class RegistryError(AdapterError):
    """The registry cannot satisfy a request; ``field`` is region, dialect or entry point."""
