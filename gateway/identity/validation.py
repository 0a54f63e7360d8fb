"""Format and check-character validation of identity document numbers and credit codes.

Standards:

* GB 11643-1999 *Citizen identification number*: 6-digit address code, 8-digit birth date,
  3-digit sequence, 1 check character (ISO 7064 MOD 11-2: weights 2^(17-i) mod 11,
  ``sum mod 11`` mapped 0..10 to ``1 0 X 9 8 7 6 5 4 3 2``).
* GB 32100-2015 *Unified social credit code for legal persons and other organisations*:
  registration department (1), organisation type (1), registration-authority division code
  (6), subject identifier (9), check character (1); alphabet without I, O, Z, S, V;
  weights 3^i mod 31; check = 31 - (sum mod 31), 31 -> 0.

Every ``validate_*`` function returns the normalised number (``x`` -> ``X``, upper case; a
credit code is never normalised: it must be upper case) or
raises :class:`InvalidIdNumber` / :class:`InvalidCreditCode` naming the failing check.
Checks run in a fixed order (length, alphabet, structure, dates, check character) so that
the first failure reported is the most basic one.
"""

from __future__ import annotations

import re
from datetime import date

from gateway import uscc
from gateway.identity._enums import DocumentType
from gateway.identity.errors import InvalidCreditCode, InvalidIdNumber

__all__ = [
    "PROVINCE_CODES",
    "USCC_ALPHABET",
    "USCC_DEPARTMENT_TYPES",
    "compute_id_check_digit",
    "compute_uscc_check_char",
    "is_valid_resident_id",
    "is_valid_uscc",
    "resident_id_birth_date",
    "validate_document_number",
    "validate_foreign_passport",
    "validate_foreign_permanent_resident_id",
    "validate_hk_macao_permit",
    "validate_resident_id",
    "validate_taiwan_permit",
    "validate_uscc",
]

# -- GB 11643-1999 --------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_EARLIEST_BIRTH = date(1900, 1, 1)

#: Province-level codes (GB/T 2260) that may open a resident ID number: the 31 mainland
#: provinces, 71 Taiwan, 81 Hong Kong, 82 Macao (residence permits), 83 Taiwan residents'
#: residence permits.
PROVINCE_CODES: frozenset[str] = frozenset(
    [str(c) for c in range(11, 16)]
    + [str(c) for c in range(21, 24)]
    + [str(c) for c in range(31, 38)]
    + [str(c) for c in range(41, 47)]
    + [str(c) for c in range(50, 55)]
    + [str(c) for c in range(61, 66)]
    + ["71", "81", "82", "83"]
)


def compute_id_check_digit(first17: str) -> str:
    """The GB 11643 check character (``0``-``9`` or ``X``) for 17 leading digits.

    Raises :class:`InvalidIdNumber` unless ``first17`` is exactly 17 ASCII digits.
    """
    if len(first17) != 17 or not _is_ascii_digits(first17):
        raise InvalidIdNumber(
            f"resident id body: expected 17 ascii digits, got {len(first17)} characters"
        )
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _parse_birth_date(digits: str, label: str, today: date | None) -> date:
    try:
        born = date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidIdNumber(f"{label} birth date {digits} is not a calendar date") from None
    if born < _EARLIEST_BIRTH:
        raise InvalidIdNumber(f"{label} birth date {digits} is before 1900-01-01")
    today = today or date.today()
    if born > today:
        raise InvalidIdNumber(
            f"{label} birth date {digits} is in the future: today is {today.isoformat()}"
        )
    return born


def _check_gb11643_body(number: str, label: str) -> str:
    """Length, alphabet and case for an 18-character GB 11643-shaped number; normalised."""
    if not isinstance(number, str):
        raise InvalidIdNumber(f"{label}: expected a string, got {type(number).__name__}")
    if len(number) != 18:
        hint = " (15-digit first-generation numbers are not accepted)" if len(number) == 15 else ""
        raise InvalidIdNumber(f"{label} length: expected 18, got {len(number)}{hint}")
    for i, ch in enumerate(number[:17]):
        if not ("0" <= ch <= "9"):
            raise InvalidIdNumber(
                f"{label} character {i + 1}: expected a digit, got {_show_char(ch)}"
            )
    last = number[17]
    if not ("0" <= last <= "9" or last in "Xx"):
        raise InvalidIdNumber(
            f"{label} check character: expected a digit or X, got {_show_char(last)}"
        )
    return number[:17] + last.upper()


def _check_gb11643_check(number: str, label: str) -> None:
    expected = compute_id_check_digit(number[:17])
    if number[17] != expected:
        raise InvalidIdNumber(
            f"{label} check digit mismatch: expected {expected}, got {number[17]}"
        )


def validate_resident_id(number: str, *, today: date | None = None) -> str:
    """Validate a citizen identification number (GB 11643-1999); return it normalised.

    Checks, in order: 18 characters; 17 ASCII digits then a digit or ``X``/``x``; a
    province-level region code (:data:`PROVINCE_CODES`); a birth date that is a calendar
    date, not before 1900-01-01 and not after ``today`` (default: the local date); the
    check character. Lower-case ``x`` is accepted and returned as ``X``.

    Raises :class:`InvalidIdNumber` naming the first failing check.
    """
    label = "resident id"
    number = _check_gb11643_body(number, label)
    region = number[:2]
    if region not in PROVINCE_CODES:
        raise InvalidIdNumber(f"{label} region code {region} is not a province-level code")
    _parse_birth_date(number[6:14], label, today)
    _check_gb11643_check(number, label)
    return number


def is_valid_resident_id(number: object, *, today: date | None = None) -> bool:
    """True when :func:`validate_resident_id` accepts ``number``; never raises."""
    if not isinstance(number, str):
        return False
    try:
        validate_resident_id(number, today=today)
    except InvalidIdNumber:
        return False
    return True


