"""Masking of personal identifiers for logs, messages and displays.

Mask helpers keep just enough to recognise a value (``3101**********1234``) and never raise
on odd input: they exist to be called on the way to a log line. :func:`scrub` finds and masks
identifiers in free text; :class:`MaskingFilter` applies it to log records;
:func:`contains_raw_id_number` is the detector tests use to prove nothing raw leaked.

What :func:`scrub` masks (digits may be ASCII or full-width):

* **18-character resident ID numbers** (17 digits + digit/X, not inside a longer digit run,
  compact or with single spaces or hyphens between characters, e.g. ``1101 0119 9003 0745
  14`` or ``110101-19900307-4514``; masked in compact form, ``1101**********4514``) that
  pass the GB 11643 check character, *or* that look like one even with a wrong check
  character: a province-level region code followed by a plausible birth date (a calendar
  date, years 1900-2099). A mistyped number is still personal data.
* **15-digit first-generation ID numbers**: province-level region code then a calendar date
  ``YYMMDD``.
* **mainland mobile numbers** ``1[3-9]`` + 9 digits, optionally after ``+86``/``0086``/``86``
  and optionally grouped 3-4-4 with spaces or hyphens, not inside a longer digit run.

Not masked: names (no reliable detector), bank card numbers, landlines, credit codes
(organisations' codes are public), passport and permit numbers.
"""

from __future__ import annotations

import logging
import re
from datetime import date

__all__ = [
    "MaskingFilter",
    "contains_raw_credit_code",
    "contains_raw_id_number",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "mask_uscc",
    "scrub",
]

_MASK = "*"


def _mask_middle(value: str, keep_start: int, keep_end: int) -> str:
    if len(value) <= keep_start + keep_end:
        return _MASK * len(value)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + _MASK * hidden + value[len(value) - keep_end :]


def mask_id_number(number: str) -> str:
    """Keep the first 4 and last 4 characters: ``3101**********1234``; short values: all ``*``."""
    return _mask_middle(str(number), 4, 4)


def mask_name(name: str) -> str:
    """``张三丰`` -> ``张*丰``, ``张三`` -> ``张*``, ``张`` -> ``*``; longer: keep both ends."""
    name = str(name)
    if len(name) <= 1:
        return _MASK * len(name)
    if len(name) == 2:
        return name[0] + _MASK
    return _mask_middle(name, 1, 1)


def mask_phone(number: str) -> str:
    """Keep the first 3 and last 4 digits: ``13812345678`` -> ``138****5678``."""
    return _mask_middle(str(number), 3, 4)


def mask_uscc(code: str) -> str:
    """Keep the first 2 (department, type) and last 4: ``91************0Y43``."""
    return _mask_middle(str(code), 2, 4)


# -- detection -------------------------------------------------------------------------------

_DIGIT = "[0-9\uff10-\uff19]"
_X = "[Xx\uff38\uff58]"
_TO_ASCII = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)}, "\uff38": "X", "\uff58": "X", "x": "X"}
)

# One optional separator between characters: ASCII or full-width space or hyphen, so
# ``1101 0119 9003 0745 14`` and ``110101-19900307-4514`` are found like the compact form.
_SEP = "[ \\-\u3000\uff0d\u2010\u2011]"
_SEPARATORS = re.compile(_SEP)
# 18 characters not inside a longer run of digits; 15 digits likewise.
_ID18 = re.compile(
    rf"(?<!{_DIGIT})({_DIGIT}(?:{_SEP}?{_DIGIT}){{16}}{_SEP}?(?:{_DIGIT}|{_X}))(?!{_DIGIT})"
)
_ID15 = re.compile(rf"(?<!{_DIGIT})({_DIGIT}{{15}})(?!{_DIGIT})")
_MOBILE = re.compile(
    rf"(?<!{_DIGIT})((?:\+|00|\uff0b)?(?:86|\uff18\uff16)[- ]?)?"
    rf"(1[3-9]{_DIGIT}|\uff11[\uff13-\uff19]{_DIGIT})([- ]?)({_DIGIT}{{4}})\3({_DIGIT}{{4}})"
    rf"(?!{_DIGIT})"
)


def _gb11643():
    # Imported late: gateway.identity imports this module for its masks.
    from gateway.identity.validation import PROVINCE_CODES, compute_id_check_digit

    return PROVINCE_CODES, compute_id_check_digit


def _calendar_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _looks_like_id18(ascii18: str) -> bool:
    provinces, check = _gb11643()
    if check(ascii18[:17]) == ascii18[17]:
        return True
    year, month, day = int(ascii18[6:10]), int(ascii18[10:12]), int(ascii18[12:14])
    return ascii18[:2] in provinces and 1900 <= year <= 2099 and _calendar_date(year, month, day)


def _looks_like_id15(ascii15: str) -> bool:
    provinces, _ = _gb11643()
    year, month, day = 1900 + int(ascii15[6:8]), int(ascii15[8:10]), int(ascii15[10:12])
    return ascii15[:2] in provinces and _calendar_date(year, month, day)


