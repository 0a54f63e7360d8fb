"""ledger.merkle against a naive RFC 9162 reference, tampering, edge cases and properties.

The reference below is written straight from RFC 9162 section 2.1 (recursive MTH, PATH and
SUBPROOF) over SM3 from ``hashlib`` (the system OpenSSL), so it shares no code with
``ledger``. It is memoised over leaf ranges of one fixed entry list: every tree tested is a
prefix of that list, which makes every size 0..300 with every index affordable.
"""

from __future__ import annotations

import hashlib
from functools import cache

import pytest
from gmssl import func as gm_func
from gmssl import sm3 as gm_sm3
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.crypto import sm3
from ledger.errors import ProofError
from ledger.merkle import (
    EMPTY_ROOT,
    SM3_HASHER,
    RootMismatchError,
    consistency_proof,
    consistency_proof_from_leaf_hashes,
    consistency_proof_length,
    consistency_proof_ranges,
    hash_from_perfect_subtrees,
    inclusion_proof,
    inclusion_proof_from_leaf_hashes,
    inclusion_proof_length,
    inclusion_proof_ranges,
    leaf_hash,
    node_hash,
    perfect_subtrees,
    root_from_leaf_hashes,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 300

# --- the naive reference -----------------------------------------------------------------


def ref_sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def ref_leaf(data: bytes) -> bytes:
    return ref_sm3(b"\x00" + data)


def ref_node(left: bytes, right: bytes) -> bytes:
    return ref_sm3(b"\x01" + left + right)


def ref_split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


ENTRIES = [b""] + [bytes([i % 251]) * (i % 7) + b"entry-%d" % i for i in range(1, MAX_SIZE)]


@cache
def ref_mth(lo: int, hi: int) -> bytes:
    if hi == lo:
        return ref_sm3(b"")
    if hi - lo == 1:
        return ref_leaf(ENTRIES[lo])
    k = ref_split(hi - lo)
    return ref_node(ref_mth(lo, lo + k), ref_mth(lo + k, hi))


def ref_path(m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]) of RFC 9162 section 2.1.3.1."""
    if hi - lo == 1:
        return []
    k = ref_split(hi - lo)
    if m < k:
        return [*ref_path(m, lo, lo + k), ref_mth(lo + k, hi)]
    return [*ref_path(m - k, lo + k, hi), ref_mth(lo, lo + k)]


def ref_subproof(m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b) of RFC 9162 section 2.1.4.1."""
    if m == hi - lo:
        return [] if complete else [ref_mth(lo, hi)]
    k = ref_split(hi - lo)
    if m <= k:
        return [*ref_subproof(m, lo, lo + k, complete), ref_mth(lo + k, hi)]
    return [*ref_subproof(m - k, lo + k, hi, False), ref_mth(lo, lo + k)]


def ref_proof(m: int, n: int) -> list[bytes]:
    return [] if m in (0, n) else ref_subproof(m, 0, n, True)


def ref_path_sides(m: int, size: int) -> tuple[str, ...]:
    """Which side each inclusion proof element joins on; the whole "shape" of the fold."""
    sides, lo, hi = [], 0, size
    while hi - lo > 1:
        k = ref_split(hi - lo)
        if m < lo + k:
            sides.append("right")
            hi = lo + k
        else:
            sides.append("left")
            lo += k
    return tuple(reversed(sides))


def ref_consistency_shape(m: int, n: int) -> tuple:
    """Everything RFC 9162 2.1.4.2 does with a consistency proof of (m, n), as data.

    The seed (old root or first element), then per element whether it joins both running
    hashes on the left or only the new one on the right.
    """
    if m in (0, n):
        return ("trivial", m == 0)
    lo, hi, rel, steps, complete = 0, n, m, [], True
    while rel != hi - lo:
        k = ref_split(hi - lo)
        if rel <= k:
            steps.append("right")
            hi = lo + k
        else:
            steps.append("left")
            lo, rel, complete = lo + k, rel - k, False
    return ("old root" if complete else "element", tuple(reversed(steps)))


