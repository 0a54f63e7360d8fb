"""Answers are exchanges: a push-mode member's HTTP answer becomes a logged exchange from it.

Kinds that expect an answer, and the answer's kind, are one table:
``gateway.dialects.base.RESPONSE_KIND`` (``matter.lookup`` -> ``matter``, ``case.submit`` ->
``case.status``, ``case.status`` -> ``case.status``, ``evidence.request`` ->
``evidence.response``). A **pull-mode** recipient answers with its own signed exchange whose
``in_reply_to`` names the request (checked by ``gateway.exchange.core``, step (10)).

For a **push-mode** recipient the gateway is its adapter: the push worker sends the request
in the member's dialect and gets the answer back in the same HTTP exchange.
:class:`AnswerRelay` (an answer hook of the push worker) then records that answer:

1. check the answer belongs to this request (the same ``request_id`` or ``case_id`` where
   the kind has one; :class:`AnswerMismatch` otherwise: a partner bug, the request fails);
2. build an ``Envelope`` of the answer kind from the member to the requester, with the
   canonical JSON as payload, about the request's matter, ``in_reply_to`` the request, and
   the id ``answer_exchange_id(request id)`` (deterministic, so a retried push never makes
   a second answer);
3. sign those exact bytes with the gateway's attestation key (SM2, purpose ``attestation``
   in the registry's ``gateway_keys``; never the checkpoint key): the member signed nothing,
   so the signer is the gateway acting as its adapter, and ``signer_key_id`` in the log
   entry says so (:func:`verify_relayed_envelope` checks it);
4. commit it through :class:`~gateway.exchange.commit.ExchangeCommitter`, the one commit
   path, marked ``relayed`` with the channel the answer came over: the log entry and, in the
   same transaction, the exchange and outbox rows, so the answer reaches the requester like
   any exchange (pull or push) and has a receipt.

An answer is never itself answered: the push worker relays only what a request's push
brings back (``in_reply_to`` empty), so two push members cannot ping-pong ``case.status``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from gateway.dialects.base import RESPONSE_KIND
from gateway.errors import Code, Error, Refusal
from gateway.exchange.commit import ExchangeCommitter, ExchangeReader, VerifiedExchange
from gateway.exchange.entry import canonical_json
from gateway.exchange.envelopes import signed_envelope
from gateway.exchange.handoff import LoopHandoff
from gateway.exchange.store import ExchangeRow
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import KeyPurpose, RegistryLookupError, TrustRegistry
from ledger.crypto import PrivateKey, sm3
from ledger.errors import SignatureError

__all__ = [
    "ANSWER_DIALECT",
    "CORRELATION",
    "AnswerMismatch",
    "AnswerRelay",
    "answer_exchange_id",
    "verify_attestation_signature",
    "verify_relayed_envelope",
]

ANSWER_DIALECT = "yrd-canonical/1"
CORRELATION: Mapping[str, str] = {
    "evidence.request": "request_id",
    "case.submit": "case_id",
    "case.status": "case_id",
}
"""Request kind -> the canonical field its answer must repeat (``matter.lookup`` has none)."""
_ANSWER_NAMESPACE = uuid.UUID("5d0c6a4e-2f7b-5e51-9a43-0e7c3b1f8a62")

log = logging.getLogger("gateway.exchange.answers")
T = TypeVar("T")


def answer_exchange_id(request_exchange_id: str) -> str:
    """The exchange id of the relayed answer to ``request_exchange_id`` (a UUID 5)."""
    return str(uuid.uuid5(_ANSWER_NAMESPACE, request_exchange_id))


def verify_attestation_signature(
    registry: TrustRegistry,
    key_id: str,
    data: bytes,
    signature: bytes,
    what: str,
    at: datetime | None = None,
) -> None:
    """``signature`` over ``data`` is by a gateway key listed for purpose ``attestation``
    (valid at ``at`` if given), never a checkpoint or identity key: ``key_invalid``, else
    ``signature_invalid``, the message starting with ``what``."""
    try:
        public = registry.gateway_key(key_id, KeyPurpose.ATTESTATION, at)
    except RegistryLookupError as exc:
        raise Refusal("key_invalid", f"{what} signing key: {exc}") from exc
    try:
        public.verify(data, signature)
    except SignatureError as exc:
        raise Refusal("signature_invalid", f"{what} signature: {exc}") from exc


def verify_relayed_envelope(
    registry: TrustRegistry, signed: exchange_pb2.SignedEnvelope, at: datetime | None = None
) -> exchange_pb2.Envelope:
    """Check an envelope the gateway signed as a member's adapter; return it parsed.

    Steps, each refusing with :class:`Refusal`:

    1. ``key_id`` is listed in the registry for purpose ``attestation`` (valid at ``at`` if
       given): a checkpoint or identity key never vouches for an envelope (``key_invalid``);
    2. the SM2 signature over the envelope bytes (``signature_invalid``);
    3. the bytes are an ``Envelope`` (``malformed``).
    """
    # (1) and (2): an attestation key's signature
    verify_attestation_signature(
        registry, signed.key_id, signed.envelope, signed.signature, "relayed envelope", at
    )
    # (3): the envelope
    try:
        return exchange_pb2.Envelope.FromString(signed.envelope)
    except Exception as exc:  # protobuf's DecodeError has no stable public home
        raise Refusal("malformed", "relayed envelope: not a yrd.v1.Envelope") from exc


class AnswerMismatch(Error, ValueError):
    """The member's answer is not the answer to this request."""

    code = Code.ANSWER_MISMATCH


