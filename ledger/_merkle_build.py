"""Building RFC 9162 Merkle tree hashes and proofs (section 2.1), in memory or from ranges.

Internal module: import the public names from :mod:`ledger.merkle`.

The range formulation is what a durable store needs. Every element of an RFC 9162
inclusion or consistency proof is ``MTH(D[start:end])`` for a half-open leaf range that is
a node of the tree: ``start`` is a multiple of the smallest power of two that is at least
``end - start``. Such a range splits into at most ``log2(n) + 1`` perfect subtrees aligned
at their own size (:func:`perfect_subtrees`), and its hash is their right fold
(:func:`hash_from_perfect_subtrees`). A store that keeps the hash of every perfect aligned
subtree therefore answers any proof with O(log n) reads and O(log n) hashing per element.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

from ledger.errors import ProofError

from ._merkle_hash import SM3_HASHER, LogHasher

__all__ = [
    "consistency_proof",
    "consistency_proof_from_leaf_hashes",
    "consistency_proof_ranges",
    "hash_from_perfect_subtrees",
    "inclusion_proof",
    "inclusion_proof_from_leaf_hashes",
    "inclusion_proof_ranges",
    "perfect_subtrees",
    "root_from_leaf_hashes",
    "root_hash",
]

Range = tuple[int, int]


def split_point(n: int) -> int:
    """The largest power of two strictly less than ``n`` (``n >= 2``), RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def check_index(index: int, size: int) -> tuple[int, int]:
    index, size = operator.index(index), operator.index(size)
    if size < 0:
        raise ProofError(f"tree size {size} is negative")
    if not 0 <= index < size:
        raise ProofError(f"index {index} out of range for tree size {size}")
    return index, size


def check_sizes(old_size: int, new_size: int) -> tuple[int, int]:
    old_size, new_size = operator.index(old_size), operator.index(new_size)
    if old_size < 0:
        raise ProofError(f"old size {old_size} is negative")
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is greater than new size {new_size}")
    return old_size, new_size


# --- roots -------------------------------------------------------------------------------


