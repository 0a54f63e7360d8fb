"""Scalar conversions for declarative dialects: canonical value <-> dialect value.

Kept apart from the walking and the wire formats because this is where the provinces differ
most (date patterns, epoch milliseconds, yuan vs fen, code lists) and where every rule about
a single value lives; the rest of ``MappedCodec`` only asks a converter by scalar type.
Times are Beijing time (UTC+8), as in the canonical model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from gateway.dialects.errors import AdapterError
from gateway.dialects.schema import ENUMS
from gateway.errors import clip
from gateway.times import BEIJING

__all__ = ["BEIJING", "Conv", "build_converters", "text"]

_PATTERNS = {
    "yyyy-MM-dd": "%Y-%m-%d",
    "yyyyMMdd": "%Y%m%d",
    "yyyy-MM-dd HH:mm:ss": "%Y-%m-%d %H:%M:%S",
    "yyyyMMddHHmmss": "%Y%m%d%H%M%S",
}
_YUAN = re.compile(r"\A(0|[1-9][0-9]*)(\.[0-9]{1,2})?\Z")
_INT_TEXT = re.compile(r"\A(0|-?[1-9][0-9]*)\Z")


def text(value: Any) -> str:
    """The text form of a dialect scalar (XML text, code-list keys): booleans lowercase."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _native(raw: Any, native: type, textual: bool) -> Any:
    """Bring a raw dialect scalar to the expected native type (raises ValueError)."""
    if textual:
        if native is int:
            if not _INT_TEXT.fullmatch(raw):
                raise ValueError(f"expected integer, got {clip(raw)}")
            return int(raw)
        if native is bool:
            if raw not in ("true", "false"):
                raise ValueError(f"expected true or false, got {clip(raw)}")
            return raw == "true"
        return raw
    if native is int and (not isinstance(raw, int) or isinstance(raw, bool)):
        raise ValueError(f"expected integer, got {clip(raw)}")
    if native is bool and not isinstance(raw, bool):
        raise ValueError(f"expected boolean, got {clip(raw)}")
    if native is str and not isinstance(raw, str):
        raise ValueError(f"expected string, got {clip(raw)}")
    return raw


class Conv:
    """One scalar conversion: ``enc`` canonical -> dialect, ``dec`` dialect -> canonical.

    Both raise ``ValueError`` (or, for matter codes, ``AdapterError``) on a bad value;
    ``dec(raw, textual)`` takes ``textual=True`` when the wire carries only text (XML).
    """

    def __init__(self, native: type | None, enc: Callable, dec: Callable) -> None:
        self.native, self.enc, self._dec = native, enc, dec

    def dec(self, raw: Any, textual: bool) -> Any:
        if self.native is None:  # code lists: the converter compares raw values itself
            return self._dec(raw, textual)
        return self._dec(_native(raw, self.native, textual))


def _code_list(name: str, table: Mapping[Any, Any], what: str) -> Conv:
    reverse = {(type(v), v): k for k, v in table.items()}
    reverse_text = {text(v): k for k, v in table.items()}

    def enc(v: str) -> Any:
        try:
            return table[v]
        except KeyError:
            raise ValueError(f"no {what} for {clip(v)} in this dialect") from None

    def dec(raw: Any, textual: bool) -> str:
        found = reverse_text.get(raw) if textual else reverse.get((type(raw), raw))
        if found is None:
            raise ValueError(f"unknown {what} {clip(raw)}")
        return found

    return Conv(None, enc, dec)


def _date_conv(fmt: str) -> Conv:
    if fmt == "epoch_ms":
        return Conv(
            int,
            lambda v: int(datetime.combine(date.fromisoformat(v), datetime.min.time(), BEIJING)
                          .timestamp()) * 1000,
            lambda ms: datetime.fromtimestamp(ms / 1000, BEIJING).date().isoformat(),
        )  # fmt: skip
    pattern = _PATTERNS[fmt]

    def dec(raw: str) -> str:
        try:
            d = datetime.strptime(raw, pattern).date()
        except ValueError:
            d = None
        if d is None or d.strftime(pattern) != raw:
            raise ValueError(f"expected {fmt}, got {clip(raw)}")
        return d.isoformat()

    return Conv(str, lambda v: date.fromisoformat(v).strftime(pattern), dec)


def _datetime_conv(fmt: str) -> Conv:
    if fmt == "epoch_ms":
        return Conv(
            int,
            lambda v: int(datetime.fromisoformat(v).timestamp()) * 1000,
            lambda ms: datetime.fromtimestamp(ms // 1000, BEIJING).isoformat(),
        )
    pattern = _PATTERNS[fmt]

    def dec(raw: str) -> str:
        try:
            dt = datetime.strptime(raw, pattern).replace(tzinfo=BEIJING)
        except ValueError:
            dt = None
        if dt is None or dt.strftime(pattern) != raw:
            raise ValueError(f"expected {fmt}, got {clip(raw)}")
        return dt.isoformat()

    return Conv(str, lambda v: datetime.fromisoformat(v).astimezone(BEIJING).strftime(pattern), dec)


def _money_conv(fmt: str) -> Conv:
    if fmt == "fen":
        return Conv(int, lambda v: v, lambda v: v)

    def dec(raw: str) -> int:
        if not _YUAN.fullmatch(raw):
            raise ValueError(f"expected yuan as a decimal string like '12.50', got {clip(raw)}")
        whole, _, frac = raw.partition(".")
        return int(whole) * 100 + int((frac + "00")[:2])

    return Conv(str, lambda v: f"{v // 100}.{v % 100:02d}", dec)


def build_converters(
    formats: Mapping[str, Any], code_lists: Mapping, matter_code: Conv
) -> dict[str, Conv]:
    """Converters by scalar type (``"date"``, ``"enum:matter_type"``, ...) for a dialect.

    ``formats`` and ``code_lists`` are those keys of the mapping document; ``matter_code``
    translates matter codes. An unknown format raises ``KeyError``; a code list that misses
    a canonical value or repeats a code raises ``AdapterError`` naming it.
    """
    true, false = formats.get("bool", [True, False])
    convs: dict[str, Conv] = {
        "int": Conv(int, lambda v: v, lambda v: v),
        "depth": Conv(int, lambda v: v, lambda v: v),
        "date": _date_conv(formats["date"]),
        "datetime": _datetime_conv(formats["datetime"]),
        "money": _money_conv(formats["money"]),
        "bool": _code_list("bool", {True: true, False: false}, "boolean"),
        "matter_code": matter_code,
    }
    for name, values in ENUMS.items():
        table = code_lists.get(name)
        if table is None:
            continue
        missing = [v for v in values if v not in table]
        if missing or len({text(c) for c in table.values()}) != len(table):
            raise AdapterError(
                f"mapping.code_lists.{name}", f"incomplete or ambiguous; missing {missing}"
            )
        convs[f"enum:{name}"] = _code_list(name, table, f"{name.replace('_', ' ')} code")
    return convs
