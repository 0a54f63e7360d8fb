"""The durable SM3 Merkle log: group commit, signed checkpoints, O(log n) proofs."""

from ._log import AppendResult, CheckpointSigner, MerkleLog
from ._store import Batch, LogStore, SQLiteStore, StoredCheckpoint

__all__ = [
    "AppendResult",
    "Batch",
    "CheckpointSigner",
    "LogStore",
    "MerkleLog",
    "SQLiteStore",
    "StoredCheckpoint",
]
