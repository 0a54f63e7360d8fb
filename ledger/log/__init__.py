"""The durable SM3 Merkle log: group commit, signed checkpoints, O(log n) proofs."""

from ._history import SignedHistory
from ._log import MerkleLog
from ._offline import verify_log_files
from ._results import AppendResult
from ._signer import CheckpointSigner
from ._store import Batch, LogStore, SQLiteStore, StoredCheckpoint
from ._verify import Verified, verify_stored_log

__all__ = [
    "AppendResult",
    "Batch",
    "CheckpointSigner",
    "LogStore",
    "MerkleLog",
    "SQLiteStore",
    "SignedHistory",
    "StoredCheckpoint",
    "Verified",
    "verify_log_files",
    "verify_stored_log",
]
