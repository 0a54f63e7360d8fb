"""What appending hands back: where an entry landed."""

from __future__ import annotations

from dataclasses import dataclass

from ..checkpoint import SignedCheckpoint


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where an entry landed: its leaf index and the signed checkpoint that first covers it."""

    index: int
    checkpoint: SignedCheckpoint
    duplicate: bool = False
    proof: list[bytes] | None = None
    """Inclusion proof of ``index`` in ``checkpoint`` (when asked for with ``want_proof``)."""

    @property
    def tree_size(self) -> int:
        return self.checkpoint.size
