"""The ``yrd.v1.Audit`` servicer: checkpoints, proofs and anchors of the gateway's log.

Every call names its caller first (``gateway.rpc.access.identify``: a member or an auditor;
any other certificate is refused). Checkpoints, consistency proofs and anchors are open to
every authenticated caller; an inclusion proof carries the entry, so it goes only to a
party of that entry or to an auditor (``access.POLICY``, docs/access.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc

from gateway.errors import Refusal, clip
from gateway.exchange.core import ExchangeCore
from gateway.exchange.limits import check_exchange_id
from gateway.exchange.store import GatewayStore
from gateway.pb.yrd.v1 import audit_pb2, audit_pb2_grpc
from gateway.registry import TrustRegistry
from gateway.rpc.access import Caller, authorize, entry_parties, identify
from gateway.rpc.status import abort
from ledger.errors import Error as LedgerError

__all__ = ["AuditServicer"]

_MAX_INDEX = 2**63 - 1  # SQLite's INTEGER; a uint64 above it cannot name a leaf or a size


def _index(value: int, name: str) -> int:
    """A uint64 size or index from a request, refused if no log could be that large."""
    if value > _MAX_INDEX:
        raise Refusal("malformed", f"{name} {value} exceeds the largest log size 2^63-1")
    return value


class AuditServicer(audit_pb2_grpc.AuditServicer):
    """Audit over the gateway's own log; ``anchors`` pages the chain anchors (if any)."""

    def __init__(
        self,
        core: ExchangeCore,
        store: GatewayStore,
        registry: Callable[[], TrustRegistry],
        anchors: Callable[[audit_pb2.GetAnchorsRequest], audit_pb2.AnchorList] | None = None,
    ) -> None:
        self.log = core.log
        self.store = store
        self.registry = registry
        self.anchors = anchors

    def _caller(self, context: grpc.aio.ServicerContext) -> Caller:
        return identify(context, self.registry())

    def _checkpoint(self, size: int | None) -> audit_pb2.Checkpoint:
        signed = self.log.checkpoint(size) if size else self.log.latest_checkpoint()
        if signed is None:
            raise Refusal("not_found", "the log has no checkpoint yet")
        return audit_pb2.Checkpoint(
            text=signed.text,
            tree_size=signed.size,
            root=signed.root,
            origin=signed.checkpoint.origin,
        )

    async def GetCheckpoint(self, request, context):
        try:
            self._caller(context)
            return self._checkpoint(_index(request.tree_size, "tree_size") or None)
        except (Refusal, LedgerError) as exc:
            await abort(
                context, exc if isinstance(exc, Refusal) else Refusal("not_found", str(exc))
            )

    async def GetInclusionProof(self, request, context):
        """(1) the caller; (2) the leaf, by exchange id or index; (3) the tree; (4) the
        access rule on the entry's parties, before anything of the entry leaves."""
        try:
            # (1): caller
            caller = self._caller(context)
            # (2): leaf
            if request.HasField("exchange_id"):
                check_exchange_id(request.exchange_id)
                row = await self.store.run(self.store.exchange, request.exchange_id)
                if row is None:
                    raise Refusal("not_found", f"unknown exchange {clip(request.exchange_id)}")
                index = row.leaf_index
                what = f"exchange {clip(request.exchange_id)}"
            else:
                index = _index(request.leaf_index, "leaf_index")
                what = f"leaf {index}"
            # (3): tree
            checkpoint = self._checkpoint(_index(request.tree_size, "tree_size") or None)
            if index >= checkpoint.tree_size:
                raise Refusal(
                    "not_found", f"leaf {index} is not in the tree of size {checkpoint.tree_size}"
                )
            # (4): access
            entry = await asyncio.to_thread(self.log.entry, index)
            authorize(caller, "Audit.GetInclusionProof", entry_parties(entry), what)
            proof = await asyncio.to_thread(self.log.inclusion_proof, index, checkpoint.tree_size)
            return audit_pb2.InclusionProof(
                leaf_index=index,
                tree_size=checkpoint.tree_size,
                hashes=proof,
                entry=entry,
                checkpoint=checkpoint,
            )
        except (Refusal, LedgerError) as exc:
            await abort(
                context, exc if isinstance(exc, Refusal) else Refusal("not_found", str(exc))
            )

    async def GetConsistencyProof(self, request, context):
        try:
            self._caller(context)
            new = _index(request.new_size, "new_size") or self.log.size
            _index(request.old_size, "old_size")
            if request.old_size > new:
                raise Refusal("malformed", f"old_size {request.old_size} > new_size {new}")
            proof = await asyncio.to_thread(self.log.consistency_proof, request.old_size, new)
        except (Refusal, LedgerError) as exc:
            await abort(
                context, exc if isinstance(exc, Refusal) else Refusal("not_found", str(exc))
            )
        return audit_pb2.ConsistencyProof(old_size=request.old_size, new_size=new, hashes=proof)

    async def GetAnchors(self, request, context):
        try:
            self._caller(context)
        except Refusal as refusal:
            await abort(context, refusal)
        if self.anchors is None:
            return audit_pb2.AnchorList()
        return await asyncio.to_thread(self.anchors, request)
