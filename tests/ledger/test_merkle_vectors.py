"""Data-driven Merkle vectors: the generated SM3 corruption cases and RFC 6962 (SHA-256).

``tests/vectors/merkle/{inclusion,consistency}/**.json`` are one case each, made by the
checked-in ``tests/vectors/merkle/generate.py``; one loader drives them all, one test per
file, so every failing case is reported by name. ``rfc6962_sha256.json`` holds
transparency-dev/merkle's reference proofs, checked with an injected SHA-256 hasher.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import ProofError
from ledger.merkle import (
    RFC9162Hasher,
    consistency_proof,
    inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.vectors.loader import load

VECTORS = Path(__file__).parents[1] / "vectors" / "merkle"
CASE_FILES = sorted(
    p.relative_to(VECTORS).as_posix()
    for kind in ("inclusion", "consistency")
    for p in (VECTORS / kind).rglob("*.json")
)
INCLUSION_KEYS = {"leaf_index", "tree_size", "leaf_hash", "proof", "root"}
CONSISTENCY_KEYS = {"old_size", "new_size", "proof", "old_root", "new_root"}


def load_case(relative: str) -> dict[str, Any]:
    case = json.loads((VECTORS / relative).read_text(encoding="utf-8"))
    assert "generate.py" in case["source"], f"{relative}: header must name its generator"
    assert case["desc"] and isinstance(case["want_err"], bool), relative
    return case


def run_case(relative: str, case: dict[str, Any]) -> None:
    """Run one vector through the verifier; raises ProofError if it does not verify."""
    proof = [bytes.fromhex(p) for p in case["proof"]]
    if relative.startswith("inclusion/"):
        assert INCLUSION_KEYS <= case.keys(), relative
        verify_inclusion(
            bytes.fromhex(case["leaf_hash"]),
            case["leaf_index"],
            case["tree_size"],
            proof,
            bytes.fromhex(case["root"]),
        )
    else:
        assert CONSISTENCY_KEYS <= case.keys(), relative
        verify_consistency(
            case["old_size"],
            case["new_size"],
            proof,
            bytes.fromhex(case["old_root"]),
            bytes.fromhex(case["new_root"]),
        )


@pytest.mark.parametrize("relative", CASE_FILES)
def test_vector(relative: str) -> None:
    case = load_case(relative)
    if case["want_err"]:
        with pytest.raises(ProofError) as caught:
            run_case(relative, case)
        assert str(caught.value), relative
    else:
        run_case(relative, case)


def test_vector_set_is_complete() -> None:
    assert 100 <= len(CASE_FILES) <= 250
    groups: dict[str, set[str]] = {}
    for name in CASE_FILES:
        groups.setdefault(Path(name).parent.as_posix(), set()).add(Path(name).stem)
    for group, names in groups.items():
        if group.endswith("edge-cases"):
            continue
        wanted = {"valid", "extra-element-appended", "leading-garbage-element"}
        wanted.add("root-wrong-length" if group.startswith("inclusion") else "swapped-roots")
        if load_case(f"{group}/valid.json")["proof"]:
            wanted |= {"missing-last-element", "empty-proof", "proof-element-wrong-length"}
            assert any(n.startswith("modified-proof-") for n in names), group
        assert wanted <= names, (group, wanted - names)
        assert any(n.startswith("wrong-") and "size" in n for n in names), group
    # Besides valid proofs, only size changes that keep the proof's shape may verify.
    accepted = [n for n in CASE_FILES if not load_case(n)["want_err"]]
    for name in accepted:
        assert Path(name).stem == "valid" or "size" in Path(name).stem or "edge" in name, name


def test_generator_reproduces_checked_in_vectors(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "merkle_vector_generator", VECTORS / "generate.py"
    )
    assert spec and spec.loader
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    written = generator.main(tmp_path)
    fresh = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert written == len(fresh)
    assert fresh == CASE_FILES
    stale = [n for n in fresh if (tmp_path / n).read_bytes() != (VECTORS / n).read_bytes()]
    assert not stale, f"rerun tests/vectors/merkle/generate.py: {stale}"


# --- RFC 6962 reference proofs (SHA-256) through the injected hasher ---------------------

SHA256 = RFC9162Hasher(lambda data: hashlib.sha256(data).digest(), 32, "sha256")
RFC6962 = load("merkle/rfc6962_sha256.json")
TREE = next(c for c in RFC6962 if c["kind"] == "tree")
LEAVES = [bytes.fromhex(x) for x in TREE["leaves"]]
ROOTS = [bytes.fromhex(x) for x in TREE["roots"]]


def test_rfc6962_roots_with_sha256() -> None:
    for size, want in enumerate(ROOTS):
        assert root_hash(LEAVES[:size], hasher=SHA256) == want, size


@pytest.mark.parametrize(
    "case", [c for c in RFC6962 if c["kind"] != "tree"], ids=lambda c: f"{c['kind']} {c['desc']}"
)
def test_rfc6962_proofs_with_sha256(case: dict[str, Any]) -> None:
    want = [bytes.fromhex(p) for p in case["proof"]]
    if case["kind"] == "inclusion":
        index, size = case["index"], case["size"]
        assert inclusion_proof(LEAVES[:size], index, hasher=SHA256) == want
        leaf = SHA256.leaf(LEAVES[index])
        verify_inclusion(leaf, index, size, want, ROOTS[size], hasher=SHA256)
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, want, ROOTS[size])  # SM3 default: no match
    else:
        old, new = case["old_size"], case["new_size"]
        assert consistency_proof(LEAVES[:new], old, hasher=SHA256) == want
        verify_consistency(old, new, want, ROOTS[old], ROOTS[new], hasher=SHA256)
