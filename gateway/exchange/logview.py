"""The log as the gateway uses it: what the gateway's parts call on ``ledger.log.MerkleLog``
(the embedded log, sequenced in this process) and on ``ledger.log.pg.PgLog`` (a front end
of a log on PostgreSQL whose sequencer is elected among the processes). Typing against this,
not a class, keeps every part indifferent to which one compose chose."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Protocol

from ledger.checkpoint import SignedCheckpoint
from ledger.crypto import PublicKey
from ledger.log import AppendResult

__all__ = ["GatewayLog"]


class GatewayLog(Protocol):
    """Appends (always keyed by the exchange id) and the reads receipts and audits need."""

    @property
    def origin(self) -> str: ...

    @property
    def public_key(self) -> PublicKey: ...

    @property
    def size(self) -> int: ...

    @property
    def failure(self) -> str | None: ...

    def append_async(
        self, entry: bytes, key: str | None = None, want_proof: bool = False
    ) -> Future[AppendResult]: ...

    def index_for_key(self, key: str) -> int | None: ...

    def latest_checkpoint(self) -> SignedCheckpoint | None: ...

    def checkpoint(self, size: int | None = None) -> SignedCheckpoint: ...

    def receipt(
        self, index: int, size: int | None = None, exchange_id: str | None = None
    ) -> dict[str, Any]: ...

    def root(self, size: int) -> bytes: ...

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]: ...

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]: ...

    def entry(self, index: int) -> bytes: ...

    def close(self) -> None: ...
