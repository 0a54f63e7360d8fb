"""The one commit path: a verified, normalised exchange becomes durable and gets a receipt.

Every exchange the gateway accepts goes through :class:`ExchangeCommitter` -- a member's
exchange over gRPC (``gateway.exchange.core``, step (12)), an answer the gateway relays as a
push-mode holder's adapter (``gateway.exchange.evidence``) and a case exchange (through the
core, ``gateway.cases.exchanges``). A new column of the ``exchanges`` table is written here
and in ``gateway.exchange.store``, nowhere else.

:meth:`ExchangeCommitter.commit`:

1. translate once into the recipient's dialect and attest it
   (``gateway.exchange.translation``; the core does it in its verify job and hands it over
   in ``VerifiedExchange.translation``), then build the log entry (digests and member ids
   only, ``gateway.exchange.entry``) and the exchange row with the delivered bytes; a
   payload the recipient's dialect cannot express is still logged, its outbox row
   ``rejected`` with failure ``translation`` (logged at WARNING, never dropped silently);
2. the gateway's unit of work (``gateway.exchange.unit``) stages the exchange row, the
   sender nonce and the entry in ``gateway.db``, appends the entry to the log with the
   exchange id as key, then gives the row its index and writes the outbox row: all in or
   all out, and the log never runs gateway code. The stage decides, race-free: a nonce used
   before is ``replay``, an answered request ``already_answered``;
3. a duplicate (lost a race with an identical retry, or staged before a crash) returns the
   stored exchange's receipt, or refuses ``conflict`` if the stored bytes differ;
4. the receipt: inclusion in the batch's signed checkpoint;
5. tell delivery (pull streams and the push worker) that something is due.

An answer (``in_reply_to`` set) is refused ``already_answered`` when its request has an
answer, or one is being committed: the committer reserves the request id for the length of
the commit, so of two concurrent answers exactly one is written (and the UNIQUE index on
``exchanges.in_reply_to`` holds the file to that even across processes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from gateway.errors import Refusal
from gateway.exchange.entry import canonical_json, exchange_entry
from gateway.exchange.handoff import LoopHandoff
from gateway.exchange.logview import GatewayLog
from gateway.exchange.store import FAILURE_TRANSLATION, ExchangeRow
from gateway.exchange.unit import ExchangeWriter, Staged
from gateway.ops.metrics import Metrics
from gateway.pb.yrd.v1 import exchange_pb2
from ledger.crypto import sm3
from ledger.receipt import build_receipt

if TYPE_CHECKING:
    from gateway.exchange.translation import Translation, Translator
    from gateway.registry import TrustRegistry

__all__ = ["Committed", "ExchangeCommitter", "ExchangeReader", "VerifiedExchange"]

log = logging.getLogger("gateway.exchange.commit")


class ExchangeReader(Protocol):
    """What the committer reads back: a stored exchange by id (``GatewayStore``)."""

    def exchange(self, exchange_id: str) -> ExchangeRow | None: ...

    def answer_to(self, request_id: str) -> ExchangeRow | None: ...


@dataclass(frozen=True)
class VerifiedExchange:
    """An exchange every check has passed: the exact signed bytes, the parsed envelope, the
    member ids, the canonical model, when the gateway received it (seconds since epoch) and
    the canonical matter code ``matter_ref`` resolved to ("" for none): the only matter
    value logged and stored, never the raw ``envelope.matter_ref``; the sender's dialect
    (default: the envelope's, which the core checked against the registry), whether the
    gateway signed the envelope itself as a push member's adapter (``relayed``) and how the
    original arrived (``channel``: "grpc-mtls", "https-pinned" or "http-dev") -- all three go
    into the log entry and the translation attestation."""

    signed: exchange_pb2.SignedEnvelope
    envelope: exchange_pb2.Envelope
    envelope_sm3: bytes
    sender: str
    recipient: str
    canonical: dict[str, Any]
    received_at: float
    matter: str
    source_dialect: str = ""
    relayed: bool = False
    """True when the gateway signed the envelope itself, as a push-mode member's adapter."""
    channel: str = "grpc-mtls"
    """How the original arrived: "grpc-mtls", "https-pinned" or "http-dev"."""
    translation: Translation | None = None
    """Made ahead in the core's verify job (:meth:`ExchangeCommitter.translate_blocking`);
    None: the committer translates."""

    @property
    def exchange_id(self) -> str:
        return self.envelope.exchange_id


@dataclass(frozen=True)
class Committed:
    """A durable exchange: its receipt (inclusion in a signed checkpoint), when it was
    received, and whether it had been committed before (an idempotent retry)."""

    exchange_id: str
    receipt: dict[str, Any]
    received_at: float
    duplicate: bool


class ExchangeCommitter:
    """Commits verified exchanges to the log and the gateway's rows (steps in the module
    docstring). ``delivery_mode(recipient)`` is the recipient's registered mode (pull or
    push); ``writer`` is the unit of work that makes rows and entry durable together;
    ``on_commit(recipient, exchange_id)`` runs after each new commit; ``translator``
    makes the recipient's payload and attestation (without one -- unit tests of the commit
    path alone -- rows carry no delivered bytes and the entry no target dialect)."""

    def __init__(
        self,
        *,
        log: GatewayLog,
        writer: ExchangeWriter,
        store: ExchangeReader,
        delivery_mode: Callable[[str], str],
        executor: Executor | None = None,
        on_commit: Callable[[str, str], None] | None = None,
        translator: Translator | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._translator = translator
        self._metrics = metrics
        self._log = log
        self._writer = writer
        self._store = store
        self._delivery_mode = delivery_mode
        self._executor = executor
        self._on_commit = on_commit
        self._answering: set[str] = set()

    async def commit(self, exchange: VerifiedExchange) -> Committed:
        """Make ``exchange`` durable; :class:`Refusal` ``unavailable`` if the log cannot
        commit (nothing is then written), ``conflict`` if its id holds other bytes,
        ``already_answered`` if it answers a request that has (or is getting) an answer."""
        request_id = exchange.envelope.in_reply_to
        if not request_id:
            return await self._commit(exchange)
        if request_id in self._answering:
            raise Refusal("already_answered", f"exchange {request_id} is being answered")
        self._answering.add(request_id)
        try:
            answer = await self._run(self._store.answer_to, request_id)
            if answer is not None and answer.exchange_id != exchange.exchange_id:
                raise Refusal(
                    "already_answered",
                    f"exchange {request_id} was already answered by {answer.exchange_id}",
                )
            return await self._commit(exchange)
        finally:
            self._answering.discard(request_id)

    async def _commit(self, exchange: VerifiedExchange) -> Committed:
        signed, envelope = exchange.signed, exchange.envelope
        exchange_id = envelope.exchange_id
        # (1): translation, log entry and row
        translation = await self._translate(exchange)
        entry = exchange_entry(
            exchange_id=exchange_id,
            kind=envelope.kind,
            sender=exchange.sender,
            recipient=exchange.recipient,
            matter=exchange.matter,
            envelope_sm3=exchange.envelope_sm3,
            payload_sm3=bytes(envelope.payload_digest),
            signature_sm3=sm3(signed.signature),
            signer_key_id=signed.key_id,
            received_at=datetime.fromtimestamp(exchange.received_at, UTC),
            canonical_sm3=translation.canonical_sm3,
            delivered_sm3=translation.delivered_sm3,
            source_dialect=translation.source_dialect,
            target_dialect=translation.target_dialect,
            relayed=translation.relayed,
            channel=translation.channel,
            in_reply_to=envelope.in_reply_to,
        )
        row = {
            "exchange_id": exchange_id,
            "envelope": bytes(signed.envelope),
            "signature": bytes(signed.signature),
            "key_id": signed.key_id,
            "envelope_sm3": exchange.envelope_sm3,
            "sender": exchange.sender,
            "recipient": exchange.recipient,
            "kind": envelope.kind,
            "matter": exchange.matter,
            "canonical": translation.canonical.decode(),
            "received_at": exchange.received_at,
            "in_reply_to": envelope.in_reply_to,
            "delivered": translation.payload,
            "delivered_dialect": translation.target_dialect or None,
            "delivered_content_type": translation.content_type or None,
            "attestation_statement": translation.statement,
            "attestation_signature": translation.signature,
            "attestation_key_id": translation.key_id or None,
        }
        mode = self._delivery_mode(exchange.recipient)
        staged = Staged(
            row=row,
            nonce=bytes(envelope.nonce),
            entry=entry,
            mode=mode,
            failure=None if translation.error is None else FAILURE_TRANSLATION,
            error=translation.error,
        )
        # (2): the unit of work: rows staged, entry logged, rows finished (or nothing)
        landed = await LoopHandoff.current().wrap(self._writer.commit(staged))
        # (3): a duplicate is the stored exchange
        result = landed.result
        if landed.known or result is None or result.duplicate:
            existing = await self.existing(exchange_id, exchange.envelope_sm3)
            if existing is None:
                raise Refusal("unavailable", f"exchange {exchange_id} is not yet logged")
            return existing
        # (4): the receipt
        if result.proof is not None:
            receipt = build_receipt(
                origin=self._log.origin,
                log_key_id=self._log.public_key.key_id,
                leaf_index=result.index,
                entry=entry,
                proof=result.proof,
                checkpoint=result.checkpoint,
                exchange_id=exchange_id,
            )
        else:
            size = result.tree_size
            receipt = await self._run(self._log.receipt, result.index, size, exchange_id)
        if self._metrics is not None:
            self._metrics.logged(envelope.kind, exchange.relayed)
        if translation.error is not None:  # logged, never delivered: the sender sees why
            if self._metrics is not None:
                self._metrics.delivery(mode, "translation")
            log.warning(
                "exchange %s cannot be expressed in the recipient's dialect %s (field %s):"
                " outbox row rejected",
                exchange_id,
                translation.target_dialect,
                translation.field,
            )
        # (5): delivery
        if self._on_commit is not None:
            self._on_commit(exchange.recipient, exchange_id)
        return Committed(exchange_id, receipt, exchange.received_at, duplicate=False)

    def translate_blocking(
        self, exchange: VerifiedExchange, registry: TrustRegistry
    ) -> Translation | None:
        """The translation of ``exchange``, made in the calling worker thread (None without a
        translator): the core makes it in its verify job and hands it over in
        ``VerifiedExchange.translation``, sparing the commit a hand-off."""
        if self._translator is None:
            return None
        return self._translator.translate_blocking(exchange, registry)

    async def _translate(self, exchange: VerifiedExchange) -> Translation:
        if exchange.translation is not None:
            return exchange.translation
        if self._translator is not None:
            return await self._translator.translate(exchange)
        from gateway.exchange.translation import Translation

        canonical = canonical_json(exchange.canonical)
        return Translation(
            canonical=canonical,
            canonical_sm3=sm3(canonical),
            source_dialect=exchange.source_dialect or exchange.envelope.dialect,
            target_dialect="",
            relayed=exchange.relayed,
            channel=exchange.channel,
        )

    async def existing(self, exchange_id: str, envelope_sm3: bytes) -> Committed | None:
        """The committed exchange ``exchange_id`` with its receipt, None if there is none;
        :class:`Refusal` ``conflict`` if it was committed with other envelope bytes."""
        row = await self._run(self._store.exchange, exchange_id)
        if row is None:  # staged before a crash, or by a racing attempt: finish it first
            await LoopHandoff.current().wrap(self._writer.resume(exchange_id))
            row = await self._run(self._store.exchange, exchange_id)
        if row is None:
            return None
        if row.envelope_sm3 != envelope_sm3:
            raise Refusal(
                "conflict",
                f"exchange id {exchange_id} was already used for different envelope bytes",
            )
        receipt = await self._run(self._log.receipt, row.leaf_index, row.tree_size, exchange_id)
        return Committed(exchange_id, receipt, row.received_at, duplicate=True)

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._executor is None:  # never on the loop: these read the store or the log
            return await asyncio.to_thread(fn, *args)
        return await LoopHandoff.current().run(self._executor, fn, *args)
