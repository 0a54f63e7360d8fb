"""Data-driven vectors for GB 11643 / GB 32100 / other documents (tests/vectors/identity)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from gateway.identity import DocumentType, InvalidCreditCode, InvalidIdNumber
from gateway.identity.validation import (
    validate_document_number,
    validate_resident_id,
    validate_uscc,
)
from tests.vectors.loader import ROOT, load

RESIDENT_IDS = load("identity/resident_ids.json")
USCCS = load("identity/uscc.json")
DOCUMENTS = load("identity/documents.json")


def _today(relative: str) -> date:
    header = json.loads((ROOT / relative).read_text(encoding="utf-8"))
    return date.fromisoformat(header["today"])


TODAY = _today("identity/resident_ids.json")


def _ids(cases):
    return [c["desc"] for c in cases]


def _run(case, validate, error_type):
    if "want" in case:
        assert validate(case["input"]) == case["want"]
    else:
        with pytest.raises(error_type) as info:
            validate(case["input"])
        assert str(info.value) == case["want_error"]


@pytest.mark.parametrize("case", RESIDENT_IDS, ids=_ids(RESIDENT_IDS))
def test_resident_id_vector(case):
    _run(case, lambda n: validate_resident_id(n, today=TODAY), InvalidIdNumber)


@pytest.mark.parametrize("case", USCCS, ids=_ids(USCCS))
def test_uscc_vector(case):
    _run(case, validate_uscc, InvalidCreditCode)


@pytest.mark.parametrize("case", DOCUMENTS, ids=_ids(DOCUMENTS))
def test_document_vector(case):
    kind = DocumentType(case["document_type"])
    _run(case, lambda n: validate_document_number(kind, n, today=TODAY), InvalidIdNumber)


def test_vectors_cover_what_the_brief_requires():
    valid_ids = {c["want"] for c in RESIDENT_IDS if "want" in c}
    assert "11010519491231002X" in valid_ids
    assert {n[-1] for n in valid_ids} == set("0123456789X")
    valid_codes = {c["want"] for c in USCCS if "want" in c}
    assert "91350100M000100Y43" in valid_codes
    assert any(code.endswith("0") for code in valid_codes)
    errors = " ".join(c.get("want_error", "") for c in RESIDENT_IDS + USCCS)
    for needle in ("19990230", "region code 99", "length", "got 'I'", "got 'O'", "got 'Z'"):
        assert needle in errors


def test_generator_is_reproducible(tmp_path):
    """The checked-in vectors are exactly what the generator writes."""
    import runpy

    generator = Path(ROOT / "identity" / "generate.py")
    module = runpy.run_path(str(generator))
    for name, make in (
        ("resident_ids.json", module["resident_id_cases"]),
        ("uscc.json", module["uscc_cases"]),
        ("documents.json", module["document_cases"]),
    ):
        on_disk = json.loads((ROOT / "identity" / name).read_text(encoding="utf-8"))["cases"]
        assert on_disk == make(), f"{name} is stale: re-run {generator}"
