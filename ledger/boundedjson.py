"""JSON from outside, parsed with a size and a nesting-depth limit.

The C ``json`` parser recurses once per nesting level and only stops at the interpreter's
recursion limit; a dependency that raises that limit (``py_ecc`` sets 100,000) turns a deeply
nested document into a stack overflow that kills the process. So depth is measured first by a
linear scan that never recurses, and only a document within both limits reaches ``json``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import Code, Error

__all__ = ["DEFAULT_MAX_DEPTH", "JsonLimitError", "check_depth", "loads"]

DEFAULT_MAX_DEPTH = 64
"""Deeper than any document we define (receipts, registries, payloads nest under 10)."""

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")


class JsonLimitError(Error, ValueError):
    """A JSON document is too large, too deep, or not JSON at all."""

    code = Code.JSON_LIMIT


def check_depth(data: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    """Raise :class:`JsonLimitError` if ``data`` nests arrays/objects deeper than ``max_depth``.

    Brackets inside strings do not count. Linear, no recursion: strings are cut out and the
    rest reduced to its brackets in C, so only brackets are walked in Python.
    """
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        if byte in _OPENERS:
            depth += 1
            if depth > max_depth:
                raise JsonLimitError(f"json nests deeper than {max_depth} levels")
        else:
            depth -= 1


def loads(
    data: bytes | bytearray | str,
    *,
    max_bytes: int,
    max_depth: int = DEFAULT_MAX_DEPTH,
    object_pairs_hook: Any = None,
) -> Any:
    """Parse ``data`` as JSON (UTF-8) if it is at most ``max_bytes`` long and ``max_depth`` deep.

    Raises :class:`JsonLimitError` naming the limit or the parse failure.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise JsonLimitError(f"json document too large: {len(raw)} bytes, limit {max_bytes}")
    check_depth(raw, max_depth)
    try:
        return json.loads(raw, object_pairs_hook=object_pairs_hook)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JsonLimitError(f"not valid json: {exc}") from exc
    except RecursionError as exc:  # only if the interpreter's limit is below max_depth
        raise JsonLimitError(f"json nests too deep to parse: {exc}") from exc
