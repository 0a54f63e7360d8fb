"""The gRPC servicers: they authenticate the caller, translate, and call the core."""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import grpc

from gateway.errors import Refusal, clip
from gateway.exchange.core import Accepted, ExchangeCore
from gateway.exchange.delivery import PullHub
from gateway.exchange.limits import check_exchange_id
from gateway.exchange.store import (
    DELIVERED,
    FAILURE_UNDELIVERABLE,
    PENDING,
    REJECTED,
    ExchangeRow,
    GatewayStore,
)
from gateway.exchange.translation import delivery_message
from gateway.ops.metrics import Metrics
from gateway.pb.yrd.v1 import exchange_pb2, exchange_pb2_grpc
from gateway.registry import DeliveryMode, TrustRegistry, certificate_fingerprint
from gateway.rpc.access import authorize, identify
from gateway.rpc.admission import Admission
from gateway.rpc.exchange_status import ExchangeStatusMixin
from gateway.rpc.guard import refusal_for
from gateway.rpc.status import abort
from gateway.times import timestamp_from_seconds
from ledger.errors import Error as LedgerError

__all__ = [
    "AnchorAttacher",
    "ExchangeServicer",
    "ReceiptWitnesses",
    "caller_member",
    "receipt_proto",
]

log = logging.getLogger("gateway.grpc")

DEFAULT_IN_FLIGHT = 32
_MAX_INDEX = 2**63 - 1  # SQLite's INTEGER; a uint64 above it cannot name a leaf or a size


def _index(value: int, name: str) -> int:
    """A uint64 size or index from a request, refused if no log could be that large."""
    if value > _MAX_INDEX:
        raise Refusal("malformed", f"{name} {value} exceeds the largest log size 2^63-1")
    return value


@functools.lru_cache(maxsize=1024)
def _fingerprint(pem: bytes) -> str:
    return certificate_fingerprint(pem)


def caller_member(context: grpc.aio.ServicerContext, registry: TrustRegistry) -> str | None:
    """The member bound (by certificate fingerprint) to the caller's mTLS client certificate."""
    certs = context.auth_context().get("x509_pem_cert") or []
    if not certs:
        return None
    member = registry.member_for_cert_fingerprint(_fingerprint(certs[0]))
    return None if member is None else str(member.id)


def receipt_proto(receipt: dict[str, Any], received_at: float) -> exchange_pb2.Receipt:
    import json

    return exchange_pb2.Receipt(
        exchange_id=receipt.get("exchange_id", ""),
        leaf_index=receipt["leaf_index"],
        tree_size=receipt["tree_size"],
        entry=base64.b64decode(receipt["entry"]),
        inclusion_proof=[bytes.fromhex(h) for h in receipt["inclusion_proof"]],
        checkpoint=receipt["checkpoint"],
        log_key_id=receipt["log_key_id"],
        received_at=timestamp_from_seconds(received_at),
        receipt_json=json.dumps(receipt, ensure_ascii=False),
    )


def _member_or_none(
    context: grpc.aio.ServicerContext, registry: Callable[[], TrustRegistry]
) -> str | None:
    """The caller's member for admission; None if the registry is unusable (each item is
    then refused for that reason by the core)."""
    try:
        return caller_member(context, registry())
    except Refusal:
        return None


class AnchorAttacher(Protocol):
    """Adds where a receipt's root is anchored (``gateway.app.anchoring.GatewayAnchorer``)."""

    def attach_anchor(self, receipt: dict[str, Any]) -> dict[str, Any]: ...


class ReceiptWitnesses(Protocol):
    """Adds witness cosignatures to receipts (``gateway.witness.WitnessReceipts``):
    ``annotate_unread`` never blocks (None: a read is needed), the others do (store and log
    reads)."""

    def active(self) -> bool: ...

    def annotate_unread(self, receipt: dict[str, Any]) -> dict[str, Any] | None: ...

    def annotate(self, receipt: dict[str, Any]) -> dict[str, Any]: ...

    def upgrade(self, receipt: dict[str, Any]) -> dict[str, Any]: ...


