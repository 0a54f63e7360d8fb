"""Integrity of the stored log against its own signed checkpoint history (RFC 9162, SM3).

A store can be changed while the gateway is stopped (a disk error, an operator, an
attacker). Before the log signs anything new it must know that what it holds is what it
signed, or it would sign over data it has not verified. :func:`verify_stored_log` checks:

1. the leaf indexes run from ``start`` to ``n - 1`` without a gap;
2. every entry's leaf hash ``SM3(0x00 || entry)`` folds into every stored subtree hash
   (level >= 2) completed in that range, each recomputed and compared, and no stored subtree
   hash is missing or extra;
3. every stored checkpoint above ``start``: its note parses, names the log's origin, and
   says the size and root of its row; that root equals the root recomputed at its size
   (cheap: the right edge of the tree is at hand while streaming);
4. the last checkpoint's size is ``n`` and its SM2 signature verifies with the log key
   (every checkpoint's signature with ``all_signatures``).

Leaves are read in chunks and only the right edge of the tree (O(log n) hashes) is kept, so
memory is flat. ``start`` resumes from a size verified earlier (see :mod:`._marker`): the
stored subtree hashes of the first ``start`` leaves must then fold to ``start_root``.

Every failure is one :class:`ledger.errors.IntegrityError` naming the first bad index or
size and what differs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes

from .. import merkle
from ..checkpoint import parse_checkpoint, verify_checkpoint
from ..crypto import PublicKey
from ..errors import CheckpointError, Error, IntegrityCode, IntegrityError, StorageError
from ._store import LogStore, StoredCheckpoint
from ._tree import STORED_MIN_LEVEL, SubtreeReader, node_of

__all__ = ["Verified", "verify_stored_log"]

CHUNK = 1 << 14
"""Leaves read per query: a power of two, so subtree lookups align with chunks."""

_SM3 = hashes.Hash(hashes.SM3())


def _leaf_hash(entry: bytes) -> bytes:
    """``merkle.leaf_hash`` (SM3 by way of cryptography, as ``ledger.crypto.sm3``), from a
    copied context: a third faster, and this loop is the whole cost of a start."""
    ctx = _SM3.copy()
    ctx.update(b"\x00" + entry)
    return ctx.finalize()


def _node_hash(left: bytes, right: bytes) -> bytes:
    ctx = _SM3.copy()
    ctx.update(b"\x01" + left + right)
    return ctx.finalize()


if _leaf_hash(b"abc") != merkle.leaf_hash(b"abc") or _node_hash(
    b"a" * 32, b"b" * 32
) != merkle.node_hash(b"a" * 32, b"b" * 32):  # pragma: no cover - a broken backend
    _leaf_hash, _node_hash = merkle.leaf_hash, merkle.node_hash


def short(digest: bytes) -> str:
    """The first 16 hex digits of a hash: enough to tell two apart in a one-line message."""
    return digest.hex()[:16]


@dataclass(frozen=True, slots=True)
class Verified:
    """What a successful check established: the log's size, root and right edge."""

    size: int
    root: bytes
    frontier: list[bytes]
    start: int
    checkpoints: int
    signatures: int
    last: StoredCheckpoint | None


def expected_node_count(size: int) -> int:
    """Stored subtree hashes of a tree of ``size`` leaves: one per complete aligned subtree
    of level >= STORED_MIN_LEVEL."""
    return sum(size >> level for level in range(STORED_MIN_LEVEL, size.bit_length()))


def verify_stored_log(
    store: LogStore,
    public_key: PublicKey,
    origin: str,
    *,
    key_name: str | None = None,
    start: int = 0,
    start_root: bytes | None = None,
    all_signatures: bool = False,
    chunk: int = CHUNK,
) -> Verified:
    """Check ``store`` as the module docstring says; raise IntegrityError on the first flaw.

    Raises :class:`StorageError` (not IntegrityError) when the store cannot be read at all.
    """
    try:
        return _Verifier(store, public_key, origin, key_name, all_signatures, chunk).run(
            start, start_root
        )
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read the log store: {exc}") from exc


