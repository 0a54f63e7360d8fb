"""Parsing XML that comes from outside: the encoding decided first, then ``defusedxml``.

A check for ``<!DOCTYPE`` in text decoded one way while expat parses the bytes another way
is no guard (UTF-16 without a byte order mark passed it, and expat expanded entities). So:

(1) encoding: a byte order mark decides it (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE); without one,
    the first bytes of ``<?xml`` in UTF-16/32 (XML 1.0 appendix F) decide it; otherwise it is
    the caller's declared encoding. It must be one the caller allows, or the document is
    refused naming both;
(2) text: the bytes are decoded strictly in that encoding (the error names the offset);
(3) declaration: an ``encoding`` in the XML declaration must name the same encoding; the
    declaration is then dropped and the text handed to the parser as UTF-8, so expat never
    chooses an encoding itself;
(4) parse: ``defusedxml`` with DTDs, entity declarations and external references forbidden,
    and elements nested at most ``max_depth`` deep (the walkers after it recurse).

Every refusal is an :class:`UntrustedXmlError` with a lowercase message naming the check;
callers map it to their own error (``AdapterError``, ``AssertionRejected``).
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from gateway.dialects.errors import DialectCode
from gateway.errors import Error

__all__ = ["MAX_DEPTH", "UntrustedXmlError", "parse_untrusted_xml"]

MAX_DEPTH = 64

_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SNIFF = (  # "<" (or "<?") in an encoding whose code units hold zero bytes
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)
_DECLARATION = re.compile(
    r"<\?xml\s+version\s*=\s*(['\"])1\.[0-9]+\1"
    r"(?:\s+encoding\s*=\s*(['\"])([A-Za-z][A-Za-z0-9._-]*)\2)?"
    r"(?:\s+standalone\s*=\s*(['\"])(?:yes|no)\4)?\s*\?>",
    re.ASCII,
)


_FORBIDDEN = {
    "DTDForbidden": "a document type declaration",
    "EntitiesForbidden": "an entity declaration",
    "ExternalReferenceForbidden": "an external reference",
}


class UntrustedXmlError(Error, ValueError):
    """An XML document from outside was refused; ``message`` names the check."""

    code = DialectCode.UNTRUSTED_XML

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _name(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding.lower()
    return {"utf-16": "utf-16", "utf-32": "utf-32"}.get(name, name)


def _same(a: str, b: str) -> bool:
    """``utf-16`` declared for ``utf-16-le``/``-be`` (the mark decided the order) is the same."""
    a, b = _name(a), _name(b)
    return a == b or {a, b} in ({"utf-16", "utf-16-le"}, {"utf-16", "utf-16-be"},
                                {"utf-32", "utf-32-le"}, {"utf-32", "utf-32-be"})  # fmt: skip


def _encoding(data: bytes, default: str) -> tuple[str, int]:
    """(1): the encoding and the length of its byte order mark."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    for head, name in _SNIFF:
        if data.startswith(head):
            return name, 0
    return _name(default), 0


class _DepthBuilder(ET.TreeBuilder):
    def __init__(self, max_depth: int) -> None:
        super().__init__()
        self.depth = 0
        self.max_depth = max_depth

    def start(self, tag, attrs):  # type: ignore[override]
        self.depth += 1
        if self.depth > self.max_depth:
            raise UntrustedXmlError(f"xml nests deeper than {self.max_depth} elements")
        return super().start(tag, attrs)

    def end(self, tag):  # type: ignore[override]
        self.depth -= 1
        return super().end(tag)


def parse_untrusted_xml(
    data: bytes, encodings: Collection[str] = ("utf-8",), *, max_depth: int = MAX_DEPTH
) -> ET.Element:
    """Parse ``data`` (see the module docstring); ``encodings`` are those allowed, the first
    being the one assumed without a byte order mark. Raises :class:`UntrustedXmlError`."""
    data = bytes(data)
    allowed = [_name(e) for e in encodings]
    # (1): encoding
    encoding, skip = _encoding(data, allowed[0])
    if not any(_same(encoding, a) for a in allowed):
        raise UntrustedXmlError(f"xml in {encoding} is refused: expected {' or '.join(allowed)}")
    # (2): text
    try:
        text = data[skip:].decode(encoding)
    except UnicodeDecodeError as exc:
        raise UntrustedXmlError(
            f"xml is not valid {encoding}: byte 0x{data[skip + exc.start]:02x} "
            f"at {skip + exc.start}"
        ) from exc
    # (3): declaration
    if text.startswith("<?xml") and text[5:6].isspace():
        match = _DECLARATION.match(text)
        if match is None:
            raise UntrustedXmlError("malformed xml declaration")
        declared = match.group(3)
        if declared is not None and not _same(declared, encoding):
            raise UntrustedXmlError(
                f"xml declaration names encoding {declared[:40]}, the document is {encoding}"
            )
        text = text[match.end() :]
    # (4): parse
    parser = DefusedXMLParser(
        target=_DepthBuilder(max_depth),
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    try:
        parser.feed(text.encode("utf-8"))
        return parser.close()
    except DefusedXmlException as exc:
        what = _FORBIDDEN.get(type(exc).__name__, "a forbidden construct")
        raise UntrustedXmlError(f"xml with {what} is refused") from exc
    except ET.ParseError as exc:
        raise UntrustedXmlError(f"malformed xml: {exc}") from exc