class MemoSM3:
    """SM3 tree hasher with memoised results, to make the exhaustive sweeps affordable.

    Every tree in the sweep is a prefix of ENTRIES, so the distinct nodes are few.
    """

    digest_size = 32

    def __init__(self) -> None:
        self._leaves: dict[bytes, bytes] = {}
        self._nodes: dict[bytes, bytes] = {}

    def leaf(self, data: bytes) -> bytes:
        found = self._leaves.get(data)
        if found is None:
            found = self._leaves[data] = SM3_HASHER.leaf(data)
        return found

    def node(self, left: bytes, right: bytes) -> bytes:
        key = left + right
        found = self._nodes.get(key)
        if found is None:
            found = self._nodes[key] = SM3_HASHER.node(left, right)
        return found

    def empty(self) -> bytes:
        return SM3_HASHER.empty()


MEMO = MemoSM3()


def flip(value: bytes, bit: int) -> bytes:
    raw = bytearray(value)
    raw[bit // 8] ^= 1 << (bit % 8)
    return bytes(raw)


# --- known answers and the public surface ------------------------------------------------


def test_sm3_known_answer() -> None:
    assert sm3(b"abc").hex() == ("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")


def test_empty_root_is_sm3_of_empty_string() -> None:
    assert EMPTY_ROOT == sm3(b"") == ref_sm3(b"")
    assert EMPTY_ROOT.hex() == "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
    assert root_hash([]) == root_from_leaf_hashes([]) == EMPTY_ROOT
    assert hash_from_perfect_subtrees([]) == EMPTY_ROOT


@pytest.mark.parametrize("data", [b"", b"abc", b"\x00\x01", bytes(range(256)), b"x" * 1000])
def test_leaf_hash_matches_gmssl(data: bytes) -> None:
    want = gm_sm3.sm3_hash(gm_func.bytes_to_list(b"\x00" + data))
    assert leaf_hash(data).hex() == want
    assert root_hash([data]) == leaf_hash(data)


@pytest.mark.parametrize(
    ("left", "right"),
    [(bytes(32), bytes(32)), (sm3(b"a"), sm3(b"b")), (EMPTY_ROOT, leaf_hash(b"abc"))],
)
def test_node_hash_matches_gmssl(left: bytes, right: bytes) -> None:
    want = gm_sm3.sm3_hash(gm_func.bytes_to_list(b"\x01" + left + right))
    assert node_hash(left, right).hex() == want
    assert root_from_leaf_hashes([left, right]) == node_hash(left, right)


def test_all_is_sorted_and_complete() -> None:
    def isort_key(name: str) -> tuple[int, str]:  # constants, classes, functions (RUF022)
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert merkle.__all__ == sorted(merkle.__all__, key=isort_key)
    for name in merkle.__all__:
        assert hasattr(merkle, name), name
    for name in ("leaf_hash", "node_hash", "EMPTY_ROOT", "root_hash", "verify_inclusion"):
        assert name in merkle.__all__


def test_default_hasher_is_a_log_hasher() -> None:
    assert isinstance(SM3_HASHER, merkle.LogHasher)
    assert isinstance(MEMO, merkle.LogHasher)
    assert SM3_HASHER.digest_size == merkle.HASH_SIZE == 32
    assert SM3_HASHER.leaf(b"abc") == sm3(b"\x00abc")
    assert SM3_HASHER.node(b"a" * 32, b"b" * 32) == sm3(b"\x01" + b"a" * 32 + b"b" * 32)


def test_hasher_rejects_a_wrong_digest_size() -> None:
    with pytest.raises(ValueError, match="32-byte digests, not 20"):
        merkle.RFC9162Hasher(sm3, 20, "sm3-truncated")


def test_memo_hasher_agrees_with_sm3() -> None:
    entries = ENTRIES[:37]
    assert root_hash(entries, hasher=MEMO) == root_hash(entries) == ref_mth(0, 37)


# --- exhaustive sweep against the reference ----------------------------------------------


@pytest.mark.parametrize("size", range(MAX_SIZE + 1))
def test_every_inclusion_proof_matches_reference(size: int) -> None:
    entries = ENTRIES[:size]
    root = root_hash(entries)
    assert root == ref_mth(0, size)
    assert root_from_leaf_hashes([ref_leaf(e) for e in entries]) == root
    whole = [ref_mth(a, b) for a, b in perfect_subtrees(0, size)]
    assert hash_from_perfect_subtrees(whole) == root
    for index in range(size):
        proof = inclusion_proof(entries, index, hasher=MEMO)
        assert proof == ref_path(index, 0, size), (index, size)
        ranges = inclusion_proof_ranges(index, size)
        assert [ref_mth(a, b) for a, b in ranges] == proof
        for a, b in ranges:
            parts = [ref_mth(c, d) for c, d in perfect_subtrees(a, b)]
            assert hash_from_perfect_subtrees(parts, hasher=MEMO) == ref_mth(a, b)
        assert len(proof) == inclusion_proof_length(index, size)
        verify_inclusion(ref_leaf(entries[index]), index, size, proof, root)


def _old_sizes(size: int) -> list[int]:
    if size <= 128:
        return list(range(size + 1))
    powers = {1 << i for i in range(size.bit_length()) if 1 << i <= size}
    edges = {0, 1, 2, 3, size - 2, size - 1, size}
    return sorted(set(range(0, size + 1, 5)) | powers | {p - 1 for p in powers} | edges)


@pytest.mark.parametrize("size", range(MAX_SIZE + 1))
def test_every_consistency_proof_matches_reference(size: int) -> None:
    entries = ENTRIES[:size]
    new_root = ref_mth(0, size)
    for old_size in _old_sizes(size):
        proof = consistency_proof(entries, old_size, hasher=MEMO)
        assert proof == ref_proof(old_size, size), (old_size, size)
        ranges = consistency_proof_ranges(old_size, size)
        assert [ref_mth(a, b) for a, b in ranges] == proof
        for a, b in ranges:
            parts = [ref_mth(c, d) for c, d in perfect_subtrees(a, b)]
            assert hash_from_perfect_subtrees(parts, hasher=MEMO) == ref_mth(a, b)
        assert len(proof) == consistency_proof_length(old_size, size)
        verify_consistency(old_size, size, proof, ref_mth(0, old_size), new_root)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 64, 100])
