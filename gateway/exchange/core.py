"""Accepting one signed exchange: every check, then one durable append, then a receipt.

The checks run in this order, each refusing with a named :class:`Refusal` and writing
nothing:

(1) size: envelope and payload within the limit, signature and key id within theirs;
(2) parse: the exact envelope bytes decode and carry every required field, each well formed
    and within its limit (``gateway.exchange.limits``);
(3) caller: the mTLS-authenticated member is the envelope's sender;
(4) key: the signing key is the sender's, registered and valid at created_at;
(5) signature: SM2 over the exact envelope bytes (in a worker thread: it releases the GIL);
(6) digest: SM3(payload) is payload_digest;
(7) idempotency: a known exchange id with the same bytes returns the original receipt,
    with other bytes is a conflict;
(8) freshness: created_at within the window of the gateway's clock;
(9) matter, recipient and permission: matter_ref resolves to a canonical matter code
    (``gateway.exchange.matter_ref``); the recipient is registered, and the registry allows
    the send for that canonical code;
(10) answer: if ``in_reply_to`` is set it is a canonical uuid (``malformed``) naming a logged
     exchange (``unknown_request``) that is a request, sent by this answer's recipient to its
     sender, whose kind expects this answer's kind (``answer_mismatch``,
     ``gateway.dialects.base.RESPONSE_KIND``), and that has no answer yet
     (``already_answered``; the committer re-checks under a reservation, so two concurrent
     answers cannot both be written). Optional for every kind: ``case.status`` is both a
     request and an answer;
(11) replay: the (sender, nonce) pair is new;
(12) normalisation: the sender's adapter maps the payload to the canonical model, and a
     payload that names its matter names the resolved one;
(13) commit: :class:`~gateway.exchange.commit.ExchangeCommitter` -- exchange row + nonce +
     outbox row + log entry in one durable transaction (both hold the canonical matter
     code, never the raw matter_ref); the receipt proves inclusion in the batch's signed
     checkpoint.

(5), (6), the lookups of (7) and (11) and the normalisation of (12) are one worker-thread
job (one hand-off per exchange, nothing of it on the event loop); a normalisation refusal
made there is raised at (12), so the order above holds.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Protocol

from google.protobuf.message import DecodeError

from gateway import regions
from gateway.dialects.base import RESPONSE_KIND
from gateway.dialects.catalogue import DialectCatalogue
from gateway.dialects.errors import AdapterError, CatalogueError
from gateway.errors import Refusal, clip
from gateway.exchange.commit import Committed, ExchangeCommitter, VerifiedExchange
from gateway.exchange.handoff import LoopHandoff
from gateway.exchange.limits import ENVELOPE_OVERHEAD, check_envelope_fields, check_signed_fields
from gateway.exchange.logview import GatewayLog
from gateway.exchange.matter_ref import check_payload_matter, resolve_matter_ref
from gateway.matters import Catalogue
from gateway.ops.metrics import Metrics
from gateway.pb.yrd.v1 import common_pb2, exchange_pb2
from gateway.registry import MemberId, RegistryError, RegistryLookupError, TrustRegistry
from gateway.times import TimestampRangeError, check_timestamp, from_timestamp
from ledger.crypto import PublicKey, sm3
from ledger.errors import SignatureError

if TYPE_CHECKING:
    from gateway.exchange.translation import Translation

__all__ = [
    "Accepted",
    "ExchangeCore",
    "ExchangeLookup",
    "member_proto",
    "member_text",
    "receipt_json",
]


class ExchangeLookup(Protocol):
    """The pre-commit lookups of steps (7), (10) and (11) (``GatewayStore``)."""

    def lookup(self, exchange_id: str, sender: str, nonce: bytes) -> tuple[bytes | None, bool]: ...

    def request_of(self, request_id: str) -> tuple[str, str, str, str, str | None] | None: ...


Accepted = Committed
"""What a successful submission returns: the receipt, as JSON and as fields."""


def member_text(member: common_pb2.MemberId) -> str:
    region = regions.from_pb(member.region)
    if region is None:
        raise Refusal("malformed", "member region must be SH, JS, ZJ or AH")
    try:
        return str(MemberId(region, member.org_code, member.subsystem))
    except (ValueError, RegistryError) as exc:
        raise Refusal("malformed", f"member id: {exc}") from exc


def member_proto(text: str) -> common_pb2.MemberId:
    member = MemberId.parse(text)
    region = regions.to_pb(member.region)
    return common_pb2.MemberId(region=region, org_code=member.org_code, subsystem=member.subsystem)


class ExchangeCore:
    """The exchange pipeline, independent of gRPC (the servicer only translates)."""

    def __init__(
        self,
        *,
        log: GatewayLog,
        store: ExchangeLookup,
        committer: ExchangeCommitter,
        registry: Callable[[], TrustRegistry],
        adapters: DialectCatalogue,
        catalogue: Catalogue,
        executor: Executor | None = None,
        freshness_seconds: float = 300.0,
        max_payload_bytes: int = 1 << 20,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self.log = log
        self.metrics = metrics
        self.store = store
        self.committer = committer
        self.registry = registry
        self.adapters = adapters
        self.catalogue = catalogue
        self.executor = executor
        self.freshness = freshness_seconds
        self.max_payload = max_payload_bytes
        self.clock = clock
        self._in_flight: dict[str, asyncio.Future] = {}
        self._nonces_in_flight: set[tuple[str, bytes]] = set()

    async def submit(self, signed: exchange_pb2.SignedEnvelope, caller: str | None) -> Accepted:
        """Run every check and commit; raises :class:`Refusal` naming the failed check.

        Every submission is counted here, whatever its entry (gRPC, the case service), in
        ``yrd_exchanges_total{kind, outcome}`` and ``yrd_refusals_total{reason}``."""
        started = time.perf_counter()
        try:
            accepted = await self._submit(signed, caller)
        except Refusal as refusal:
            if self.metrics is not None:
                self.metrics.refused(refusal.reason, _kind_of(signed))
            raise
        if self.metrics is not None:
            self.metrics.accepted(
                time.perf_counter() - started, accepted.duplicate, _kind_of(signed)
            )
        return accepted

    async def _submit(self, signed: exchange_pb2.SignedEnvelope, caller: str | None) -> Accepted:
        # (1): size
        if len(signed.envelope) > self.max_payload + ENVELOPE_OVERHEAD:
            raise Refusal(
                "too_large",
                f"envelope of {len(signed.envelope)} bytes exceeds the "
                f"limit of {self.max_payload + ENVELOPE_OVERHEAD}",
            )
        check_signed_fields(signed)
        # (2): parse
        envelope = self._parse(signed.envelope)
        if len(envelope.payload) > self.max_payload:
            raise Refusal(
                "too_large",
                f"payload of {len(envelope.payload)} bytes exceeds the limit of {self.max_payload}",
            )
        sender = member_text(envelope.sender)
        recipient = member_text(envelope.recipient)
        # (3): caller binding
        if caller is None:
            raise Refusal("unauthenticated", "no client certificate bound to a member")
        if caller != sender:
            raise Refusal(
                "sender_mismatch",
                f"client certificate is bound to {caller}, envelope sender is {sender}",
            )
        registry = self.registry()
        created = from_timestamp(envelope.created_at)
        # (4): key
        try:
            public = registry.signing_key(sender, signed.key_id, created)
        except RegistryError as exc:
            raise Refusal("key_invalid", f"signing key: {exc}") from exc
        # (5), (6), the lookups for (7) and (11) and the normalisation of (12) in one
        # worker-thread job: the SM2 arithmetic, the hashing and SQLite release the GIL, and
        # the event loop must wait for none of them (nor for the codec); a normalisation
        # refusal is kept and raised at (12), so the checks still refuse in their order
        nonce_key = (sender, bytes(envelope.nonce))
        envelope_sm3, known_sm3, nonce_used, normalised, translation = await self._run(
            self._verify_and_look_up, public, signed, envelope, nonce_key, recipient, registry
        )
        # (7): idempotency
        if known_sm3 is not None:
            existing = await self.committer.existing(envelope.exchange_id, envelope_sm3)
            if existing is not None:
                return existing
        in_flight = self._in_flight.get(envelope.exchange_id)
        if in_flight is not None:
            await asyncio.shield(in_flight)
            existing = await self.committer.existing(envelope.exchange_id, envelope_sm3)
            if existing is not None:
                return existing
        # (8): freshness
        now = self.clock()
        skew = now - created.timestamp()
        if abs(skew) > self.freshness:
            raise Refusal(
                "stale",
                f"created_at is {skew:+.0f}s from the gateway clock; the "
                f"window is {self.freshness:.0f}s",
            )
        # (9): matter, recipient and permission
        matter = resolve_matter_ref(
            self.catalogue, envelope.kind, envelope.matter_ref, sender.split("/", 1)[0]
        )
        if registry.get_member(recipient) is None:
            raise Refusal("unknown_recipient", f"recipient {recipient} is not a registered member")
        decision = registry.check_send(sender, recipient, envelope.kind, matter)
        if not decision.allowed:
            raise Refusal("not_permitted", decision.reason)
        # (10): answer
        if envelope.in_reply_to:
            await self._check_answer(envelope, sender, recipient)
        # (11): replay
        if nonce_used or nonce_key in self._nonces_in_flight:
            raise Refusal("replay", f"nonce {envelope.nonce.hex()} was already used by {sender}")
        # (12): normalisation (made in the worker job above)
        if isinstance(normalised, Refusal):
            raise normalised
        canonical = normalised
        check_payload_matter(envelope.kind, canonical, matter)
        # (13): commit
        future = asyncio.get_running_loop().create_future()
        self._in_flight[envelope.exchange_id] = future
        self._nonces_in_flight.add(nonce_key)
        try:
            accepted = await self.committer.commit(
                VerifiedExchange(
                    signed,
                    envelope,
                    envelope_sm3,
                    sender,
                    recipient,
                    canonical,
                    now,
                    matter,
                    translation=translation,
                )
            )
            future.set_result(None)
            return accepted
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved
            raise
        finally:
            self._in_flight.pop(envelope.exchange_id, None)
            self._nonces_in_flight.discard(nonce_key)

    # -- steps --------------------------------------------------------------------------
    async def _check_answer(
        self, envelope: exchange_pb2.Envelope, sender: str, recipient: str
    ) -> None:
        request_id = envelope.in_reply_to
        try:
            if str(uuid.UUID(request_id)) != request_id:
                raise ValueError
        except ValueError as exc:
            raise Refusal(
                "malformed", f"in_reply_to {clip(request_id)} is not a lower-case canonical uuid"
            ) from exc
        request = await self._run(self.store.request_of, request_id)
        if request is None:
            raise Refusal("unknown_request", f"in_reply_to names no logged exchange {request_id}")
        asker, asked, kind, its_request, answered_by = request
        if its_request:
            raise Refusal(
                "answer_mismatch", f"exchange {request_id} is itself an answer: it has no answer"
            )
        if (sender, recipient) != (asked, asker):
            raise Refusal(
                "answer_mismatch",
                f"an answer to {request_id} goes from {asked} to {asker}, "
                f"not from {sender} to {recipient}",
            )
        expected = RESPONSE_KIND.get(kind)
        if expected != envelope.kind:
            raise Refusal(
                "answer_mismatch",
                f"a {kind} is answered by "
                f"{'nothing' if expected is None else repr(expected)}, not {envelope.kind!r}",
            )
        if answered_by is not None:
            raise Refusal(
                "already_answered", f"exchange {request_id} was already answered by {answered_by}"
            )

    def _parse(self, raw: bytes) -> exchange_pb2.Envelope:
        envelope = exchange_pb2.Envelope()
        try:
            envelope.ParseFromString(raw)
        except DecodeError as exc:
            raise Refusal("malformed", f"envelope bytes do not decode: {exc}") from exc
        check_envelope_fields(envelope)
        if not envelope.HasField("created_at"):
            raise Refusal("malformed", "envelope needs created_at")
        try:
            check_timestamp(envelope.created_at)
        except TimestampRangeError as exc:
            raise Refusal(
                "malformed",
                f"created_at ({exc.seconds}s, {exc.nanos}ns) is outside the protobuf "
                "Timestamp range",
            ) from None
        return envelope

    def _verify_and_look_up(
        self,
        public: PublicKey,
        signed: exchange_pb2.SignedEnvelope,
        envelope: exchange_pb2.Envelope,
        nonce_key: tuple[str, bytes],
        recipient: str,
        registry: TrustRegistry,
    ) -> tuple[bytes, bytes | None, bool, dict[str, Any] | Refusal, Translation | None]:
        # (5): signature
        try:
            public.verify(signed.envelope, signed.signature)
        except SignatureError as exc:
            raise Refusal("signature_invalid", f"envelope signature: {exc}") from exc
        # (6): payload digest
        if sm3(envelope.payload) != envelope.payload_digest:
            raise Refusal("digest_mismatch", "payload_digest is not the sm3 of payload")
        known_sm3, nonce_used = self.store.lookup(envelope.exchange_id, *nonce_key)
        # (12), made here and raised in order by the caller
        envelope_sm3 = sm3(signed.envelope)
        normalised: dict[str, Any] | Refusal
        try:
            normalised = self._normalise(envelope, nonce_key[0], registry)
        except Refusal as refusal:
            return envelope_sm3, known_sm3, nonce_used, refusal, None
        # (13)'s translation and attestation, made here too (unused if a check refuses);
        # an unregistered recipient is refused at (9), and the committer never sees it
        provisional = VerifiedExchange(
            signed, envelope, envelope_sm3, nonce_key[0], recipient, normalised, 0.0, ""
        )
        try:
            translation = self.committer.translate_blocking(provisional, registry)
        except RegistryLookupError:
            translation = None
        return envelope_sm3, known_sm3, nonce_used, normalised, translation

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.executor is None:  # never on the loop: the job reads the store
            return await asyncio.to_thread(fn, *args)
        return await LoopHandoff.current().run(self.executor, fn, *args)

    def _normalise(
        self, envelope: exchange_pb2.Envelope, sender: str, registry: TrustRegistry
    ) -> dict[str, Any]:
        # the sender's registered dialect (one spelling: the codec's name, e.g. js-json/1)
        expected = registry.delivery(sender).dialect
        if envelope.dialect != expected:
            raise Refusal(
                "normalisation_failed",
                f"dialect {clip(envelope.dialect)} is not the "
                f"sender's registered dialect {expected!r}",
            )
        try:
            adapter = self.adapters.by_dialect(expected).codec
        except CatalogueError as exc:
            raise Refusal("normalisation_failed", f"no codec for dialect {expected!r}") from exc
        try:
            return adapter.to_canonical(envelope.kind, envelope.payload)
        except AdapterError as exc:
            raise Refusal(
                "normalisation_failed", f"payload field {exc.field}: {exc}", field=str(exc.field)
            ) from exc


def _kind_of(signed: exchange_pb2.SignedEnvelope) -> str:
    """The envelope's kind for the metrics, "" when the bytes do not decode."""
    try:
        return exchange_pb2.Envelope.FromString(signed.envelope).kind
    except DecodeError:
        return ""


def receipt_json(receipt: dict[str, Any]) -> str:
    return json.dumps(receipt, ensure_ascii=False, indent=2)
