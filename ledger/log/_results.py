"""What appending hands back and takes: results, and the side-write contract."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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


Statement = tuple[str, Sequence[Any] | dict[str, Any]]
SideWrite = Callable[..., Sequence[Statement]]
"""``side_write(index=..., tree_size=...) -> [(sql, params), ...]``: statements to run in the
batch transaction of a fresh entry. The store runs equal statements of a batch together
(``executemany``), so a batch of n exchanges costs a handful of calls, not 3n."""
