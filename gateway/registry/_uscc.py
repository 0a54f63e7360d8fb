"""Unified social credit codes (统一社会信用代码), GB 32100-2015.

A code is 18 characters from ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, Z, S, V): the
registration authority, the organisation category, the 6-digit administrative division
(GB/T 2260), the 9-character organisation code (GB 11714) and a check character. The check
character is ``31 - (sum(value(c_i) * 3^i mod 31) mod 31)`` over the first 17 characters
(i = 0..16), with 31 written as ``0``.
"""

from __future__ import annotations

import functools

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18
_VALUES = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(LENGTH - 1))


def check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a code.

    Raises ValueError if ``first17`` is not 17 characters of the alphabet.
    """
    if len(first17) != LENGTH - 1:
        raise ValueError(f"expected 17 characters, got {len(first17)}")
    try:
        total = sum(_VALUES[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the gb 32100 alphabet") from exc
    check = 31 - total % 31
    return ALPHABET[0 if check == 31 else check]


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a valid USCC, or None if it is. Upper case only."""
    if not isinstance(code, str):
        return f"expected an 18-character string, got {type(code).__name__}"
    return _str_problem(code)


@functools.lru_cache(maxsize=4096)  # member ids are parsed on every exchange
def _str_problem(code: str) -> str | None:
    if len(code) != LENGTH:
        return f"expected 18 characters, got {len(code)}"
    for position, char in enumerate(code):
        if char not in _VALUES:
            hint = " (use upper case)" if char.upper() in _VALUES else ""
            return (
                f"character {char!r} at position {position} is not in the gb 32100 alphabet{hint}"
            )
    expected = check_character(code[:-1])
    if code[-1] != expected:
        return f"check character mismatch: expected {expected!r}, got {code[-1]!r}"
    return None


def is_valid_uscc(code: str) -> bool:
    """True if ``code`` is a well-formed USCC with the right check character (GB 32100)."""
    return uscc_problem(code) is None