class AnswerRelay:
    """Records a push-mode member's answer to any request kind as a logged, delivered
    exchange, committed by ``committer`` like any other exchange."""

    def __init__(
        self,
        *,
        committer: ExchangeCommitter,
        store: ExchangeReader,
        signer: PrivateKey,
        executor: Executor | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.committer = committer
        self.store = store
        self.signer = signer
        self.executor = executor
        self.clock = clock

    async def on_answer(
        self, row: ExchangeRow, kind: str, answer: Mapping[str, Any], channel: str
    ) -> None:
        """Push-worker answer hook: record ``answer`` if ``kind`` is the answer to
        ``row``'s kind. Raises :class:`AnswerMismatch` (the push worker fails the request)."""
        if row.in_reply_to or RESPONSE_KIND.get(row.kind) != kind:
            return
        await self.record(row, answer, channel=channel)

    async def record(
        self, request: ExchangeRow, answer: Mapping[str, Any], *, channel: str = "http-dev"
    ) -> str:
        """Log ``answer`` as the member's reply to ``request``; return its exchange id.

        Idempotent: a second call for the same request returns the same id and writes
        nothing. Raises :class:`AnswerMismatch` if the answer names another request, and
        :class:`Refusal` ``unavailable`` if the log cannot commit (the push is retried).
        """
        kind = RESPONSE_KIND[request.kind]
        # (1): the answer belongs to the request
        field = CORRELATION.get(request.kind)
        if field is not None:
            asked = json.loads(request.canonical)
            if answer.get(field) != asked.get(field):
                raise AnswerMismatch(
                    f"answer {field}: expected {asked.get(field)!r}, got {answer.get(field)!r}"
                )
        answer_id = answer_exchange_id(request.exchange_id)
        if await self._run(self.store.exchange, answer_id) is not None:
            return answer_id
        # (2) and (3): the envelope from the member back to the requester, signed by the
        # gateway as the member's adapter (SM2 in a worker thread: it releases the GIL)
        member, requester = request.recipient, request.sender
        now = self.clock()
        canonical = dict(answer)
        build = partial(
            signed_envelope,
            key=self.signer,
            sender=member,
            recipient=requester,
            kind=kind,
            matter=request.matter,
            payload=canonical_json(canonical),
            dialect=ANSWER_DIALECT,
            content_type="application/json",
            exchange_id=answer_id,
            created_at=now,
            in_reply_to=request.exchange_id,
        )
        signed = await self._run(build)
        envelope = exchange_pb2.Envelope.FromString(signed.envelope)
        # (4): log entry, exchange and outbox rows in one transaction (the one commit path)
        verified = VerifiedExchange(
            signed=signed,
            envelope=envelope,
            envelope_sm3=sm3(signed.envelope),
            sender=member,
            recipient=requester,
            canonical=canonical,
            received_at=now.timestamp(),
            matter=request.matter,  # the request's, already resolved to the canonical code
            relayed=True,
            channel=channel,
        )
        try:
            committed = await self.committer.commit(verified)
        except Refusal as exc:
            if exc.reason == "conflict":
                return answer_id  # a concurrent record of this answer committed first
            if exc.reason == "already_answered":  # the member answered over gRPC meanwhile
                existing = await self._run(self.store.answer_to, request.exchange_id)
                return answer_id if existing is None else existing.exchange_id
            raise
        if not committed.duplicate:
            log.info(
                "answer logged",
                extra={
                    "request": request.exchange_id,
                    "answer": answer_id,
                    "kind": kind,
                    "leaf": committed.receipt["leaf_index"],
                },
            )
        return answer_id

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` off the event loop (store reads, signing): one hand-off each."""
        if self.executor is None:
            return await asyncio.to_thread(fn, *args)
        return await LoopHandoff.current().run(self.executor, fn, *args)
