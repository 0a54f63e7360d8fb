"""Opening a log fast: check its head, not its whole history (``MerkleLog(verify="head")``).

For a log whose every writer checked the tree before signing (the elected sequencer on
PostgreSQL, where a full re-verify at each takeover would cost seconds per million entries),
opening checks what the next signature depends on, in O(log n) reads:

1. the latest stored checkpoint parses, names the log's origin, matches its row, and its SM2
   signature verifies with the log key (a sequencer with the wrong key refuses here);
2. the number of entries equals its size;
3. the stored perfect-subtree hashes of the right edge (the frontier) fold to its root.

The signer then only ever signs trees consistent with that checkpoint. A full check stays
available (``verify_stored_log``, or ``verify="full"``).
"""

from __future__ import annotations

from .. import merkle
from ..checkpoint import verify_checkpoint
from ..crypto import PublicKey
from ..errors import CheckpointError, IntegrityCode, IntegrityError
from ._store import LogStore
from ._tree import SubtreeReader, node_of
from ._verify import Verified, short

__all__ = ["verify_head"]


def verify_head(store: LogStore, public_key: PublicKey, origin: str) -> Verified:
    """The log's head, checked as the module says; IntegrityError naming the failed check."""
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
    try:
        signed = verify_checkpoint(last.note, public_key, origin)
    except CheckpointError as exc:
        raise IntegrityError(
            IntegrityCode.CHECKPOINT_SIGNATURE,
            f"latest checkpoint (size {last.size}) does not verify with the log key: {exc}",
            size=last.size,
        ) from exc
    if signed.size != last.size or signed.root != last.root:
        raise IntegrityError(
            IntegrityCode.CHECKPOINT_MALFORMED,
            f"latest checkpoint row (size {last.size}) differs from its signed note",
            size=last.size,
        )
    if size != last.size:
        raise IntegrityError(
            IntegrityCode.SIZE_MISMATCH,
            f"log has {size} entries, its latest signed checkpoint says {last.size}",
            size=last.size,
            expected=str(last.size),
            got=str(size),
        )
    ids = [node_of(r) for r in merkle.perfect_subtrees(0, size)]
    found = SubtreeReader(store).nodes(set(ids), {})
    frontier = [found[node] for node in ids]
    root = merkle.hash_from_perfect_subtrees(frontier)
    if root != last.root:
        raise IntegrityError(
            IntegrityCode.CHECKPOINT_ROOT_MISMATCH,
            f"stored frontier at size {size} folds to {short(root)}, its signed checkpoint "
            f"says {short(last.root)}",
            size=size,
            expected=last.root.hex(),
            got=root.hex(),
        )
    return Verified(size, root, frontier, size, 1, 1, last)
