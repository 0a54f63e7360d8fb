"""Strict parsing shared by identity-assertion formats: one input, one reading.

JSON objects without duplicate keys (RFC 8259 leaves them undefined), objects with exactly
the expected well-typed fields, and canonical unpadded base64url (RFC 4648 §5). Every refusal
is :class:`AssertionRejected` ``malformed`` whose message starts with the caller's label.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from gateway.identity.errors import AssertionRejected

__all__ = [
    "b64url_decode",
    "b64url_encode",
    "check_depth",
    "exact_fields",
    "no_duplicate_keys",
    "strict_json",
]

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A ``json.loads`` ``object_pairs_hook``: ``ValueError`` on a repeated key."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_float(text: str) -> Any:
    raise ValueError(f"non-integer number {text}")


def strict_json(text: str, label: str) -> dict[str, Any]:
    """A JSON object, refusing duplicate keys, floats and NaN (``malformed``)."""
    try:
        value = json.loads(
            text,
            object_pairs_hook=no_duplicate_keys,
            parse_float=_no_float,
            parse_constant=_no_float,
        )
    except ValueError as exc:
        raise AssertionRejected("malformed", f"{label}: invalid json: {exc}") from exc
    except RecursionError:  # deeper than the interpreter allows: refused, not a crash
        raise AssertionRejected("malformed", f"{label}: invalid json: nested too deep") from None
    if not isinstance(value, dict):
        raise AssertionRejected(
            "malformed", f"{label}: expected a json object, got {type(value).__name__}"
        )
    return value


def exact_fields(value: Any, fields: Mapping[str, type], label: str) -> dict[str, Any]:
    """``value`` as an object with exactly ``fields``, each of its type (``malformed``)."""
    if not isinstance(value, dict):
        raise AssertionRejected(
            "malformed", f"{label}: expected an object, got {type(value).__name__}"
        )
    missing = sorted(fields.keys() - value.keys())
    unknown = sorted(value.keys() - fields.keys())
    if missing or unknown:
        raise AssertionRejected(
            "malformed",
            f"{label} fields: missing {', '.join(missing) or 'none'}, "
            f"unexpected {', '.join(unknown) or 'none'}",
        )
    for name, kind in fields.items():
        item = value[name]
        if not isinstance(item, kind) or (kind is int and isinstance(item, bool)):
            raise AssertionRejected(
                "malformed",
                f"{label}.{name}: expected {kind.__name__}, got {type(item).__name__}",
            )
        if kind is str and not item:
            raise AssertionRejected("malformed", f"{label}.{name}: expected a non-empty string")
    return value


def b64url_encode(raw: bytes) -> str:
    """``raw`` as base64url without padding (RFC 4648 §5)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(
    part: str, label: str, *, allow_empty: bool = False, junk: str = "expected base64url"
) -> bytes:
    """The bytes of ``part``, unpadded canonical base64url, else ``malformed``.

    Refused: a character outside the alphabet or an impossible length (message
    ``"<label>: <junk>"``), the empty string unless ``allow_empty``, and non-canonical
    trailing bits, so that one value has exactly one encoding.
    """
    if not _B64URL.fullmatch(part) or len(part) % 4 == 1 or not (part or allow_empty):
        raise AssertionRejected("malformed", f"{label}: {junk}")
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise AssertionRejected("malformed", f"{label}: {exc}") from exc
    if b64url_encode(raw) != part:
        raise AssertionRejected("malformed", f"{label}: non-canonical base64url")
    return raw


def check_depth(text: str, limit: int, label: str) -> None:
    """Refuse JSON ``text`` nested deeper than ``limit`` arrays/objects (``malformed``),
    before it is parsed: a format that knows its depth says so instead of relying on the
    size limit and the interpreter's recursion limit."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                raise AssertionRejected(
                    "malformed", f"{label}: expected json nested at most {limit} deep"
                )
        elif ch in "]}":
            depth -= 1
