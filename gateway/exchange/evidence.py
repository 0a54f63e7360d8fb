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
4. append the log entry (digests and member ids only) and, in the same transaction, the
   exchange and outbox rows, so the answer reaches the requester like any exchange (pull
   or push) and has a receipt.

A **pull-mode** holder pulls the request and answers with its own signed
``evidence.response`` exchange; nothing here is involved.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from gateway.errors import Code, Error, Refusal
from gateway.exchange.core import member_proto
from gateway.exchange.entry import canonical_json, exchange_entry
from gateway.exchange.store import ExchangeRow, GatewayStore, insert_exchange
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import KeyPurpose, RegistryLookupError, TrustRegistry
from gateway.times import to_timestamp
from ledger.crypto import PrivateKey, sm3
from ledger.errors import SignatureError
from ledger.log import MerkleLog

__all__ = [
    "ANSWER_DIALECT",
    "REQUEST_KIND",
    "RESPONSE_KIND",
    "AnswerMismatch",
    "EvidenceRelay",
    "answer_exchange_id",
    "install_evidence_relay",
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
    """Records a push-mode holder's ``evidence.response`` as a logged, delivered exchange."""

    def __init__(
        self,
        *,
        log: MerkleLog,
        store: GatewayStore,
        registry: Callable[[], TrustRegistry],
        signer: PrivateKey,
        executor: Any = None,
        notify: Callable[[str, str], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.log = log
        self.store = store
        self.registry = registry
        self.signer = signer
        self.executor = executor
        self.notify = notify
        self.clock = clock

    async def on_answer(self, row: ExchangeRow, kind: str, answer: Mapping[str, Any]) -> None:
        """Push-worker answer hook; ignores everything but answers to evidence requests."""
        if row.kind != REQUEST_KIND or kind != RESPONSE_KIND:
            return
        try:
            await self.record(row, answer)
        except AnswerMismatch as exc:  # a partner bug: retrying would not help
            log.error("evidence answer to %s not recorded: %s", row.exchange_id, exc)

    async def record(self, request: ExchangeRow, answer: Mapping[str, Any]) -> str:
        """Log ``answer`` as the holder's reply to ``request``; return its exchange id.

        Idempotent: a second call for the same request returns the same id and writes
        nothing. Raises :class:`AnswerMismatch` if the answer names another request.
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
        # (2): the envelope, from the holder back to the requester
        holder, requester = request.recipient, request.sender
        now = self.clock()
        created = to_timestamp(now)
        payload = canonical_json(dict(answer))
        envelope = exchange_pb2.Envelope(
            exchange_id=answer_id,
            sender=member_proto(holder),
            recipient=member_proto(requester),
            kind=RESPONSE_KIND,
            matter_ref=request.matter,
            payload=payload,
            payload_digest=sm3(payload),
            payload_content_type="application/json",
            dialect=ANSWER_DIALECT,
            created_at=created,
            nonce=secrets.token_bytes(16),
        )
        raw = envelope.SerializeToString()
        # (3): signed by the gateway, the holder's adapter
        signature = await self._run(self.signer.sign, raw)
        key_id = self.signer.public_key.key_id
        # (4): log entry, exchange and outbox rows in one transaction
        envelope_sm3 = sm3(raw)
        entry = exchange_entry(
            exchange_id=answer_id,
            kind=RESPONSE_KIND,
            sender=holder,
            recipient=requester,
            matter=request.matter,
            envelope_sm3=envelope_sm3,
            payload_sm3=envelope.payload_digest,
            signature_sm3=sm3(signature),
            signer_key_id=key_id,
            received_at=now,
        )
        row = {
            "exchange_id": answer_id,
            "envelope": raw,
            "signature": signature,
            "key_id": key_id,
            "envelope_sm3": envelope_sm3,
            "sender": holder,
            "recipient": requester,
            "kind": RESPONSE_KIND,
            "matter": request.matter,
            "canonical": payload.decode(),
            "received_at": now.timestamp(),
        }
        write = partial(
            insert_exchange,
            row=row,
            nonce=bytes(envelope.nonce),
            delivery_mode=str(self.registry().delivery(requester).mode),
        )
        result = await asyncio.wrap_future(
            self.log.append_async(entry, key=answer_id, side_write=write)
        )
        if not result.duplicate:
            log.info(
                "evidence answer logged",
                extra={"request": request.exchange_id, "answer": answer_id, "leaf": result.index},
            )
            if self.notify is not None:
                self.notify(requester, answer_id)
        return answer_id

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.executor is None:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, partial(fn, *args))


def install_evidence_relay(gateway: Any) -> EvidenceRelay:
    """Make an :class:`EvidenceRelay` for a started-up ``gateway.app.gateway.Gateway`` and hook
    it into its push worker (once; a second call returns the installed relay)."""
    existing = getattr(gateway, "evidence_relay", None)
    if existing is not None:
        return existing

    def notify(recipient: str, exchange_id: str) -> None:
        gateway.hub.notify(recipient)
        gateway.push.notify()

    relay = EvidenceRelay(
        log=gateway.log,
        store=gateway.store,
        registry=gateway.registry.require,
        signer=gateway.attestation_key,
        executor=gateway.executor,
        notify=notify,
    )
    gateway.push.answer_hooks.append(relay.on_answer)
    gateway.evidence_relay = relay
    return relay
