"""The checkpoint signer: the one place that decides whether a new tree may be signed.

It remembers the last checkpoint it signed and signs a new one only with a consistency proof
(RFC 9162 section 2.1.4) from that one: a log that lost or rewrote entries cannot get a
signature for its new root, whatever the rest of the code does.

It also keeps a durable history of what it released (:class:`SignedHistory`, a file beside
the log's tables): it never signs a size below the highest it released, nor a different root
for that size, even if the log's tables were rolled back consistently.
"""

from __future__ import annotations

from .. import merkle
from ..checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from ..crypto import PrivateKey
from ..errors import CheckpointError, ProofError
from ._history import SignedHistory
from ._verify import short


class CheckpointSigner:
    """Signs checkpoints, refusing any that is not consistent with the last one it signed."""

    def __init__(
        self,
        key: PrivateKey,
        origin: str,
        key_name: str | None = None,
        history: SignedHistory | None = None,
    ) -> None:
        self.key = key
        self.origin = origin
        self.key_name = key_name or origin
        self.last: Checkpoint | None = None
        self.history = history if history is not None else SignedHistory(None)

    def sign(self, size: int, root: bytes, proof: list[bytes]) -> SignedCheckpoint:
        """Sign (size, root) if ``proof`` proves it extends the last signed checkpoint.

        Steps: (1) never below, or different at, the highest size in the durable history;
        (2) consistent with the last checkpoint signed in this process.
        """
        # (1): the durable history
        released = self.history.last
        if released is not None:
            if size < released[0]:
                raise CheckpointError(
                    f"refusing to sign: size {size} is below the highest released size "
                    f"{released[0]}"
                )
            if size == released[0] and root != released[1]:
                raise CheckpointError(
                    f"refusing to sign: size {size} was released with root "
                    f"{short(released[1])}, got {short(root)}"
                )
        # (2): consistency with the last signed checkpoint
        if self.last is not None:
            if size < self.last.size:
                raise CheckpointError(
                    f"refusing to sign: size {size} is smaller than last signed {self.last.size}"
                )
            try:
                merkle.verify_consistency(self.last.size, size, proof, self.last.root, root)
            except ProofError as exc:
                raise CheckpointError(
                    f"refusing to sign: tree of size {size} is inconsistent with the last "
                    f"signed checkpoint of size {self.last.size}: {exc}"
                ) from exc
        signed = sign_checkpoint(Checkpoint(self.origin, size, root), self.key, self.key_name)
        self.last = signed.checkpoint
        return signed

    def release(self, signed: SignedCheckpoint) -> None:
        """Record ``signed`` in the durable history; call once it is committed, before any
        caller or anchor sees it."""
        self.history.append(signed.size, signed.root)
