"""Verifying RFC 9162 inclusion and consistency proofs (sections 2.1.3.2 and 2.1.4.2).

Internal module: import the public names from :mod:`ledger.merkle`.

Both verifiers check every length before hashing anything (the expected proof length
follows from the index and sizes alone), then run the RFC's algorithm step by step with
its ``fn``/``sn`` bit counters. Every failure is a :class:`ledger.errors.ProofError` whose
message names the check; a wrong root is the subclass :class:`RootMismatchError`, which
carries the tree size and both hashes.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.errors import ProofError

from ._merkle_build import check_index, check_sizes
from ._merkle_hash import SM3_HASHER, LogHasher

__all__ = [
    "RootMismatchError",
    "consistency_proof_length",
    "inclusion_proof_length",
    "verify_consistency",
    "verify_inclusion",
]


class RootMismatchError(ProofError):
    """The root calculated from a proof differs from the root it was checked against.

    ``which`` is ``"root"``, ``"old root"`` or ``"new root"``; ``size`` the size of that
    tree; ``computed`` and ``expected`` the two hashes.
    """

    def __init__(self, which: str, size: int, computed: bytes, expected: bytes) -> None:
        super().__init__(
            f"calculated {which} mismatch for tree size {size}: "
            f"expected {expected.hex()}, got {computed.hex()}"
        )
        self.which = which
        self.size = size
        self.computed = computed
        self.expected = expected


def inclusion_proof_length(index: int, size: int) -> int:
    """Number of elements of the inclusion proof of ``index`` in a tree of ``size`` leaves.

    One hash per level below the point where the leaf's path leaves the tree's right
    border (``inner``), plus one per left-side perfect subtree along that border
    (``border``), as in transparency-dev/merkle. Raises :class:`ProofError` unless
    ``0 <= index < size``.
    """
    index, size = check_index(index, size)
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """Number of elements of the consistency proof from ``old_size`` to ``new_size``.

    Zero when ``old_size`` is 0 or equals ``new_size``. Otherwise the proof is the hash of
    the largest perfect subtree ending at ``old_size`` (omitted when that subtree is the
    whole old tree) followed by that subtree's inclusion proof in the new tree.
    """
    old_size, new_size = check_sizes(old_size, new_size)
    if old_size in (0, new_size):
        return 0
    level = (old_size & -old_size).bit_length() - 1
    node_index = (old_size - 1) >> level
    last_node = (new_size - 1) >> level
    inner = (node_index ^ last_node).bit_length()
    border = (node_index >> inner).bit_count()
    return inner + border + (1 if node_index else 0)


def _check_hash(what: str, value: bytes, hasher: LogHasher) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ProofError(f"{what} must be bytes, not {type(value).__name__}")
    if len(value) != hasher.digest_size:
        raise ProofError(
            f"{what} has wrong length: expected {hasher.digest_size}, got {len(value)}"
        )
    return bytes(value)


def _check_proof(
    kind: str, proof: Sequence[bytes], expected: int, hasher: LogHasher
) -> list[bytes]:
    if isinstance(proof, bytes | bytearray | memoryview | str):
        raise ProofError(f"{kind} proof must be a sequence of hashes, not {type(proof).__name__}")
    proof = list(proof)
    if len(proof) != expected:
        raise ProofError(f"{kind} proof has wrong length: expected {expected}, got {len(proof)}")
    return [_check_hash(f"proof element {i}", p, hasher) for i, p in enumerate(proof)]


def verify_inclusion(
    leaf_hash: bytes,
    index: int,
    size: int,
    proof: Sequence[bytes],
    root: bytes,
    *,
    hasher: LogHasher = SM3_HASHER,
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves and ``root``.

    RFC 9162 section 2.1.3.2. Returns ``None`` on success; raises :class:`ProofError`
    naming the failed check otherwise (:class:`RootMismatchError` for a wrong root).

    Steps:
      (1) ``0 <= index < size``;
      (2) the leaf hash and the root are ``digest_size`` bytes;
      (3) the proof has exactly :func:`inclusion_proof_length` elements of that size;
      (4) the RFC algorithm folds the proof into a root, ending with ``sn == 0``;
      (5) that root equals ``root``.
    """
    # (1): index and size.
    index, size = check_index(index, size)
    # (2): hash lengths.
    leaf_hash = _check_hash("leaf hash", leaf_hash, hasher)
    root = _check_hash("root", root, hasher)
    # (3): proof length and element lengths.
    path = _check_proof("inclusion", proof, inclusion_proof_length(index, size), hasher)
    # (4): RFC 9162 2.1.3.2 steps 2-4.
    fn, sn = index, size - 1
    r = leaf_hash
    for p in path:
        if sn == 0:  # pragma: no cover - ruled out by (3); kept to follow the RFC
            raise ProofError("inclusion proof too long: tree exhausted before the proof")
        if fn & 1 or fn == sn:
            r = hasher.node(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = hasher.node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # pragma: no cover - ruled out by (3); kept to follow the RFC
        raise ProofError(f"inclusion proof too short: {sn} levels left")
    # (5): compare roots.
    if r != root:
        raise RootMismatchError("root", size, r, root)


def verify_consistency(
    old_size: int,
    new_size: int,
    proof: Sequence[bytes],
    old_root: bytes,
    new_root: bytes,
    *,
    hasher: LogHasher = SM3_HASHER,
) -> None:
    """Check that the tree ``old_root`` of ``old_size`` is a prefix of ``new_root``'s tree.

    RFC 9162 section 2.1.4.2. Returns ``None`` on success; raises :class:`ProofError`
    naming the failed check otherwise (:class:`RootMismatchError` for a wrong root).

    Edge cases, which the RFC leaves to the caller, are defined here:

    * ``old_size == 0``: the proof must be empty and ``old_root`` must be the empty-tree
      root. It then verifies for *any* ``new_root`` of the right length: every tree
      extends the empty tree, so this proves nothing about the new tree.
    * ``old_size == new_size``: the proof must be empty and the two roots equal.
    * ``old_size > new_size``: rejected.

    Steps:
      (1) ``0 <= old_size <= new_size``;
      (2) both roots are ``digest_size`` bytes;
      (3) the proof has exactly :func:`consistency_proof_length` elements of that size;
      (4) the edge cases above;
      (5) the RFC algorithm derives both roots from the proof, ending with ``sn == 0``;
      (6) the derived roots equal ``old_root`` and ``new_root``.
    """
    # (1): sizes.
    old_size, new_size = check_sizes(old_size, new_size)
    # (2): hash lengths.
    old_root = _check_hash("old root", old_root, hasher)
    new_root = _check_hash("new root", new_root, hasher)
    # (3): proof length and element lengths.
    expected = consistency_proof_length(old_size, new_size)
    path = _check_proof("consistency", proof, expected, hasher)
    # (4): edge cases.
    if old_size == 0:
        if old_root != hasher.empty():
            raise RootMismatchError("old root", 0, hasher.empty(), old_root)
        return
    if old_size == new_size:
        if old_root != new_root:
            raise RootMismatchError("new root", new_size, old_root, new_root)
        return
    # (5): RFC 9162 2.1.4.2 steps 2-6.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:  # pragma: no cover - ruled out by (3); kept to follow the RFC
            raise ProofError("consistency proof too long: tree exhausted before the proof")
        if fn & 1 or fn == sn:
            fr = hasher.node(c, fr)
            sr = hasher.node(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = hasher.node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # pragma: no cover - ruled out by (3); kept to follow the RFC
        raise ProofError(f"consistency proof too short: {sn} levels left")
    # (6): compare roots.
    if fr != old_root:
        raise RootMismatchError("old root", old_size, fr, old_root)
    if sr != new_root:
        raise RootMismatchError("new root", new_size, sr, new_root)