class _Verifier:
    def __init__(
        self,
        store: LogStore,
        public_key: PublicKey,
        origin: str,
        key_name: str | None,
        all_signatures: bool,
        chunk: int,
    ) -> None:
        if chunk <= 0 or chunk & (chunk - 1):
            raise ValueError("chunk must be a power of two")
        self.store = store
        self.public_key = public_key
        self.origin = origin
        self.key_name = key_name or origin
        self.all_signatures = all_signatures
        self.chunk = chunk
        self.checkpoints = 0
        self.signatures = 0
        self.good_size = 0

    def run(self, start: int, start_root: bytes | None) -> Verified:
        store = self.store
        size = store.size()
        last = store.checkpoint()
        if last is None:
            if size:
                raise IntegrityError(
                    IntegrityCode.SIZE_MISMATCH,
                    f"log has {size} entries but no signed checkpoint",
                    size=0,
                    expected="0",
                    got=str(size),
                )
            return Verified(0, merkle.EMPTY_ROOT, [], 0, 0, 0, None)
        if start > size or start > last.size:
            start, start_root = 0, None
        frontier = self._start_frontier(start, start_root)
        self.good_size = start
        # (1)-(3): stream the leaves, checking subtrees and checkpoints as they complete
        checkpoints = self._checkpoint_stream(start)
        upcoming = next(checkpoints, None)
        index = start
        leaf_hash, node_hash = _leaf_hash, _node_hash
        while index < size:
            end = min(size, (index // self.chunk + 1) * self.chunk)
            rows = store.entry_rows(index, end)
            stored = self._stored_nodes(index, end)
            for row_index, entry in rows:
                if row_index != index:
                    self._missing_entry(index, size)
                digest = leaf_hash(entry)
                level, position = 0, index
                while position & 1:
                    digest = node_hash(frontier.pop(), digest)
                    level, position = level + 1, position >> 1
                    if level >= STORED_MIN_LEVEL:
                        self._check_node(stored, level, position, digest)
                frontier.append(digest)
                index += 1
                while upcoming is not None and upcoming.size == index:
                    self._check_checkpoint(upcoming, frontier, is_last=upcoming.size == last.size)
                    upcoming = next(checkpoints, None)
                if upcoming is not None and upcoming.size < index:
                    self._checkpoint_between_batches(upcoming)
            if index < end:
                self._missing_entry(index, size)
        # (4): the last signed checkpoint covers exactly the stored entries
        if last.size != size:
            first_missing = min(size, last.size)
            raise IntegrityError(
                IntegrityCode.SIZE_MISMATCH,
                f"log ends at index {size - 1} but its last signed checkpoint has size "
                f"{last.size}: expected {last.size} entries, got {size}"
                + (f" (first missing index {first_missing})" if size < last.size else ""),
                size=first_missing,
                expected=str(last.size),
                got=str(size),
            )
        if upcoming is not None:
            self._checkpoint_between_batches(upcoming)
        if last.size <= start:  # nothing new since the marker: still check what will be served
            self._check_checkpoint(last, frontier, is_last=True)
        self._check_node_count(size)
        return Verified(
            size,
            merkle.hash_from_perfect_subtrees(frontier),
            frontier,
            start,
            self.checkpoints,
            self.signatures,
            last,
        )

    # -- pieces ----------------------------------------------------------------------------
    def _start_frontier(self, start: int, start_root: bytes | None) -> list[bytes]:
        """The right edge at ``start`` from stored subtrees; it must fold to ``start_root``."""
        if start == 0:
            return []
        ids = [node_of(r) for r in merkle.perfect_subtrees(0, start)]
        try:
            found = SubtreeReader(self.store).nodes(set(ids), {})
        except StorageError as exc:
            raise IntegrityError(
                IntegrityCode.SUBTREE_MISSING,
                f"cannot rebuild the tree at verified size {start}: {exc}",
                size=start,
            ) from exc
        frontier = [found[node] for node in ids]
        root = merkle.hash_from_perfect_subtrees(frontier)
        if start_root is not None and root != start_root:
            raise IntegrityError(
                IntegrityCode.SUBTREE_MISMATCH,
                f"stored subtrees at verified size {start} fold to root {short(root)}, "
                f"expected {short(start_root)}",
                size=start,
                expected=start_root.hex(),
                got=root.hex(),
            )
        return frontier

    def _checkpoint_stream(self, start: int) -> Iterator[StoredCheckpoint]:
        after = start
        while True:
            page = self.store.checkpoints(after, 1000)
            if not page:
                return
            yield from page
            after = page[-1].size

    def _stored_nodes(self, start: int, end: int) -> dict[tuple[int, int], bytes]:
        """Stored hashes of the subtrees (level >= 2) that complete in leaves [start, end)."""
        found: dict[tuple[int, int], bytes] = {}
        level = STORED_MIN_LEVEL
        while (1 << level) <= end:
            first, last = start >> level, (end >> level) - 1
            if first <= last:
                for position, digest in self.store.node_range(level, first, last).items():
                    found[(level, position)] = digest
            level += 1
        return found

    def _check_node(
        self, stored: dict[tuple[int, int], bytes], level: int, position: int, digest: bytes
    ) -> None:
        first, end = position << level, (position + 1) << level
        have = stored.get((level, position))
        if have is None:
            raise IntegrityError(
                IntegrityCode.SUBTREE_MISSING,
                f"stored subtree hash of leaves [{first}, {end}) is missing "
                f"(level {level}, index {position})",
                size=first,
                expected=digest.hex(),
                got=None,
            )
        if have != digest:
            raise IntegrityError(
                IntegrityCode.SUBTREE_MISMATCH,
                f"subtree hash of leaves [{first}, {end}) differs (first bad index {first} "
                f"or later in that range): recomputed {short(digest)}, stored {short(have)}",
                size=first,
                expected=digest.hex(),
                got=have.hex(),
            )

    def _missing_entry(self, index: int, size: int) -> None:
        raise IntegrityError(
            IntegrityCode.MISSING_ENTRY,
            f"log entry at index {index} is missing (log ends at index {size - 1})",
            size=index,
            expected=str(index),
            got="absent",
        )

    def _checkpoint_between_batches(self, cp: StoredCheckpoint) -> None:
        raise IntegrityError(
            IntegrityCode.CHECKPOINT_MALFORMED,
            f"checkpoint of size {cp.size} is beyond the stored entries",
            size=cp.size,
        )

    def _check_checkpoint(self, cp: StoredCheckpoint, frontier: list[bytes], is_last: bool) -> None:
        self.checkpoints += 1
        root = merkle.hash_from_perfect_subtrees(frontier)
        if cp.root != root:
            raise IntegrityError(
                IntegrityCode.CHECKPOINT_ROOT_MISMATCH,
                f"checkpoint of size {cp.size} does not match the entries (first bad index "
                f"in [{self.good_size}, {cp.size})): root recomputed {short(root)}, "
                f"stored {short(cp.root)}",
                size=cp.size,
                expected=root.hex(),
                got=cp.root.hex(),
            )
        try:
            signed = parse_checkpoint(cp.note)
        except CheckpointError as exc:
            raise IntegrityError(
                IntegrityCode.CHECKPOINT_MALFORMED,
                f"checkpoint of size {cp.size} does not parse: {exc}",
                size=cp.size,
            ) from exc
        body = signed.checkpoint
        if body.origin != self.origin or body.size != cp.size or body.root != cp.root:
            raise IntegrityError(
                IntegrityCode.CHECKPOINT_MALFORMED,
                f"checkpoint of size {cp.size}: note says origin {body.origin!r} size "
                f"{body.size} root {short(body.root)}, expected {self.origin!r} size "
                f"{cp.size} root {short(cp.root)}",
                size=cp.size,
                expected=f"{cp.size} {cp.root.hex()}",
                got=f"{body.size} {body.root.hex()}",
            )
        if is_last or self.all_signatures:
            try:
                verify_checkpoint(cp.note, self.public_key, self.origin, self.key_name)
            except Error as exc:
                raise IntegrityError(
                    IntegrityCode.CHECKPOINT_SIGNATURE,
                    f"checkpoint of size {cp.size} does not verify with the log key: {exc}",
                    size=cp.size,
                ) from exc
            self.signatures += 1
        self.good_size = cp.size

    def _check_node_count(self, size: int) -> None:
        count = self.store.node_count()
        expected = expected_node_count(size)
        if count is not None and count != expected:
            raise IntegrityError(
                IntegrityCode.SUBTREE_MISSING,
                f"log of size {size} should store {expected} subtree hashes, got {count}",
                size=size,
                expected=str(expected),
                got=str(count),
            )