def scrub(text: str) -> str:
    """Mask resident ID numbers and mobile numbers in free text (see the module docstring)."""
    text = str(text)

    def id18(m: re.Match[str]) -> str:
        value = m.group(1)
        compact = _SEPARATORS.sub("", value)
        return mask_id_number(compact) if _looks_like_id18(compact.translate(_TO_ASCII)) else value

    def id15(m: re.Match[str]) -> str:
        value = m.group(1)
        return mask_id_number(value) if _looks_like_id15(value.translate(_TO_ASCII)) else value

    def mobile(m: re.Match[str]) -> str:
        prefix, head, sep, mid, tail = m.groups()
        return f"{prefix or ''}{head}{sep}{_MASK * len(mid)}{sep}{tail}"

    text = _ID18.sub(id18, text)
    text = _ID15.sub(id15, text)
    return _MOBILE.sub(mobile, text)


class MaskingFilter(logging.Filter):
    """A logging filter that scrubs each record's message, arguments and exception text.

    The message is rendered (``msg % args``) and scrubbed, then ``args`` is cleared, so no
    raw argument reaches a handler or formatter. Exception and stack text are formatted here
    and scrubbed too. Records are never dropped.

    Attach it to **handlers**: a filter on a logger does not see records propagated from
    its child loggers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format must not leak its args through handleError
            message = f"{record.msg} {record.args!r}"
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


# Overlapping candidates (a lookahead per start position): ASCII (which covers UTF-8) and
# UTF-16 in either byte order for blobs; ASCII or full-width digits for text.
_BLOB_PATTERNS = (
    (re.compile(rb"(?=([0-9]{17}[0-9Xx]))"), "ascii"),
    (re.compile(rb"(?=((?:[0-9]\x00){17}[0-9Xx]\x00))"), "utf-16-le"),
    (re.compile(rb"(?=((?:\x00[0-9]){17}\x00[0-9Xx]))"), "utf-16-be"),
)
_TEXT_CANDIDATE = re.compile(rf"(?=({_DIGIT}{{17}}(?:{_DIGIT}|{_X})))")


def contains_raw_id_number(blob: bytes | bytearray | memoryview | str) -> list[str]:
    """Every valid resident ID number (GB 11643, see ``validate_resident_id``) in ``blob``.

    Every 18-character window is tried, even inside longer digit runs, because a leak
    detector must not be fooled by a neighbouring digit. Text is scanned with ASCII and
    full-width digits; bytes are scanned for ASCII/UTF-8 digits and for UTF-16 (LE and BE)
    digits. Returns the distinct numbers found, normalised, in order of first appearance.
    """
    from gateway.identity.validation import is_valid_resident_id

    if isinstance(blob, str):
        candidates = [m.group(1).translate(_TO_ASCII) for m in _TEXT_CANDIDATE.finditer(blob)]
    else:
        data = bytes(blob)
        located = sorted(
            (m.start(), m.group(1).decode(encoding).upper())
            for pattern, encoding in _BLOB_PATTERNS
            for m in pattern.finditer(data)
        )
        candidates = [window for _, window in located]
    found: dict[str, None] = {}
    for window in candidates:
        if is_valid_resident_id(window):
            found.setdefault(window)
    return list(found)


_USCC_CHARS = "0-9A-HJ-NPQRTUWXY"
_USCC_TEXT = re.compile(rf"(?=([{_USCC_CHARS}]{{18}}))")
_USCC_BYTES = (
    (re.compile(rf"(?=([{_USCC_CHARS}]{{18}}))".encode()), "ascii"),
    (re.compile(rf"(?=((?:[{_USCC_CHARS}]\x00){{18}}))".encode()), "utf-16-le"),
    (re.compile(rf"(?=((?:\x00[{_USCC_CHARS}]){{18}}))".encode()), "utf-16-be"),
)


def contains_raw_credit_code(blob: bytes | bytearray | memoryview | str) -> list[str]:
    """Every valid unified social credit code (GB 32100, :func:`gateway.uscc.is_valid_uscc`)
    in ``blob``: every 18-character window of the code alphabet is tried, in ASCII/UTF-8 and
    UTF-16 (LE and BE) for bytes. A random 18-character run passes the check character one
    time in 31, so a hit in digits only is reported only when the type pair is a known one
    (as the validator checks). Returns the distinct codes, in order of first appearance.
    """
    from gateway.uscc import is_valid_uscc

    if isinstance(blob, str):
        candidates = [m.group(1) for m in _USCC_TEXT.finditer(blob)]
    else:
        data = bytes(blob)
        located = sorted(
            (m.start(), m.group(1).decode(encoding))
            for pattern, encoding in _USCC_BYTES
            for m in pattern.finditer(data)
        )
        candidates = [window for _, window in located]
    found: dict[str, None] = {}
    for window in candidates:
        if is_valid_uscc(window):
            found.setdefault(window)
    return list(found)
