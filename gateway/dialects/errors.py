"""Errors raised by ``gateway.dialects`` and by every adapter.

Hierarchy (``code`` is each error's :class:`DialectCode`)::

    gateway.errors.Error
    └── DialectError                  ERROR      ``field`` names the offending field or part
        ├── AdapterError (ValueError) INVALID    input could not be mapped; ``field`` is a
        │   │                                    dialect path such as ``cailiao[1].clbh`` for
        │   │                                    inbound bytes, a canonical path for outbound
        │   └── CatalogueError        NO_ADAPTER no adapter for a region or dialect, a clash,
        │                                        a bad entry point (the adapter catalogue)
        └── DeliveryError             DELIVERY   the remote system refused a push or could not
                                                 be reached (``status`` is the HTTP status,
                                                 ``None`` if unreachable); a network failure,
                                                 not bad input, so not a ValueError
    gateway.errors.Error
    └── gateway.dialects.untrusted_xml.UntrustedXmlError (ValueError)   UNTRUSTED_XML
                                                 an XML document from outside was refused

Messages are lowercase, name the check, and say expected vs got. Foreign exceptions
(json, xml, codecs, aiohttp) are mapped to these at the boundary, ``from exc``: aiohttp in
``gateway.dialects.transport``, json/xml/codecs in the wire formats.
"""

from __future__ import annotations

import enum

from gateway.errors import Error

__all__ = ["AdapterError", "CatalogueError", "DeliveryError", "DialectCode", "DialectError"]


class DialectCode(enum.StrEnum):
    """The machine code of a dialect error."""

    ERROR = "dialect_error"
    INVALID = "invalid_input"
    NO_ADAPTER = "no_adapter"
    DELIVERY = "delivery_failed"
    UNTRUSTED_XML = "untrusted_xml"


class DialectError(Error):
    """Root of the dialect errors; ``field`` names the part at fault, ``message`` the check."""

    code: enum.Enum = DialectCode.ERROR

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class AdapterError(DialectError, ValueError):
    """Input in a dialect (or canonical input for a dialect) is invalid.

    ``field`` is the path of the offending field (``"<body>"`` for the payload as a
    whole: malformed JSON or XML, wrong encoding); ``message`` says what is wrong.
    """

    code = DialectCode.INVALID


class DeliveryError(DialectError):
    """A push to a province system failed; ``status`` is the HTTP status or ``None``."""

    code = DialectCode.DELIVERY

    def __init__(self, field: str, message: str, *, status: int | None = None) -> None:
        super().__init__(field, message)
        self.status = status


class CatalogueError(AdapterError):
    """The adapter catalogue cannot satisfy a request; ``field`` is region, dialect or entry
    point."""

    code = DialectCode.NO_ADAPTER
