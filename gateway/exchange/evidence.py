"""Once-only evidence: the holder's answer to an ``evidence.request`` becomes a logged exchange.

Under the once-only rule (凡是能通过信息共享提供的证明材料, 不得要求重复提供) the handling
province asks the province that holds a material (a business licence, say) for it with an
``evidence.request`` exchange, instead of asking the applicant. The request is an ordinary
signed exchange: checked, normalised, logged, and delivered to the holder.

When the holder is a **push-mode** member the gateway is its adapter: the push worker sends
the request in the holder's dialect and gets the certificate back in the same HTTP exchange.
:class:`EvidenceRelay` (an answer hook of the push worker) then records that answer:

1. check the answer is a canonical ``evidence.response`` to this request (same
   ``request_id``);
2. build an ``Envelope`` of kind ``evidence.response`` from the holder member to the
   requester, with the canonical JSON as payload, about the request's matter, and with the
   id ``answer_exchange_id(request id)`` (deterministic, so a retried push never makes a
   second answer);
3. sign those exact bytes with the gateway's attestation key (SM2, purpose
   ``attestation`` in the registry's ``gateway_keys``; never the checkpoint key): the
   holder signed nothing, so the signer is the gateway acting as its adapter, and
   ``signer_key_id`` in the log entry says so (:func:`verify_relayed_envelope` checks it);
4. commit it through :class:`~gateway.exchange.commit.ExchangeCommitter`, the one commit
   path: the log entry (digests and member ids only) and, in the same transaction, the
   exchange and outbox rows, so the answer reaches the requester like any exchange (pull
   or push) and has a receipt.

The envelope is built by ``gateway.exchange.envelopes.signed_envelope``, as every client
builds its own.

A **pull-mode** holder pulls the request and answers with its own signed
``evidence.response`` exchange; nothing here is involved.
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
from typing import Any

from gateway.errors import Code, Error, Refusal
from gateway.exchange.commit import ExchangeCommitter, ExchangeReader, VerifiedExchange
from gateway.exchange.entry import canonical_json
from gateway.exchange.envelopes import signed_envelope
from gateway.exchange.store import ExchangeRow
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import KeyPurpose, RegistryLookupError, TrustRegistry
from ledger.crypto import PrivateKey, sm3
from ledger.errors import SignatureError

__all__ = [
    "ANSWER_DIALECT",
    "REQUEST_KIND",
    "RESPONSE_KIND",
    "AnswerMismatch",
    "EvidenceRelay",
    "answer_exchange_id",
    "verify_relayed_envelope",
]

REQUEST_KIND = "evidence.request"
RESPONSE_KIND = "evidence.response"
ANSWER_DIALECT = "yrd-canonical/1"
_ANSWER_NAMESPACE = uuid.UUID("5d0c6a4e-2f7b-5e51-9a43-0e7c3b1f8a62")

log = logging.getLogger("gateway.exchange.evidence")


def answer_exchange_id(request_exchange_id: str) -> str:
    """The exchange id of the relayed answer to ``request_exchange_id`` (a UUID 5)."""
    return str(uuid.uuid5(_ANSWER_NAMESPACE, request_exchange_id))


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
    # (1): an attestation key
    try:
        public = registry.gateway_key(signed.key_id, KeyPurpose.ATTESTATION, at)
    except RegistryLookupError as exc:
        raise Refusal("key_invalid", f"relayed envelope signing key: {exc}") from exc
    # (2): the signature
    try:
        public.verify(signed.envelope, signed.signature)
    except SignatureError as exc:
        raise Refusal("signature_invalid", f"relayed envelope signature: {exc}") from exc
    # (3): the envelope
    try:
        return exchange_pb2.Envelope.FromString(signed.envelope)
    except Exception as exc:  # protobuf's DecodeError has no stable public home
        raise Refusal("malformed", "relayed envelope: not a yrd.v1.Envelope") from exc


class AnswerMismatch(Error, ValueError):
    """The holder's answer is not the answer to this request."""

    code = Code.ANSWER_MISMATCH


class EvidenceRelay:
    """Records a push-mode holder's ``evidence.response`` as a logged, delivered exchange,
    committed by ``committer`` like any other exchange."""

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
        self, row: ExchangeRow, kind: str, answer: Mapping[str, Any], *, channel: str = "http-dev"
    ) -> None:
        """Push-worker answer hook; ignores everything but answers to evidence requests."""
        if row.kind != REQUEST_KIND or kind != RESPONSE_KIND:
            return
        try:
            await self.record(row, answer, channel=channel)
        except AnswerMismatch as exc:  # a partner bug: retrying would not help
            log.error("evidence answer to %s not recorded: %s", row.exchange_id, exc)

    async def record(
        self, request: ExchangeRow, answer: Mapping[str, Any], *, channel: str = "http-dev"
    ) -> str:
        """Log ``answer`` as the holder's reply to ``request``; return its exchange id.

        Idempotent: a second call for the same request returns the same id and writes
        nothing. Raises :class:`AnswerMismatch` if the answer names another request, and
        :class:`Refusal` ``unavailable`` if the log cannot commit (the push is retried).
        """
        # (1): the answer belongs to the request
        asked = json.loads(request.canonical)
        if answer.get("request_id") != asked.get("request_id"):
            raise AnswerMismatch(
                f"answer request_id: expected {asked.get('request_id')!r}, "
                f"got {answer.get('request_id')!r}"
            )
        answer_id = answer_exchange_id(request.exchange_id)
        if self.store.exchange(answer_id) is not None:
            return answer_id
        # (2) and (3): the envelope from the holder back to the requester, signed by the
        # gateway as the holder's adapter (SM2 in a worker thread: it releases the GIL)
        holder, requester = request.recipient, request.sender
        now = self.clock()
        canonical = dict(answer)
        build = partial(
            signed_envelope,
            key=self.signer,
            sender=holder,
            recipient=requester,
            kind=RESPONSE_KIND,
            matter=request.matter,
            payload=canonical_json(canonical),
            dialect=ANSWER_DIALECT,
            content_type="application/json",
            exchange_id=answer_id,
            created_at=now,
        )
        if self.executor is None:
            signed = build()
        else:
            signed = await asyncio.get_running_loop().run_in_executor(self.executor, build)
        envelope = exchange_pb2.Envelope.FromString(signed.envelope)
        # (4): log entry, exchange and outbox rows in one transaction (the one commit path)
        verified = VerifiedExchange(
            signed=signed,
            envelope=envelope,
            envelope_sm3=sm3(signed.envelope),
            sender=holder,
            recipient=requester,
            canonical=canonical,
            received_at=now.timestamp(),
            relayed=True,
            channel=channel,
        )
        try:
            committed = await self.committer.commit(verified)
        except Refusal as exc:
            if exc.reason != "conflict":
                raise
            return answer_id  # a concurrent record of this answer committed first
        if not committed.duplicate:
            log.info(
                "evidence answer logged",
                extra={
                    "request": request.exchange_id,
                    "answer": answer_id,
                    "leaf": committed.receipt["leaf_index"],
                },
            )
        return answer_id
