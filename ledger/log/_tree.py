"""Reading the tree back: any range hash from stored perfect-subtree hashes, O(log n) reads.

Every RFC 9162 proof element and every root is the hash of a leaf range, which splits into
at most log n perfect subtrees aligned at their size (``merkle.perfect_subtrees``); the store
keeps those hashes from level ``STORED_MIN_LEVEL`` up, and the two lowest levels are
recomputed from their one or two entries.
"""

from __future__ import annotations

from .. import merkle
from ..errors import StorageError
from ._store import LogStore, NodeId

STORED_MIN_LEVEL = 2
"""Subtrees of 1 and 2 leaves are not stored: recomputing one from its <= 2 entries costs
less than writing ~1.5 extra rows per append, and a proof needs at most a few of them."""


def node_of(rng: tuple[int, int]) -> NodeId:
    """(level, index) of the perfect aligned subtree covering leaves [start, end)."""
    start, end = rng
    level = (end - start).bit_length() - 1
    return level, start >> level


class SubtreeReader:
    def __init__(self, store: LogStore) -> None:
        self.store = store

    def range_hashes_many(
        self, many: list[list[tuple[int, int]]], overlay: dict[NodeId, bytes] | None = None
    ) -> list[list[bytes]]:
        """Hashes of several lists of ranges, with one read for all the nodes they need."""
        parts = [
            [[node_of(p) for p in merkle.perfect_subtrees(a, b)] for a, b in ranges]
            for ranges in many
        ]
        wanted = {node for groups in parts for group in groups for node in group}
        found = self.nodes(wanted, overlay or {})
        fold = merkle.hash_from_perfect_subtrees
        return [[fold([found[n] for n in group]) for group in groups] for groups in parts]

    def nodes(self, wanted: set[NodeId], overlay: dict[NodeId, bytes]) -> dict[NodeId, bytes]:
        """Subtree hashes: from the overlay, the store, or (small ones) from the entries."""
        found = {node: overlay[node] for node in wanted if node in overlay}
        rest = wanted - found.keys()
        found.update(self.store.nodes(n for n in rest if n[0] >= STORED_MIN_LEVEL))
        for level, position in rest:
            if level < STORED_MIN_LEVEL:
                start = position << level
                leaves = self.store.entries(start, start + (1 << level))
                if len(leaves) != 1 << level:
                    raise StorageError(f"log store is missing entries from index {start}")
                found[(level, position)] = merkle.root_hash(leaves)
        missing = wanted - found.keys()
        if missing:
            raise StorageError(f"log store is missing subtree hashes {sorted(missing)}")
        return found