def root_from_leaf_hashes(hashes: Sequence[bytes], *, hasher: LogHasher = SM3_HASHER) -> bytes:
    """``MTH`` of a list of leaf hashes (RFC 9162 section 2.1.1); the empty root for ``[]``.

    Computed level by level, pairing neighbours and carrying an odd last node up unchanged,
    which yields the same tree as splitting at the largest power of two below ``n``.
    """
    if not hashes:
        return hasher.empty()
    level = list(hashes)
    node = hasher.node
    while len(level) > 1:
        paired = [node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return bytes(level[0])


def root_hash(entries: Sequence[bytes], *, hasher: LogHasher = SM3_HASHER) -> bytes:
    """``MTH(D[n])`` of raw leaf data ``entries`` (RFC 9162 section 2.1.1)."""
    return root_from_leaf_hashes([hasher.leaf(entry) for entry in entries], hasher=hasher)


# --- proof shapes as leaf ranges ---------------------------------------------------------


def inclusion_proof_ranges(index: int, size: int) -> list[Range]:
    """The leaf ranges whose hashes form ``PATH(index, D[size])``, in proof order.

    Returns half-open ``(start, end)`` ranges from the leaf's sibling up to the child of the
    root (RFC 9162 section 2.1.3.1). Raises :class:`ProofError` unless
    ``0 <= index < size``.
    """
    index, size = check_index(index, size)
    ranges: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def consistency_proof_ranges(old_size: int, new_size: int) -> list[Range]:
    """The leaf ranges whose hashes form ``PROOF(old_size, D[new_size])``, in proof order.

    RFC 9162 section 2.1.4.1 (``SUBPROOF``) for ``0 < old_size < new_size``. By our
    convention the proof is empty when ``old_size == 0`` or ``old_size == new_size``.
    Raises :class:`ProofError` if ``old_size > new_size`` or a size is negative.
    """
    old_size, new_size = check_sizes(old_size, new_size)
    if old_size in (0, new_size):
        return []
    ranges: list[Range] = []
    lo, hi, m, complete = 0, new_size, old_size, True
    # SUBPROOF(m, D[lo:hi], complete), unrolled: each step records the sibling subtree.
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            m -= k
            complete = False
    if not complete:
        # The old tree's last subtree is not known to the verifier from the old root.
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def perfect_subtrees(start: int, end: int) -> list[Range]:
    """Split the node range ``[start, end)`` into perfect subtrees aligned at their size.

    Precondition: ``0 <= start <= end`` and ``start`` is a multiple of the smallest power of
    two at least ``end - start`` -- true of every range returned by
    :func:`inclusion_proof_ranges` and :func:`consistency_proof_ranges`, and of ``(0, n)``.
    Returns the ranges left to right with decreasing power-of-two sizes (one per set bit of
    ``end - start``); ``[]`` for an empty range. Raises :class:`ValueError` otherwise.
    """
    start, end = operator.index(start), operator.index(end)
    if not 0 <= start <= end:
        raise ValueError(f"bad leaf range [{start}, {end})")
    width = end - start
    if width and start % (1 << (width - 1).bit_length()):
        raise ValueError(f"leaf range [{start}, {end}) is not a node of any tree")
    out: list[Range] = []
    while width:
        step = 1 << (width.bit_length() - 1)
        out.append((start, start + step))
        start += step
        width -= step
    return out


def hash_from_perfect_subtrees(hashes: Sequence[bytes], *, hasher: LogHasher = SM3_HASHER) -> bytes:
    """The hash of a node range from its :func:`perfect_subtrees` hashes, in that order.

    Right fold: ``node(h0, node(h1, ... node(h[-2], h[-1])))``; the empty root for ``[]``.
    """
    if not hashes:
        return hasher.empty()
    acc = bytes(hashes[-1])
    for left in reversed(hashes[:-1]):
        acc = hasher.node(left, acc)
    return acc


# --- proofs from leaves ------------------------------------------------------------------


def _range_hashes(
    leaf_hashes: Sequence[bytes], ranges: list[Range], hasher: LogHasher
) -> list[bytes]:
    return [root_from_leaf_hashes(leaf_hashes[a:b], hasher=hasher) for a, b in ranges]


def inclusion_proof_from_leaf_hashes(
    leaf_hashes: Sequence[bytes], index: int, *, hasher: LogHasher = SM3_HASHER
) -> list[bytes]:
    """``PATH(index, D[n])`` for the tree with these leaf hashes (RFC 9162 2.1.3.1)."""
    return _range_hashes(leaf_hashes, inclusion_proof_ranges(index, len(leaf_hashes)), hasher)


def inclusion_proof(
    entries: Sequence[bytes], index: int, *, hasher: LogHasher = SM3_HASHER
) -> list[bytes]:
    """Inclusion proof of leaf ``index`` in the tree of raw leaf data ``entries``.

    RFC 9162 section 2.1.3.1, elements ordered from the leaf upwards. Raises
    :class:`ProofError` unless ``0 <= index < len(entries)``.
    """
    check_index(index, len(entries))
    return inclusion_proof_from_leaf_hashes([hasher.leaf(e) for e in entries], index, hasher=hasher)


def consistency_proof_from_leaf_hashes(
    leaf_hashes: Sequence[bytes], old_size: int, *, hasher: LogHasher = SM3_HASHER
) -> list[bytes]:
    """``PROOF(old_size, D[n])`` for the tree with these leaf hashes (RFC 9162 2.1.4.1)."""
    ranges = consistency_proof_ranges(old_size, len(leaf_hashes))
    return _range_hashes(leaf_hashes, ranges, hasher)


def consistency_proof(
    entries: Sequence[bytes], old_size: int, *, hasher: LogHasher = SM3_HASHER
) -> list[bytes]:
    """Consistency proof from the first ``old_size`` entries to all of ``entries``.

    RFC 9162 section 2.1.4.1; empty when ``old_size`` is 0 or ``len(entries)``. Raises
    :class:`ProofError` if ``old_size`` is negative or greater than ``len(entries)``.
    """
    check_sizes(old_size, len(entries))
    return consistency_proof_from_leaf_hashes(
        [hasher.leaf(e) for e in entries], old_size, hasher=hasher
    )
