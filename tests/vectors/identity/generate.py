"""Generate the identity test vectors in this directory (run from the repository root).

    .venv/bin/python tests/vectors/identity/generate.py

Check characters are computed by the small, independent implementations below, written
from GB 11643-1999 and GB 32100-2015 and not from ``gateway.identity``, so the vectors test
the gateway rather than restate it. Invalid cases corrupt known-good numbers in every
systematic way (each wrong check character, substitutions, adjacent transpositions,
impossible dates, unknown regions, wrong lengths, excluded letters). Output is
deterministic: re-running must leave the files unchanged.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
TODAY = date(2025, 6, 1)  # the "today" the loader passes, so future-date cases stay fixed

# -- GB 11643-1999, independently -----------------------------------------------------------
ID_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]  # ISO 7064 MOD 11-2: 7 9 10 5 8 4 2 1 6 3 ...
assert ID_WEIGHTS == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_check(body: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def make_id(region: str, born: str, seq: str) -> str:
    body = region + born + seq
    return body + id_check(body)


# -- GB 32100-2015, independently -----------------------------------------------------------
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [3**i % 31 for i in range(17)]


def uscc_check(body: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def make_uscc(body: str) -> str:
    return body + uscc_check(body)


SOURCE_ID = (
    "GB 11643-1999 (citizen identification number). Published: the standard's worked "
    "examples 11010519491231002X and 440524188001010014 (born 1880: correct check digit "
    "but refused by our 1900-01-01 floor). Everything else is synthetic, made by "
    "tests/vectors/identity/generate.py with its own check-digit implementation; no real "
    "person's number is intended. Messages in want_error are the exact expected text."
)
SOURCE_USCC = (
    "GB 32100-2015 (unified social credit code). Published: 91350100M000100Y43 (the "
    "commonly cited example) and four widely published enterprise codes from public "
    "registration records whose check characters verify independently. Everything else is "
    "synthetic, made by tests/vectors/identity/generate.py."
)
SOURCE_DOCS = (
    "Shape rules for other documents as implemented (see docs/identity.md): HK/Macao permit "
    "H|M + 8 or 10 digits; Taiwan permit 8 or 10 digits; passport 5-9 of A-Z0-9 (ICAO 9303); "
    "permanent resident ID 2017 (3 letters + 12 digits) or 2023 (9 + GB 11643 shape). "
    "All synthetic, made by tests/vectors/identity/generate.py."
)


def valid(desc: str, value: str, want: str | None = None) -> dict:
    return {"desc": desc, "input": value, "want": want or value}


def invalid(desc: str, value: str, error: str) -> dict:
    return {"desc": desc, "input": value, "want_error": error}


def resident_id_cases() -> list[dict]:
    rng = random.Random(11643)
    cases = [
        valid("gb 11643 example 1 (check X)", "11010519491231002X"),
        valid(
            "gb 11643 example 1 lower-case x normalised", "11010519491231002x", "11010519491231002X"
        ),
    ]
    yrd = {"shanghai": "310101", "jiangsu": "320102", "zhejiang": "330106", "anhui": "340104"}
    for name, region in yrd.items():
        born = f"{rng.randint(1930, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        cases.append(
            valid(f"synthetic {name}", make_id(region, born, f"{rng.randint(0, 999):03d}"))
        )
    for region, what in (("810000", "hong kong"), ("820000", "macao"), ("830000", "taiwan")):
        cases.append(
            valid(f"synthetic residence permit {what}", make_id(region, "19850615", "123"))
        )
    cases.append(valid("leap day 2000-02-29", make_id("310101", "20000229", "001")))
    cases.append(valid("earliest birth date 1900-01-01", make_id("310101", "19000101", "001")))
    cases.append(
        valid("birth date equals today", make_id("310101", TODAY.strftime("%Y%m%d"), "001"))
    )
    seen: set[str] = set()
    seq = 0
    while len(seen) < 11:  # one valid number per check character 0..9, X
        number = make_id("320102", "19900101", f"{seq:03d}")
        if number[-1] not in seen:
            seen.add(number[-1])
            cases.append(valid(f"check character {number[-1]}", number))
        seq += 1

    base = make_id("310101", "19900307", "123")
    for ch in "0123456789X":
        if ch != base[-1]:
            cases.append(
                invalid(
                    f"wrong check character {ch}",
                    base[:17] + ch,
                    f"resident id check digit mismatch: expected {base[-1]}, got {ch}",
                )
            )
    for pos in (0, 3, 7, 13, 16):
        digit = str((int(base[pos]) + 1) % 10)
        bad = base[:pos] + digit + base[pos + 1 :]
        if bad[:2] == base[:2] and bad[6:14] == base[6:14]:  # keep region and date valid
            cases.append(
                invalid(
                    f"substituted digit at position {pos + 1}",
                    bad,
                    f"resident id check digit mismatch: expected {id_check(bad[:17])}, "
                    f"got {bad[17]}",
                )
            )
    for pos in (14, 15):
        if base[pos] != base[pos + 1]:
            bad = base[:pos] + base[pos + 1] + base[pos] + base[pos + 2 :]
            cases.append(
                invalid(
                    f"transposed digits at positions {pos + 1}-{pos + 2}",
                    bad,
                    f"resident id check digit mismatch: expected {id_check(bad[:17])}, "
                    f"got {bad[17]}",
                )
            )
    for born, why in (
        ("19990230", "february 30"),
        ("19990229", "february 29 in a common year"),
        ("19000229", "february 29 1900 (not a leap year)"),
        ("19991301", "month 13"),
        ("19990100", "day 00"),
        ("19990431", "april 31"),
    ):
        cases.append(
            invalid(
                f"birth date {why}",
                make_id("310101", born, "123"),
                f"resident id birth date {born} is not a calendar date",
            )
        )
    cases.append(
        invalid(
            "birth date before 1900",
            make_id("310101", "18991231", "123"),
            "resident id birth date 18991231 is before 1900-01-01",
        )
    )
    cases.append(
        invalid(
            "gb 11643 example 2, born 1880, refused by the 1900 floor",
            "440524188001010014",
            "resident id birth date 18800101 is before 1900-01-01",
        )
    )
    tomorrow = (TODAY + timedelta(days=1)).strftime("%Y%m%d")
    cases.append(
        invalid(
            "birth date tomorrow",
            make_id("310101", tomorrow, "123"),
            f"resident id birth date {tomorrow} is in the future: today is {TODAY.isoformat()}",
        )
    )
    for region in ("99", "00", "10", "16", "84", "72"):
        cases.append(
            invalid(
                f"region {region} not province-level",
                make_id(region + "0101", "19900307", "123"),
                f"resident id region code {region} is not a province-level code",
            )
        )
    cases += [
        invalid("length 17", base[:17], "resident id length: expected 18, got 17"),
        invalid("length 19", base + "1", "resident id length: expected 18, got 19"),
        invalid(
            "first-generation 15 digits",
            "310101900307123",
            "resident id length: expected 18, got 15 (15-digit first-generation numbers "
            "are not accepted)",
        ),
        invalid("empty", "", "resident id length: expected 18, got 0"),
        invalid(
            "letter in body",
            base[:4] + "A" + base[5:],
            "resident id character 5: expected a digit, got 'A'",
        ),
        invalid(
            "full-width digit in body",
            base[:2] + "\uff11" + base[3:],
            "resident id character 3: expected a digit, got '\uff11'",
        ),
        invalid(
            "x inside the body",
            base[:16] + "X" + base[17],
            "resident id character 17: expected a digit, got 'X'",
        ),
        invalid(
            "check character Y",
            base[:17] + "Y",
            "resident id check character: expected a digit or X, got 'Y'",
        ),
        invalid(
            "surrounding space",
            " " + base[:17],
            "resident id character 1: expected a digit, got ' '",
        ),
    ]
    return cases


def uscc_cases() -> list[dict]:
    rng = random.Random(32100)
    body_chars = ALPHABET
    cases = [
        valid("commonly cited example", "91350100M000100Y43"),
        invalid(  # upper case only, as everywhere a code is checked (gateway.uscc)
            "commonly cited example, lower case",
            "91350100m000100y43",
            f"credit code character 9: expected one of {ALPHABET}, got 'm' (use upper case)",
        ),
        valid("widely published enterprise code 1", "914403001922038216"),
        valid("widely published enterprise code 2", "91440300708461136T"),
        valid("widely published enterprise code 3", "91110000100010433L"),
        valid("widely published enterprise code 4", "91330100716105852F"),
    ]

    def subject() -> str:
        return "".join(rng.choice(body_chars) for _ in range(8)) + rng.choice("0123456789X")

    for dept_type, what in (
        ("11", "organ"),
        ("12", "public institution"),
        ("13", "mass organisation"),
        ("19", "other staffing"),
        ("31", "law firm"),
        ("51", "social group"),
        ("52", "private non-enterprise unit"),
        ("53", "foundation"),
        ("59", "other civil affairs"),
        ("81", "trade union"),
        ("91", "enterprise"),
        ("92", "individual business"),
        ("93", "farmers' cooperative"),
        ("A1", "military public institution"),
        ("N2", "village collective"),
        ("Y1", "other department"),
    ):
        code = make_uscc(dept_type + "310000" + subject())
        cases.append(valid(f"synthetic {what} ({dept_type})", code))
    seen: set[str] = set()
    n = 0
    while len(seen) < 31:  # one valid code per check character, including 0 (31 -> 0)
        code = make_uscc(f"91320100{n:08d}X")
        if code[-1] not in seen:
            seen.add(code[-1])
            desc = "check character 0 (sum mod 31 = 0)" if code[-1] == "0" else None
            cases.append(valid(desc or f"check character {code[-1]}", code))
        n += 1

    base = make_uscc("91310000" + "MA1FL0QX" + "5")
    for ch in ALPHABET[::3]:
        if ch != base[-1]:
            cases.append(
                invalid(
                    f"wrong check character {ch}",
                    base[:17] + ch,
                    f"credit code check character mismatch: expected {base[-1]}, got {ch}",
                )
            )
    for pos in (8, 11, 16):
        repl = ALPHABET[(ALPHABET.index(base[pos]) + 1) % 31]
        bad = base[:pos] + repl + base[pos + 1 :]
        cases.append(
            invalid(
                f"substituted character at position {pos + 1}",
                bad,
                f"credit code check character mismatch: expected {uscc_check(bad[:17])}, "
                f"got {bad[17]}",
            )
        )
    for letter in "IOZSV":
        cases.append(
            invalid(
                f"excluded letter {letter} in body",
                base[:10] + letter + base[11:],
                f"credit code character 11: expected one of {ALPHABET}, got '{letter}'",
            )
        )
        cases.append(
            invalid(
                f"excluded letter {letter} as check character",
                base[:17] + letter,
                f"credit code character 18: expected one of {ALPHABET}, got '{letter}'",
            )
        )
    cases += [
        invalid("length 17", base[:17], "credit code length: expected 18, got 17"),
        invalid("length 19", base + "0", "credit code length: expected 18, got 19"),
        invalid("empty", "", "credit code length: expected 18, got 0"),
        invalid(
            "hyphen",
            base[:8] + "-" + base[9:],
            f"credit code character 9: expected one of {ALPHABET}, got '-'",
        ),
        invalid(
            "unknown registration department B",
            make_uscc("B1310000MA1FL0QX5"),
            "credit code registration department: expected one of 123456789ANY, got B",
        ),
        invalid(
            "unknown registration department 0",
            make_uscc("01310000MA1FL0QX5"),
            "credit code registration department: expected one of 123456789ANY, got 0",
        ),
        invalid(
            "type 4 under market regulation",
            make_uscc("94310000MA1FL0QX5"),
            "credit code organisation type for department 9: expected one of 123, got 4",
        ),
        invalid(
            "type 4 under civil affairs",
            make_uscc("54310000MA1FL0QX5"),
            "credit code organisation type for department 5: expected one of 1239, got 4",
        ),
        invalid(
            "letter in division code",
            make_uscc("9131A000MA1FL0QX5"),
            "credit code division code: expected 6 digits, got 31A000",
        ),
    ]
    return cases


def document_cases() -> list[dict]:
    fpr = "9" + "31" + "156" + "19800101" + "001"
    fpr += id_check(fpr)
    fpr_bad = fpr[:17] + ("0" if fpr[17] != "0" else "1")

    def doc(kind: str, case: dict) -> dict:
        return {"document_type": kind, **case}

    shape = "format: expected"
    return [
        doc("hk_macao_travel_permit", valid("hong kong card", "H12345678")),
        doc("hk_macao_travel_permit", valid("macao card", "M87654321")),
        doc("hk_macao_travel_permit", valid("old booklet 10 digits", "H1234567801")),
        doc("hk_macao_travel_permit", valid("lower case", "h12345678", "H12345678")),
        doc(
            "hk_macao_travel_permit",
            invalid(
                "wrong letter",
                "K12345678",
                f"hk/macao permit {shape} H or M then 8 or 10 digits, "
                "got 9 characters shaped A99999999",
            ),
        ),
        doc(
            "hk_macao_travel_permit",
            invalid(
                "9 digits",
                "H123456789",
                f"hk/macao permit {shape} H or M then 8 or 10 digits, "
                "got 10 characters shaped A999999999",
            ),
        ),
        doc("taiwan_travel_permit", valid("card 8 digits", "12345678")),
        doc("taiwan_travel_permit", valid("booklet 10 digits", "1234567890")),
        doc(
            "taiwan_travel_permit",
            invalid(
                "letter",
                "1234567A",
                f"taiwan permit {shape} 8 or 10 digits, got 8 characters shaped 9999999A",
            ),
        ),
        doc("foreign_passport", valid("alphanumeric", "E12345678")),
        doc("foreign_passport", valid("lower case", "ab123456", "AB123456")),
        doc(
            "foreign_passport",
            invalid(
                "too long",
                "AB12345678",
                f"foreign passport number {shape} 5 to 9 of A-Z, 0-9, "
                "got 10 characters shaped AA99999999",
            ),
        ),
        doc(
            "foreign_passport",
            invalid(
                "space",
                "AB 12345",
                f"foreign passport number {shape} 5 to 9 of A-Z, 0-9, "
                "got 8 characters shaped AA?99999",
            ),
        ),
        doc("foreign_permanent_resident_id", valid("2017 card", "USA310080010001")),
        doc("foreign_permanent_resident_id", valid("2023 card", fpr)),
        doc(
            "foreign_permanent_resident_id",
            invalid(
                "2023 card wrong check digit",
                fpr_bad,
                "foreign permanent resident id check digit mismatch: "
                f"expected {fpr[17]}, got {fpr_bad[17]}",
            ),
        ),
        doc(
            "foreign_permanent_resident_id",
            invalid(
                "18 digits not starting with 9",
                "3" + fpr[1:],
                "foreign permanent resident id first digit: expected 9, got 3",
            ),
        ),
    ]


def write(name: str, source: str, cases: list[dict]) -> None:
    document = {
        "source": source,
        "generator": "tests/vectors/identity/generate.py",
        "today": TODAY.isoformat(),
        "cases": cases,
    }
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    (HERE / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write("resident_ids.json", SOURCE_ID, resident_id_cases())
    write("uscc.json", SOURCE_USCC, uscc_cases())
    write("documents.json", SOURCE_DOCS, document_cases())
