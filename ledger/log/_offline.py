"""The full check of a stopped log's files, for ``yrdgw ledger verify`` and auditors.

Unlike opening a :class:`MerkleLog` it writes nothing and ignores the verified-up-to marker:

1. every entry, subtree hash, checkpoint root and checkpoint signature (:mod:`._verify`);
2. every record of the signer's history is a size the log holds, with the same root;
3. the last confirmed anchor in the anchorer's database, if there is one, likewise;
4. the latest anchor on the chain, when the caller can reach one (``chain_latest``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .. import merkle
from ..checkpoint import parse_checkpoint
from ..crypto import PublicKey
from ..errors import CheckpointError, IntegrityCode, IntegrityError, StorageError
from ._history import SignedHistory
from ._store import SQLiteStore
from ._tree import SubtreeReader
from ._verify import Verified, short, verify_stored_log

__all__ = ["verify_log_files"]


def verify_log_files(
    db: Path,
    public_key: PublicKey,
    origin: str | None = None,
    anchors: Path | None = None,
    chain_latest: Callable[[str], tuple[int, bytes] | None] | None = None,
) -> Verified:
    """Check the log database ``db`` (and its signer history beside it) completely.

    ``origin`` defaults to the one named by the last stored checkpoint (its signature binds
    it to ``public_key`` anyway). ``chain_latest(origin)`` gives the chain's latest anchor
    ``(size, root)`` of the origin, or None (its errors propagate). Raises IntegrityError on
    the first flaw, StorageError if the files cannot be read.
    """
    if not db.is_file():
        raise StorageError(f"no log database at {db}")
    store = SQLiteStore(db)
    try:
        if origin is None:
            last = store.checkpoint()
            try:
                origin = parse_checkpoint(last.note).checkpoint.origin if last else "unknown"
            except CheckpointError as exc:
                raise IntegrityError(
                    IntegrityCode.CHECKPOINT_MALFORMED,
                    f"last checkpoint of size {last.size if last else 0} does not parse: {exc}",
                    size=last.size if last else 0,
                ) from exc
        # (1): entries, subtrees, checkpoints, every signature
        verified = verify_stored_log(store, public_key, origin, all_signatures=True)
        reader = SubtreeReader(store)

        def root_at(size: int) -> bytes:
            if size == 0:
                return merkle.EMPTY_ROOT
            ranges = [[(0, size)]]
            return reader.range_hashes_many(ranges)[0][0]

        # (2): the signer's history
        history = SignedHistory(store.sidecar(".signed"))
        for size, root in history.records():
            _prefix(IntegrityCode.SIGNER_HISTORY, "signer released", size, root, verified, root_at)
        # (3): the last confirmed anchor
        if anchors is not None and anchors.exists():
            from ._anchors import last_confirmed

            anchor = last_confirmed(anchors, origin)
            if anchor is not None:
                _prefix(
                    IntegrityCode.ANCHOR_MISMATCH,
                    "last confirmed anchor has",
                    *anchor,
                    verified,
                    root_at,
                )
        # (4): the chain
        if chain_latest is not None:
            anchor = chain_latest(origin)
            if anchor is not None:
                _prefix(
                    IntegrityCode.ANCHOR_MISMATCH,
                    "the chain's latest anchor has",
                    *anchor,
                    verified,
                    root_at,
                )
        return verified
    finally:
        store.close()


def _prefix(
    code: IntegrityCode,
    what: str,
    size: int,
    root: bytes,
    verified: Verified,
    root_at: Callable[[int], bytes],
) -> None:
    """``(size, root)``, something the log once stood at, must be a prefix of the log."""
    if size > verified.size:
        raise IntegrityError(
            code,
            f"{what} size {size} but the log ends at size {verified.size}",
            size=size,
            expected=str(size),
            got=str(verified.size),
        )
    have = root_at(size)
    if have != root:
        raise IntegrityError(
            code,
            f"{what} size {size} with root {short(root)}, the log has {short(have)}",
            size=size,
            expected=root.hex(),
            got=have.hex(),
        )
