"""The RFC 9162 Merkle tree with SM3: hashes, proofs, and their verification.

The tree is that of RFC 9162 section 2.1 (Certificate Transparency v2) with SM3
(GB/T 32905-2016) as the hash:

* leaf hash ``SM3(0x00 || d)``, interior node ``SM3(0x01 || left || right)``;
* the empty tree's root is ``SM3("")`` (:data:`EMPTY_ROOT`);
* a tree of ``n > 1`` leaves splits at ``k``, the largest power of two strictly less than
  ``n``; no node is ever duplicated.

Building (``root_hash``, ``inclusion_proof``, ``consistency_proof``) works on raw leaf data;
the ``*_from_leaf_hashes`` variants take leaf hashes. ``inclusion_proof_ranges`` and
``consistency_proof_ranges`` give the shape of a proof as half-open leaf ranges, so a store
that keeps the hashes of perfect aligned subtrees can answer a proof in O(log n)
(:func:`perfect_subtrees`, :func:`hash_from_perfect_subtrees`).

Verification (``verify_inclusion``, ``verify_consistency``) follows RFC 9162 sections
2.1.3.2 and 2.1.4.2 and raises :class:`ledger.errors.ProofError` naming the failed check.

Every function takes an optional keyword ``hasher`` (a :class:`LogHasher`, e.g. an
:class:`RFC9162Hasher` over another hash function); the default is :data:`SM3_HASHER`.
"""

from __future__ import annotations

from ._merkle_build import (
    consistency_proof,
    consistency_proof_from_leaf_hashes,
    consistency_proof_ranges,
    hash_from_perfect_subtrees,
    inclusion_proof,
    inclusion_proof_from_leaf_hashes,
    inclusion_proof_ranges,
    perfect_subtrees,
    root_from_leaf_hashes,
    root_hash,
)
from ._merkle_hash import LEAF_PREFIX, NODE_PREFIX, SM3_HASHER, LogHasher, RFC9162Hasher
from ._merkle_verify import (
    RootMismatchError,
    consistency_proof_length,
    inclusion_proof_length,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "SM3_HASHER",
    "LogHasher",
    "RFC9162Hasher",
    "RootMismatchError",
    "consistency_proof",
    "consistency_proof_from_leaf_hashes",
    "consistency_proof_length",
    "consistency_proof_ranges",
    "hash_from_perfect_subtrees",
    "inclusion_proof",
    "inclusion_proof_from_leaf_hashes",
    "inclusion_proof_length",
    "inclusion_proof_ranges",
    "leaf_hash",
    "node_hash",
    "perfect_subtrees",
    "root_from_leaf_hashes",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

#: Size in bytes of every SM3 tree hash.
HASH_SIZE = SM3_HASHER.digest_size

#: Root of the empty tree, ``SM3("")`` (RFC 9162 section 2.1.1).
EMPTY_ROOT = SM3_HASHER.empty()


def leaf_hash(entry: bytes) -> bytes:
    """SM3 leaf hash of raw leaf data: ``SM3(0x00 || entry)``."""
    return SM3_HASHER.leaf(entry)


def node_hash(left: bytes, right: bytes) -> bytes:
    """SM3 hash of an interior node: ``SM3(0x01 || left || right)``."""
    return SM3_HASHER.node(left, right)