def resident_id_birth_date(number: str) -> date:
    """The birth date encoded in a resident ID number that :func:`validate_resident_id` accepts."""
    number = validate_resident_id(number)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


# -- other personal documents ----------------------------------------------------------------

_HK_MACAO_RE = re.compile(r"[HM](?:[0-9]{8}|[0-9]{10})")
_TAIWAN_RE = re.compile(r"[0-9]{8}|[0-9]{10}")
_PASSPORT_RE = re.compile(r"[A-Z0-9]{5,9}")
_FPR_2017_RE = re.compile(r"[A-Z]{3}[0-9]{12}")


def validate_hk_macao_permit(number: str) -> str:
    """Mainland Travel Permit for Hong Kong and Macao Residents (港澳居民来往内地通行证).

    ``H`` (Hong Kong) or ``M`` (Macao) followed by 8 digits (card since 2013) or 10 digits
    (earlier booklet: 8 digits and a 2-digit issue count). Upper-cased before checking.
    """
    return _match(number, _HK_MACAO_RE, "hk/macao permit", "H or M then 8 or 10 digits")


def validate_taiwan_permit(number: str) -> str:
    """Mainland Travel Permit for Taiwan Residents (台湾居民来往大陆通行证).

    8 digits (card since 2015) or 10 digits (earlier booklet numbers).
    """
    return _match(number, _TAIWAN_RE, "taiwan permit", "8 or 10 digits")


def validate_foreign_passport(number: str) -> str:
    """A foreign passport number: 5 to 9 of ``A-Z 0-9`` (the ICAO 9303 document number field).

    Only the shape is checked; no country-specific rules, no MRZ check digit.
    """
    return _match(number, _PASSPORT_RE, "foreign passport number", "5 to 9 of A-Z, 0-9")


def validate_foreign_permanent_resident_id(number: str, *, today: date | None = None) -> str:
    """Foreign Permanent Resident ID Card (外国人永久居留身份证) number.

    Two generations are accepted:

    * 2023 card: 18 characters shaped like GB 11643 (17 digits and a check character) with
      first digit ``9``, a calendar birth date in positions 7-14 and a GB 11643 check
      character;
    * 2017 card: 3 letters (nationality) followed by 12 digits; shape only.
    """
    label = "foreign permanent resident id"
    if isinstance(number, str) and len(number) == 15:
        return _match(number, _FPR_2017_RE, label, "3 letters then 12 digits (2017 card)")
    number = _check_gb11643_body(number, label)
    if number[0] != "9":
        raise InvalidIdNumber(f"{label} first digit: expected 9, got {number[0]}")
    _parse_birth_date(number[6:14], label, today)
    _check_gb11643_check(number, label)
    return number


def _match(number: str, pattern: re.Pattern[str], label: str, shape: str) -> str:
    if not isinstance(number, str):
        raise InvalidIdNumber(f"{label}: expected a string, got {type(number).__name__}")
    normalised = number.upper()
    if not pattern.fullmatch(normalised):
        raise InvalidIdNumber(
            f"{label} format: expected {shape}, got {_describe_shape(normalised)}"
        )
    return normalised


def validate_document_number(
    document_type: DocumentType, number: str, *, today: date | None = None
) -> str:
    """Validate ``number`` by the rules of ``document_type``; return it normalised."""
    document_type = DocumentType(document_type)
    if document_type is DocumentType.RESIDENT_ID_CARD:
        return validate_resident_id(number, today=today)
    if document_type is DocumentType.HK_MACAO_TRAVEL_PERMIT:
        return validate_hk_macao_permit(number)
    if document_type is DocumentType.TAIWAN_TRAVEL_PERMIT:
        return validate_taiwan_permit(number)
    if document_type is DocumentType.FOREIGN_PASSPORT:
        return validate_foreign_passport(number)
    return validate_foreign_permanent_resident_id(number, today=today)


# -- GB 32100-2015: the one validator is gateway.uscc --------------------------------------

#: The 31 characters of GB 32100; the letters I, O, Z, S, V are excluded.
USCC_ALPHABET = uscc.ALPHABET
#: Registration department (position 1) -> the organisation types (position 2) it issues.
USCC_DEPARTMENT_TYPES = uscc.DEPARTMENT_TYPES


def compute_uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the 17 leading characters of a credit code.

    Raises :class:`InvalidCreditCode` unless ``first17`` is 17 characters of
    :data:`USCC_ALPHABET` (upper case).
    """
    try:
        return uscc.check_character(first17)
    except ValueError as exc:
        raise InvalidCreditCode(str(exc)) from None


def validate_uscc(code: str) -> str:
    """Validate a unified social credit code (GB 32100-2015, :mod:`gateway.uscc`); return it.

    Upper case only (as everywhere else a code is checked): a lower-case code is refused.
    Raises :class:`InvalidCreditCode` naming the first failing check.
    """
    problem = uscc.uscc_problem(code)
    if problem is not None:
        raise InvalidCreditCode(problem)
    return code


def is_valid_uscc(code: object) -> bool:
    """True when :func:`validate_uscc` accepts ``code``; never raises."""
    return uscc.is_valid_uscc(code)


def _describe_shape(text: str) -> str:
    """A shape like ``A9999999`` (letters -> A, digits -> 9, other -> ?): never the value."""
    out = []
    for ch in text[:24]:
        if ch.isascii() and ch.isdigit():
            out.append("9")
        elif ch.isascii() and ch.isalpha():
            out.append("A")
        else:
            out.append("?")
    suffix = "..." if len(text) > 24 else ""
    return f"{len(text)} characters shaped {''.join(out)}{suffix}"


def _show_char(ch: str) -> str:
    return repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"