def test_leaf_hash_variants_use_the_default_hasher(size: int) -> None:
    hashes = [leaf_hash(e) for e in ENTRIES[:size]]
    for index in range(size):
        assert inclusion_proof_from_leaf_hashes(hashes, index) == ref_path(index, 0, size)
    for old_size in range(size + 1):
        assert consistency_proof_from_leaf_hashes(hashes, old_size) == ref_proof(old_size, size)
    assert consistency_proof(ENTRIES[:size], size // 2) == ref_proof(size // 2, size)
    assert inclusion_proof(ENTRIES[:size], size - 1) == ref_path(size - 1, 0, size)


def test_perfect_subtrees_are_aligned_and_cover_the_range() -> None:
    for end in range(0, 70):
        for start in range(end + 1):
            width = end - start
            if width and start % (1 << (width - 1).bit_length()):
                with pytest.raises(ValueError, match="not a node"):
                    perfect_subtrees(start, end)
                continue
            parts = perfect_subtrees(start, end)
            assert [p[0] for p in parts[1:]] == [p[1] for p in parts[:-1]]
            assert (parts[0][0] if parts else start) == start
            assert (parts[-1][1] if parts else end) == end
            for a, b in parts:
                assert (b - a) & (b - a - 1) == 0 and a % (b - a) == 0
            assert len(parts) == width.bit_count()
    with pytest.raises(ValueError, match="bad leaf range"):
        perfect_subtrees(5, 4)


# --- every single-bit flip, changed index and changed size is rejected -------------------

INCLUSION_TAMPER = [(i, n) for n in range(1, 17) for i in range(n)] + [
    (i, n) for n in (31, 32, 33, 100, 255) for i in sorted({0, 1, n // 2, n - 2, n - 1})
]


@pytest.mark.parametrize(("index", "size"), INCLUSION_TAMPER)
def test_tampered_inclusion_is_rejected(index: int, size: int) -> None:
    leaf, proof, root = ref_leaf(ENTRIES[index]), ref_path(index, 0, size), ref_mth(0, size)
    verify_inclusion(leaf, index, size, proof, root)
    for j in range(len(proof)):
        for bit in range(256):
            bad = [*proof[:j], flip(proof[j], bit), *proof[j + 1 :]]
            with pytest.raises(RootMismatchError):
                verify_inclusion(leaf, index, size, bad, root)
    for bit in range(256):
        with pytest.raises(RootMismatchError):
            verify_inclusion(leaf, index, size, proof, flip(root, bit))
        with pytest.raises(RootMismatchError):
            verify_inclusion(flip(leaf, bit), index, size, proof, root)
    for other in range(-1, size + 2):
        if other != index:
            with pytest.raises(ProofError):
                verify_inclusion(leaf, other, size, proof, root)
    # A size change goes unnoticed exactly when it leaves the proof's shape unchanged (for
    # example index 0 of 5 and of 6): RFC 9162 binds the size through the signed checkpoint.
    for other in range(0, 2 * size + 3):
        if other == size:
            continue
        if other > index and ref_path_sides(index, other) == ref_path_sides(index, size):
            verify_inclusion(leaf, index, other, proof, root)
        else:
            with pytest.raises(ProofError):
                verify_inclusion(leaf, index, other, proof, root)


CONSISTENCY_TAMPER = [(m, n) for n in range(1, 17) for m in range(n + 1)] + [
    (m, n) for n in (31, 32, 33, 100, 255) for m in sorted({1, 2, n // 2, 16, n - 1})
]


def _rejected_consistency(m: int, n: int, proof: list[bytes], old: bytes, new: bytes) -> bool:
    try:
        verify_consistency(m, n, proof, old, new)
    except ProofError:
        return True
    return False


@pytest.mark.parametrize(("old_size", "new_size"), CONSISTENCY_TAMPER)
def test_tampered_consistency_is_rejected(old_size: int, new_size: int) -> None:
    proof = ref_proof(old_size, new_size)
    old, new = ref_mth(0, old_size), ref_mth(0, new_size)
    verify_consistency(old_size, new_size, proof, old, new)
    for j in range(len(proof)):
        for bit in range(256):
            bad = [*proof[:j], flip(proof[j], bit), *proof[j + 1 :]]
            with pytest.raises(RootMismatchError):
                verify_consistency(old_size, new_size, bad, old, new)
    for bit in range(256):
        with pytest.raises(RootMismatchError):
            verify_consistency(old_size, new_size, proof, flip(old, bit), new)
        if old_size == 0:
            # Documented: from the empty tree the proof says nothing about the new tree.
            verify_consistency(old_size, new_size, proof, old, flip(new, bit))
        else:
            with pytest.raises(RootMismatchError):
                verify_consistency(old_size, new_size, proof, old, flip(new, bit))
    shape = ref_consistency_shape(old_size, new_size)
    for m2, n2 in [(m2, new_size) for m2 in range(-1, new_size + 2)] + [
        (old_size, n2) for n2 in range(old_size - 1, 2 * new_size + 3)
    ]:
        if (m2, n2) == (old_size, new_size):
            continue
        rejected = _rejected_consistency(m2, n2, proof, old, new)
        same = 0 <= m2 <= n2 and ref_consistency_shape(m2, n2) == shape
        if shape[0] == "trivial":
            # Empty proofs: only another "from empty" pair (any new size) can pass.
            same = same and old_size == 0
        assert rejected != same, (m2, n2, shape)


# --- named checks ------------------------------------------------------------------------


def _inputs(index: int, size: int) -> tuple[bytes, list[bytes], bytes]:
    return ref_leaf(ENTRIES[index]), ref_path(index, 0, size), ref_mth(0, size)


def test_inclusion_error_messages() -> None:
    leaf, proof, root = _inputs(0, 128)
    with pytest.raises(ProofError, match=r"^inclusion proof has wrong length: expected 7, got 6$"):
        verify_inclusion(leaf, 0, 128, proof[:-1], root)
    leaf5, proof5, root5 = _inputs(4, 5)
    with pytest.raises(ProofError, match=r"^index 5 out of range for tree size 5$"):
        verify_inclusion(leaf5, 5, 5, proof5, root5)
    with pytest.raises(ProofError, match=r"^index -1 out of range for tree size 5$"):
        verify_inclusion(leaf5, -1, 5, proof5, root5)
    with pytest.raises(ProofError, match=r"^index 0 out of range for tree size 0$"):
        verify_inclusion(leaf5, 0, 0, [], EMPTY_ROOT)
    bad = [*proof[:2], proof[2][:31], *proof[3:]]
    with pytest.raises(
        ProofError, match=r"^proof element 2 has wrong length: expected 32, got 31$"
    ):
        verify_inclusion(leaf, 0, 128, bad, root)
    with pytest.raises(ProofError, match=r"^leaf hash has wrong length: expected 32, got 0$"):
        verify_inclusion(b"", 0, 128, proof, root)
    with pytest.raises(ProofError, match=r"^root has wrong length: expected 32, got 33$"):
        verify_inclusion(leaf, 0, 128, proof, root + b"\x00")
    with pytest.raises(ProofError, match="must be a sequence of hashes"):
        verify_inclusion(leaf, 0, 128, b"".join(proof), root)
    with pytest.raises(ProofError, match="proof element 0 must be bytes, not str"):
        verify_inclusion(leaf, 0, 128, [p.hex() for p in proof], root)
    with pytest.raises(TypeError):
        verify_inclusion(leaf, 0.0, 128, proof, root)  # type: ignore[arg-type]
    wrong_root = flip(root, 0)
    with pytest.raises(RootMismatchError, match=r"^calculated root mismatch") as caught:
        verify_inclusion(leaf, 0, 128, proof, wrong_root)
    assert (caught.value.which, caught.value.size) == ("root", 128)
    assert (caught.value.computed, caught.value.expected) == (root, wrong_root)
    assert isinstance(caught.value, ValueError)


def test_inclusion_accepts_bytes_like_values() -> None:
    leaf, proof, root = _inputs(3, 11)
    verify_inclusion(bytearray(leaf), 3, 11, tuple(memoryview(p) for p in proof), bytearray(root))


def test_single_leaf_tree() -> None:
    leaf = leaf_hash(b"data")
    verify_inclusion(leaf, 0, 1, [], leaf)
    assert inclusion_proof([b"data"], 0) == []
    with pytest.raises(RootMismatchError):
        verify_inclusion(leaf, 0, 1, [], EMPTY_ROOT)
    with pytest.raises(ProofError, match="wrong length: expected 0, got 1"):
        verify_inclusion(leaf, 0, 1, [leaf], leaf)


def test_consistency_error_messages() -> None:
    r5, r6, r8 = ref_mth(0, 5), ref_mth(0, 6), ref_mth(0, 8)
    proof = ref_proof(5, 8)
    with pytest.raises(ProofError, match=r"^old size 6 is greater than new size 5$"):
        verify_consistency(6, 5, [], r6, r5)
    with pytest.raises(ProofError, match=r"^old size -1 is negative$"):
        verify_consistency(-1, 5, [], r6, r5)
    with pytest.raises(
        ProofError, match=r"^consistency proof has wrong length: expected 4, got 3$"
    ):
        verify_consistency(5, 8, proof[:3], r5, r8)
    with pytest.raises(ProofError, match=r"^proof element 1 has wrong length: expected 32, got 0$"):
        verify_consistency(5, 8, [proof[0], b"", *proof[2:]], r5, r8)
    with pytest.raises(ProofError, match=r"^old root has wrong length: expected 32, got 31$"):
        verify_consistency(5, 8, proof, r5[:31], r8)
    with pytest.raises(ProofError, match=r"^new root has wrong length: expected 32, got 31$"):
        verify_consistency(5, 8, proof, r5, r8[:31])
    with pytest.raises(RootMismatchError, match=r"^calculated old root mismatch") as caught:
        verify_consistency(5, 8, proof, r6, r8)
    assert (caught.value.which, caught.value.size, caught.value.computed) == ("old root", 5, r5)
    with pytest.raises(RootMismatchError, match=r"^calculated new root mismatch") as caught:
        verify_consistency(5, 8, proof, r5, r6)
    assert (caught.value.which, caught.value.size, caught.value.computed) == ("new root", 8, r8)


def test_consistency_from_empty_tree_proves_nothing() -> None:
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(0, 5, [], EMPTY_ROOT, ref_mth(0, 5))
    verify_consistency(0, 5, [], EMPTY_ROOT, sm3(b"any root at all"))
    with pytest.raises(ProofError, match="consistency proof has wrong length: expected 0, got 1"):
        verify_consistency(0, 5, [EMPTY_ROOT], EMPTY_ROOT, ref_mth(0, 5))
    with pytest.raises(RootMismatchError, match="calculated old root mismatch"):
        verify_consistency(0, 5, [], ref_mth(0, 5), ref_mth(0, 5))
    assert consistency_proof(ENTRIES[:5], 0) == [] == consistency_proof_ranges(0, 5)


def test_consistency_between_equal_sizes() -> None:
    r5, r6 = ref_mth(0, 5), ref_mth(0, 6)
    verify_consistency(5, 5, [], r5, r5)
    with pytest.raises(RootMismatchError, match="calculated new root mismatch"):
        verify_consistency(5, 5, [], r5, r6)
    with pytest.raises(ProofError, match="consistency proof has wrong length: expected 0, got 1"):
        verify_consistency(5, 5, [r5], r5, r5)
    assert consistency_proof(ENTRIES[:5], 5) == []


def test_building_rejects_bad_arguments() -> None:
    entries = ENTRIES[:5]
    with pytest.raises(ProofError, match="index 5 out of range for tree size 5"):
        inclusion_proof(entries, 5)
    with pytest.raises(ProofError, match="index 0 out of range for tree size 0"):
        inclusion_proof([], 0)
    with pytest.raises(ProofError, match="old size 6 is greater than new size 5"):
        consistency_proof(entries, 6)
    with pytest.raises(ProofError, match="old size -1 is negative"):
        consistency_proof(entries, -1)
    with pytest.raises(ProofError, match="tree size -1 is negative"):
        inclusion_proof_ranges(0, -1)
    with pytest.raises(ProofError):
        inclusion_proof_length(3, 3)
    with pytest.raises(ProofError):
        consistency_proof_length(4, 3)


def test_rfc9162_examples() -> None:
    """The seven-leaf examples of RFC 9162 section 2.1.5 (a..g leaves, k..j nodes)."""
    assert inclusion_proof_ranges(0, 7) == [(1, 2), (2, 4), (4, 7)]  # [b, h, l]
    assert inclusion_proof_ranges(3, 7) == [(2, 3), (0, 2), (4, 7)]  # [c, g, l]
    assert inclusion_proof_ranges(4, 7) == [(5, 6), (6, 7), (0, 4)]  # [f, j, k]
    assert inclusion_proof_ranges(6, 7) == [(4, 6), (0, 4)]  # [i, k]
    assert consistency_proof_ranges(3, 7) == [(2, 3), (3, 4), (0, 2), (4, 7)]  # [c, d, g, l]
    assert consistency_proof_ranges(4, 7) == [(4, 7)]  # [l]
    assert consistency_proof_ranges(6, 7) == [(4, 6), (6, 7), (0, 4)]  # [i, j, k]


# --- properties --------------------------------------------------------------------------


def naive_root(hashes: list[bytes]) -> bytes:
    if not hashes:
        return ref_sm3(b"")
    if len(hashes) == 1:
        return hashes[0]
    k = ref_split(len(hashes))
    return ref_node(naive_root(hashes[:k]), naive_root(hashes[k:]))


entry_lists = st.lists(st.binary(max_size=24), min_size=1, max_size=70)


@settings(max_examples=150, deadline=None)
@given(entries=entry_lists, data=st.data())
def test_property_inclusion_proofs_verify(entries: list[bytes], data: st.DataObject) -> None:
    size = len(entries)
    index = data.draw(st.integers(0, size - 1), label="index")
    hashes = [ref_leaf(e) for e in entries]
    root = root_hash(entries)
    assert root == naive_root(hashes)
    proof = inclusion_proof(entries, index)
    ranges = inclusion_proof_ranges(index, size)
    assert proof == [naive_root(hashes[a:b]) for a, b in ranges]
    verify_inclusion(leaf_hash(entries[index]), index, size, proof, root)
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        bad = [*proof[:j], flip(proof[j], bit), *proof[j + 1 :]]
        with pytest.raises(RootMismatchError):
            verify_inclusion(leaf_hash(entries[index]), index, size, bad, root)


@settings(max_examples=150, deadline=None)
@given(entries=entry_lists, data=st.data())
def test_property_consistency_proofs_verify(entries: list[bytes], data: st.DataObject) -> None:
    size = len(entries)
    mid = data.draw(st.integers(0, size), label="mid")
    old = data.draw(st.integers(0, mid), label="old")
    hashes = [ref_leaf(e) for e in entries]
    roots = {k: naive_root(hashes[:k]) for k in (old, mid, size)}
    for a, b in [(old, mid), (mid, size), (old, size)]:
        proof = consistency_proof(entries[:b], a)
        assert proof == [naive_root(hashes[c:d]) for c, d in consistency_proof_ranges(a, b)]
        verify_consistency(a, b, proof, roots[a], roots[b])
    if 0 < old < size:
        proof = consistency_proof(entries, old)
        with pytest.raises(RootMismatchError):
            verify_consistency(old, size, proof, roots[old], flip(roots[size], 7))


@settings(max_examples=300, deadline=None)
@given(size=st.integers(1, 1 << 40), data=st.data())
def test_property_proof_lengths_on_huge_trees(size: int, data: st.DataObject) -> None:
    """Ranges and lengths need no leaves: check them on trees far beyond memory."""
    index = data.draw(st.integers(0, size - 1), label="index")
    ranges = inclusion_proof_ranges(index, size)
    assert len(ranges) == inclusion_proof_length(index, size)
    assert len(ranges) <= size.bit_length()
    for a, b in ranges:
        assert len(perfect_subtrees(a, b)) <= size.bit_length()
        assert not a <= index < b
    old = data.draw(st.integers(0, size), label="old")
    cranges = consistency_proof_ranges(old, size)
    assert len(cranges) == consistency_proof_length(old, size)
    assert len(cranges) <= 2 * size.bit_length()
    for a, b in cranges:
        assert perfect_subtrees(a, b)
