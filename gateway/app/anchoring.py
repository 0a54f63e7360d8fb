"""Wiring the ledger's anchorer into the gateway: chain choice from settings, the Audit
service's anchor list, and the anchor attached to receipts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.app.settings import Settings
from gateway.pb.yrd.v1 import audit_pb2
from gateway.times import timestamp_from_seconds
from ledger.anchor import Anchorer, EmbeddedChain, JsonRpcChain

__all__ = [
    "AnchorSelect",
    "GatewayAnchorer",
    "make_anchorer_factory",
]

STATUS = {
    "pending": audit_pb2.ANCHOR_STATUS_PENDING,
    "confirmed": audit_pb2.ANCHOR_STATUS_CONFIRMED,
    # failed: given up; lost: the chain forgot it (re-anchored at once): neither proves anything
    "failed": audit_pb2.ANCHOR_STATUS_UNSPECIFIED,
    "lost": audit_pb2.ANCHOR_STATUS_UNSPECIFIED,
}


class GatewayAnchorer:
    """The gateway's view of an :class:`Anchorer` (one per running gateway)."""

    def __init__(self, anchorer: Anchorer) -> None:
        self.anchorer = anchorer

    def chain_facts(self) -> dict[str, Any]:
        """Which chain the anchors are on, and whether an outsider can check them.

        The embedded chain is an in-process EVM, in memory and redeployed at every restart:
        its block numbers and transactions exist nowhere else, so an anchor on it is a local
        development aid, not third-party evidence. A JSON-RPC chain can be checked by anyone
        who reaches a node (``yrd-audit verify --rpc``); its chain id and registry contract
        are given (the node's URL is not: it may carry credentials)."""
        chain = self.anchorer.chain
        embedded = isinstance(chain, EmbeddedChain)
        last = self.anchorer.store.latest_confirmed(self.anchorer.origin)
        return {
            "mode": "embedded" if embedded else "jsonrpc",
            "external": not embedded,
            "chain_id": last.chain_id if last is not None else None,
            "contract": chain.contract_address,
        }

    def start(self) -> None:
        self.anchorer.start()

    def stop(self) -> None:
        self.anchorer.stop()
        self.anchorer.close()

    def lag(self) -> Any:
        return self.anchorer.lag()

    @property
    def failure(self) -> str | None:
        """Why anchoring is down (thread dead, unexpected error), for the supervisor."""
        return self.anchorer.failure

    def covering_anchor(self, tree_size: int) -> Any:
        return self.anchorer.covering_anchor(tree_size)

    def attach_anchor(self, receipt: dict[str, Any]) -> dict[str, Any]:
        return self.anchorer.attach_anchor(receipt)

    def wait_covered(self, tree_size: int, timeout: float | None = None) -> Any:
        return self.anchorer.wait_covered(tree_size, timeout)

    def anchor_list(self, request: audit_pb2.GetAnchorsRequest) -> audit_pb2.AnchorList:
        rows = self.anchorer.anchors(request.origin or None, request.from_size)
        limit = request.limit or 1000
        out = audit_pb2.AnchorList(truncated=len(rows) > limit)
        for row in rows[:limit]:
            submitted = timestamp_from_seconds(row.sent_at or row.created_at)
            out.anchors.append(
                audit_pb2.Anchor(
                    origin=row.origin,
                    tree_size=row.tree_size,
                    root=row.root,
                    tx_hash=row.tx_hash or "",
                    block_number=row.block_number or 0,
                    status=STATUS.get(row.status, audit_pb2.ANCHOR_STATUS_UNSPECIFIED),
                    chain_id=row.chain_id or 0,
                    contract_address=row.contract or "",
                    submitted_at=submitted,
                )
            )
        return out


AnchorSelect = Callable[[int], "int | None"]
"""Given the log's latest checkpoint size, the size to anchor (None: nothing yet)."""


def make_anchorer_factory(settings: Settings) -> Callable[..., GatewayAnchorer]:
    """A factory ``(log, select=None) -> GatewayAnchorer`` for the configured chain.

    ``select`` picks the checkpoint to anchor (the gateway passes the newest one with a
    witness quorum when the registry asks for one: docs/witness.md); None: the latest.

    ``embedded``: an in-process EVM; its state is lost on restart, so the anchorer deploys
    the contract on start and re-anchors the latest confirmed checkpoint (docs/ledger.md).
    ``jsonrpc``: any Ethereum JSON-RPC node with a deployed AnchorRegistry
    (``anchor_contract``) and an anchorer account (``anchor_private_key``).
    """

    def factory(log: Any, select: AnchorSelect | None = None) -> GatewayAnchorer:
        if settings.anchor_mode == "embedded":
            chain: Any = EmbeddedChain()
            provision = True
        else:
            chain = JsonRpcChain(
                settings.anchor_rpc_url,
                settings.anchor_private_key.get_secret_value(),
                settings.anchor_contract or None,
                confirmations=settings.anchor_confirmations,
            )
            provision = False
        anchorer = Anchorer(
            log,
            chain,
            settings.data_dir / "anchors.db",
            interval=settings.anchor_interval_seconds,
            every=settings.anchor_every_entries or None,
            provision=provision,
            select=select,
        )
        return GatewayAnchorer(anchorer)

    return factory
