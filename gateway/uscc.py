"""Unified social credit codes (统一社会信用代码), GB 32100-2015: the one validator.

Identity (legal persons), the trust registry (member org codes), matters (implementing
bodies) and the adapter schema all call this module, so a code is valid everywhere or
nowhere. It has no imports of ours: every layer may use it.

A code is 18 characters from ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, Z, S, V; upper
case only): registration department (1), organisation type (1), the registering
authority's GB/T 2260 division code (6 digits), the GB 11714 subject identifier (9) and a
check character: ``31 - (sum(value(c_i) * 3^i mod 31) mod 31)`` over the first 17
characters (i = 0..16), with 31 written as ``0``.

The checks run in a fixed order, and :func:`uscc_problem` names the first that fails:

(1) a string of 18 characters;
(2) every character in the alphabet (a lower-case letter is refused with a hint);
(3) position 1 a known registration department, position 2 a type that department issues
    (:data:`DEPARTMENT_TYPES`);
(4) positions 3-8 digits;
(5) the check character.

Not checked: that the division code exists, and the GB 11714 check character inside the
subject identifier (older codes do not always satisfy it).
"""

from __future__ import annotations

import functools

__all__ = [
    "ALPHABET",
    "DEPARTMENT_TYPES",
    "LENGTH",
    "check_character",
    "is_valid_uscc",
    "uscc_problem",
]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18
_VALUES = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(LENGTH - 1))

#: Registration department code (position 1) -> organisation type codes (position 2) it may
#: issue, after GB 32100-2015 table 1 and its later additions (A, N).
DEPARTMENT_TYPES: dict[str, frozenset[str]] = {
    "1": frozenset("1239"),  # institutional staffing: organs, public institutions, groups
    "2": frozenset("19"),  # foreign affairs
    "3": frozenset("123459"),  # justice: law firms, notaries, legal services, ...
    "4": frozenset("19"),  # culture
    "5": frozenset("1239"),  # civil affairs: social groups, private non-enterprises, foundations
    "6": frozenset("129"),  # tourism
    "7": frozenset("129"),  # religious affairs
    "8": frozenset("19"),  # trade unions
    "9": frozenset("123"),  # market regulation: enterprises, individual businesses, co-ops
    "A": frozenset("19"),  # central military commission
    "N": frozenset("1239"),  # agriculture: rural collective economic organisations
    "Y": frozenset("1"),  # others
}


def _show(ch: str) -> str:
    return repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"


def _alphabet_problem(position: int, ch: str) -> str:
    hint = " (use upper case)" if ch != ch.upper() and ch.upper() in _VALUES else ""
    return f"credit code character {position}: expected one of {ALPHABET}, got {_show(ch)}{hint}"


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code.

    Raises ``ValueError`` (message naming the check) unless ``first17`` is 17 characters of
    :data:`ALPHABET`.
    """
    if len(first17) != LENGTH - 1:
        raise ValueError(f"credit code body length: expected 17, got {len(first17)}")
    total = 0
    for i, (ch, weight) in enumerate(zip(first17, _WEIGHTS, strict=True)):
        value = _VALUES.get(ch)
        if value is None:
            raise ValueError(_alphabet_problem(i + 1, ch))
        total += value * weight
    return ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: object) -> str | None:
    """Why ``code`` is not a valid code (the first failing check), or None if it is."""
    if not isinstance(code, str):
        return f"credit code: expected a string, got {type(code).__name__}"
    return _str_problem(code)


@functools.lru_cache(maxsize=4096)  # member ids are parsed on every exchange
def _str_problem(code: str) -> str | None:
    # (1): length
    if len(code) != LENGTH:
        return f"credit code length: expected 18, got {len(code)}"
    # (2): alphabet
    for i, ch in enumerate(code):
        if ch not in _VALUES:
            return _alphabet_problem(i + 1, ch)
    # (3): department and type
    department, kind = code[0], code[1]
    types = DEPARTMENT_TYPES.get(department)
    if types is None:
        return (
            f"credit code registration department: expected one of "
            f"{''.join(sorted(DEPARTMENT_TYPES))}, got {department}"
        )
    if kind not in types:
        return (
            f"credit code organisation type for department {department}: expected one of "
            f"{''.join(sorted(types))}, got {kind}"
        )
    # (4): division code
    if not code[2:8].isdigit():
        return f"credit code division code: expected 6 digits, got {code[2:8]}"
    # (5): check character
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"credit code check character mismatch: expected {expected}, got {code[17]}"
    return None


def is_valid_uscc(code: object) -> bool:
    """True if ``code`` passes every check of :func:`uscc_problem`; never raises."""
    return uscc_problem(code) is None