class ExchangeServicer(ExchangeStatusMixin, exchange_pb2_grpc.ExchangeServicer):
    """Submit, Pull and GetReceipt here; GetStatus and WatchStatus in
    ``gateway.rpc.exchange_status``."""

    def __init__(
        self,
        core: ExchangeCore,
        store: GatewayStore,
        registry: Callable[[], TrustRegistry],
        hub: PullHub,
        metrics: Metrics | None = None,
        anchorer: AnchorAttacher | None = None,
        *,
        max_send_bytes: int | None = None,
        admission: Admission | None = None,
        witnesses: ReceiptWitnesses | None = None,
    ) -> None:
        self.anchorer = anchorer
        self.witnesses = witnesses
        """Cosignatures on every receipt handed out, and GetReceipt's upgrade."""
        self.admission = admission
        """Admits each SubmitStream item (Submit itself: ``AdmissionInterceptor``)."""
        self.max_send_bytes = max_send_bytes
        """The server's largest outgoing message; a larger Delivery is given up (Pull)."""
        self.core = core
        self.store = store
        self.registry = registry
        self.hub = hub
        self.metrics = metrics

    async def _accept(
        self, request: exchange_pb2.SignedEnvelope, context: grpc.aio.ServicerContext
    ) -> Accepted:
        # counted in the metrics by the core (every entry's submissions, cases' included)
        try:
            return await self.core.submit(request, caller_member(context, self.registry()))
        except Refusal as refusal:
            log.info(
                "exchange refused", extra={"reason": refusal.reason, "detail": refusal.message}
            )
            raise

    async def _witnessed(self, receipt: dict[str, Any]) -> dict[str, Any]:
        """``receipt`` with the cosignatures held for its checkpoint (if there are witnesses):
        on the loop when none can be held yet (a receipt just issued), else read off it."""
        witnesses = self.witnesses
        if witnesses is None:
            return receipt
        unread = witnesses.annotate_unread(receipt)
        if unread is not None:
            return unread
        return await asyncio.to_thread(witnesses.annotate, receipt)

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.delivery("pull", outcome)

    async def Submit(self, request, context):
        try:
            accepted = await self._accept(request, context)
        except Refusal as refusal:
            await abort(context, refusal)
            raise AssertionError("unreachable") from None
        receipt = await self._witnessed(accepted.receipt)
        return receipt_proto(receipt, accepted.received_at)

    async def SubmitStream(self, request_iterator, context):
        queue: asyncio.Queue = asyncio.Queue(maxsize=256)

        admission = self.admission
        member = _member_or_none(context, self.registry) if admission else None
        # one stream never takes more than its member's share: the reader waits for room
        # (backpressure); an item the process (or the member's other calls) has no room for
        # is refused OVERLOADED at once, before any check
        room = asyncio.Semaphore(admission.max_per_member if admission else 256)

        async def admitted(request) -> Accepted:
            try:
                if admission is None:
                    return await self._accept(request, context)
                with admission.slot(member):
                    return await self._accept(request, context)
            finally:
                room.release()

        async def work(sequence: int, request) -> exchange_pb2.SubmitResult:
            try:
                accepted = await admitted(request)
            except Exception as exc:  # one bad item must not end the others' stream
                refusal = refusal_for(exc, "/yrd.v1.Exchange/SubmitStream")
                return exchange_pb2.SubmitResult(
                    sequence=sequence,
                    error=exchange_pb2.SubmitError(
                        code=refusal.status.value[0],
                        message=refusal.message,
                        reason=refusal.reason.wire,
                        reason_code=refusal.reason.wire,
                    ),
                )
            receipt = await self._witnessed(accepted.receipt)
            return exchange_pb2.SubmitResult(
                sequence=sequence,
                exchange_id=accepted.exchange_id,
                receipt=receipt_proto(receipt, accepted.received_at),
            )

        async def reader() -> None:
            sequence = 0
            try:
                async for request in request_iterator:
                    await room.acquire()
                    await queue.put(asyncio.ensure_future(work(sequence, request)))
                    sequence += 1
            except Exception as exc:  # undecodable message: the stream ends with its refusal
                await queue.put(exc)
                return
            await queue.put(None)

        feeder = asyncio.ensure_future(reader())
        try:
            while True:
                task = await queue.get()
                if task is None:
                    break
                if isinstance(task, Exception):
                    raise task
                yield await task
        finally:
            feeder.cancel()

    async def GetReceipt(self, request, context):
        # the shared access policy (gateway.rpc.access): its parties, or an auditor
        try:
            caller = identify(context, self.registry())
            check_exchange_id(request.exchange_id)
            row = await self.store.run(self.store.exchange, request.exchange_id)
            if row is None:
                raise Refusal("not_found", f"unknown exchange {clip(request.exchange_id)}")
            what = f"exchange {clip(request.exchange_id)}"
            authorize(caller, "Exchange.GetReceipt", (row.sender, row.recipient), what)
        except Refusal as refusal:
            await abort(context, refusal)
            raise AssertionError("unreachable") from None
        try:
            size = _index(request.tree_size, "tree_size") or None
        except Refusal as refusal:
            await abort(context, refusal)
        witnesses = self.witnesses if self.witnesses and self.witnesses.active() else None
        if size is None and witnesses is not None:
            # with witnesses: the receipt as issued (its own tree size), upgraded to a later
            # witnessed checkpoint when its own has no quorum (docs/receipt.md)
            size = row.tree_size
        try:
            receipt = await asyncio.to_thread(
                self.core.log.receipt, row.leaf_index, size, row.exchange_id
            )
            if witnesses is not None:
                upgrade = request.tree_size == 0
                receipt = await asyncio.to_thread(
                    witnesses.upgrade if upgrade else witnesses.annotate, receipt
                )
        except LedgerError as exc:
            await abort(context, Refusal("not_found", f"receipt at tree size {size}: {exc}"))
        if self.anchorer is not None:  # later receipts carry where their root is anchored
            receipt = await asyncio.to_thread(self.anchorer.attach_anchor, receipt)
        return receipt_proto(receipt, row.received_at)

    async def Pull(self, request_iterator, context):
        registry = self.registry()
        caller = caller_member(context, registry)
        iterator = request_iterator.__aiter__()
        try:
            first = await iterator.__anext__()
        except StopAsyncIteration:
            return
        if not first.HasField("request"):
            await abort(context, Refusal("malformed", "the first pull message must be a request"))
        from gateway.exchange.core import member_text

        try:
            member = member_text(first.request.member)
        except Refusal as refusal:
            await abort(context, refusal)
        if caller is None or caller != member:
            await abort(
                context,
                Refusal(
                    "sender_mismatch",
                    f"client certificate is bound to {caller}, pull requested for {member}",
                ),
            )
        if registry.delivery(member).mode != DeliveryMode.PULL:
            await abort(
                context,
                Refusal("not_permitted", f"{member} is registered for push delivery, not pull"),
            )
        limit = min(first.request.max_in_flight or DEFAULT_IN_FLIGHT, 256)
        # delivery_id -> exchange_id of what this stream sent and the recipient has not acked.
        # An exchange stays in ``sent`` and in the member's ``in_flight`` (shared by all its
        # streams) until its ack is durable, so no stream re-reads it as pending meanwhile.
        sent: dict[str, str] = {}
        in_flight = self.hub.in_flight[member]

        async def read_acks() -> None:
            async for message in iterator:
                if not message.HasField("ack"):
                    continue
                ack = message.ack
                exchange_id = sent.get(ack.delivery_id)
                if exchange_id is None:
                    raise Refusal(
                        "malformed",
                        f"ack for delivery id {clip(ack.delivery_id)}, which is not outstanding"
                        " on this stream (unknown, or already acked)",
                    )
                if ack.outcome == exchange_pb2.ACK_OUTCOME_ACCEPTED:
                    await self.store.run(self.store.settle_pull, exchange_id, DELIVERED)
                    self._count("delivered")
                elif ack.outcome == exchange_pb2.ACK_OUTCOME_REJECTED:
                    await self.store.run(
                        self.store.settle_pull,
                        exchange_id,
                        REJECTED,
                        error=ack.reason or "rejected by recipient",
                    )
                    self._count("refused_by_partner")
                    log.warning(
                        "pull delivery of %s rejected by %s: %s",
                        exchange_id,
                        member,
                        clip(ack.reason),
                    )
                else:
                    self._count("retry")
                    await self.store.run(
                        self.store.settle_pull,
                        exchange_id,
                        PENDING,
                        error=ack.reason or "retry",
                        retry_at=time.time() + 1,
                    )
                del sent[ack.delivery_id]
                in_flight.discard(exchange_id)
                self.hub.notify(member)

        acks = asyncio.ensure_future(read_acks())
        try:
            while not acks.done():
                room = limit - len(sent)
                rows = []
                if room > 0:
                    rows = await self.store.run(
                        self.store.due, member, "pull", room, set(in_flight)
                    )
                for row in rows:
                    # another stream of the member may have taken it while due() ran
                    if row.exchange_id in in_flight:
                        continue
                    in_flight.add(row.exchange_id)
                    attempt, exchange = await self.store.run(_claim, self.store, row.exchange_id)
                    if attempt is None or exchange is None:  # settled meanwhile
                        in_flight.discard(row.exchange_id)
                        continue
                    delivery_id = str(uuid.uuid4())
                    receipt = await asyncio.to_thread(
                        self.core.log.receipt,
                        exchange.leaf_index,
                        exchange.tree_size,
                        exchange.exchange_id,
                    )
                    receipt = await self._witnessed(receipt)
                    delivery = delivery_message(
                        exchange,
                        delivery_id=delivery_id,
                        attempt=attempt,
                        receipt=receipt_proto(receipt, exchange.received_at),
                    )
                    size = delivery.ByteSize()
                    if self.max_send_bytes is not None and size > self.max_send_bytes:
                        # sending it would end the stream, and every retry would too
                        await self.store.run(
                            self.store.reject,
                            row.exchange_id,
                            FAILURE_UNDELIVERABLE,
                            f"delivery of {size} bytes exceeds the message limit of"
                            f" {self.max_send_bytes} bytes",
                        )
                        log.warning(
                            "exchange %s undeliverable to %s: %d bytes exceed the message"
                            " limit of %d",
                            row.exchange_id,
                            member,
                            size,
                            self.max_send_bytes,
                        )
                        in_flight.discard(row.exchange_id)
                        self._count("undeliverable")
                        continue
                    sent[delivery_id] = row.exchange_id
                    yield delivery
                if not rows:
                    await self.hub.wait(member, 0.5)
            failed = None if acks.cancelled() else acks.exception()
            if failed is not None:  # an unknown ack id, an ack that does not decode: refused
                raise failed
        finally:
            acks.cancel()
            for exchange_id in sent.values():
                in_flight.discard(exchange_id)
            self.hub.notify(member)  # what this stream held is due again for the others


def _claim(store: GatewayStore, exchange_id: str) -> tuple[int | None, ExchangeRow | None]:
    """Claim a pull row and read its exchange: one hand-off to a store thread."""
    attempt = store.claim_pull(exchange_id)
    return attempt, None if attempt is None else store.exchange(exchange_id)
