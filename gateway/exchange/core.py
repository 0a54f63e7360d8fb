"""Accepting one signed exchange: every check, then one durable append, then a receipt.

The checks run in this order, each refusing with a named :class:`Refusal` and writing
nothing:

(1) size: envelope and payload within the limit;
(2) parse: the exact envelope bytes decode and carry every required field, each well formed;
(3) caller: the mTLS-authenticated member is the envelope's sender;
(4) key: the signing key is the sender's, registered and valid at created_at;
(5) signature: SM2 over the exact envelope bytes (in a worker thread: it releases the GIL);
(6) digest: SM3(payload) is payload_digest;
(7) idempotency: a known exchange id with the same bytes returns the original receipt,
    with other bytes is a conflict;
(8) freshness: created_at within the window of the gateway's clock;
(9) recipient and permission: both registered, and the registry allows the send;
(10) replay: the (sender, nonce) pair is new;
(11) normalisation: the sender's adapter maps the payload to the canonical model;
(12) commit: :class:`~gateway.exchange.commit.ExchangeCommitter` -- exchange row + nonce +
     outbox row + log entry in one durable transaction; the receipt proves inclusion in the
     batch's signed checkpoint.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial
from typing import Any, Protocol

from google.protobuf.message import DecodeError

from gateway import regions
from gateway.dialects.catalogue import DialectCatalogue
from gateway.dialects.errors import AdapterError, CatalogueError
from gateway.errors import Refusal, clip
from gateway.exchange.commit import Committed, ExchangeCommitter, VerifiedExchange
from gateway.pb.yrd.v1 import common_pb2, exchange_pb2
from gateway.registry import MemberId, RegistryError, TrustRegistry
from gateway.times import TimestampRangeError, check_timestamp, from_timestamp
from ledger.crypto import PublicKey, sm3
from ledger.errors import SignatureError
from ledger.log import MerkleLog

__all__ = [
    "Accepted",
    "ExchangeCore",
    "ExchangeLookup",
    "member_proto",
    "member_text",
    "receipt_json",
]

KIND_RE = re.compile(r"\A[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\Z")
# a matter code (canonical or local) goes into the log entry: no spaces or controls, bounded
MATTER_RE = re.compile(r"\A[^\s\x00-\x1f\x7f-\x9f]{1,128}\Z")
CONTENT_TYPE_RE = re.compile(r"\A[\x20-\x7e]{0,128}\Z")  # a MIME type: printable ascii
ENVELOPE_OVERHEAD = 8 * 1024


class ExchangeLookup(Protocol):
    """The pre-commit lookups of steps (7) and (10) (``GatewayStore``)."""

    def lookup(self, exchange_id: str, sender: str, nonce: bytes) -> tuple[bytes | None, bool]: ...


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
        log: MerkleLog,
        store: ExchangeLookup,
        committer: ExchangeCommitter,
        registry: Callable[[], TrustRegistry],
        adapters: DialectCatalogue,
        executor: Executor | None = None,
        freshness_seconds: float = 300.0,
        max_payload_bytes: int = 1 << 20,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.log = log
        self.store = store
        self.committer = committer
        self.registry = registry
        self.adapters = adapters
        self.executor = executor
        self.freshness = freshness_seconds
        self.max_payload = max_payload_bytes
        self.clock = clock
        self._in_flight: dict[str, asyncio.Future] = {}
        self._nonces_in_flight: set[tuple[str, bytes]] = set()

    async def submit(self, signed: exchange_pb2.SignedEnvelope, caller: str | None) -> Accepted:
        """Run every check and commit; raises :class:`Refusal` naming the failed check."""
        # (1): size
        if len(signed.envelope) > self.max_payload + ENVELOPE_OVERHEAD:
            raise Refusal(
                "too_large",
                f"envelope of {len(signed.envelope)} bytes exceeds the "
                f"limit of {self.max_payload + ENVELOPE_OVERHEAD}",
            )
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
        # (5), (6) and the lookups for (7) and (10) in one worker-thread job: the SM2
        # arithmetic, the hashing and SQLite all release the GIL, and the event loop must
        # not wait for any of them
        nonce_key = (sender, bytes(envelope.nonce))
        envelope_sm3, known_sm3, nonce_used = await self._run(
            self._verify_and_look_up, public, signed, envelope, nonce_key
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
        # (9): recipient and permission
        if registry.get_member(recipient) is None:
            raise Refusal("unknown_recipient", f"recipient {recipient} is not a registered member")
        decision = registry.check_send(sender, recipient, envelope.kind, envelope.matter_ref)
        if not decision.allowed:
            raise Refusal("not_permitted", decision.reason)
        # (10): replay
        if nonce_used or nonce_key in self._nonces_in_flight:
            raise Refusal("replay", f"nonce {envelope.nonce.hex()} was already used by {sender}")
        # (11): normalisation
        canonical = self._normalise(envelope, sender, registry)
        # (12): commit
        future = asyncio.get_running_loop().create_future()
        self._in_flight[envelope.exchange_id] = future
        self._nonces_in_flight.add(nonce_key)
        try:
            accepted = await self.committer.commit(
                VerifiedExchange(signed, envelope, envelope_sm3, sender, recipient, canonical, now)
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
    def _parse(self, raw: bytes) -> exchange_pb2.Envelope:
        envelope = exchange_pb2.Envelope()
        try:
            envelope.ParseFromString(raw)
        except DecodeError as exc:
            raise Refusal("malformed", f"envelope bytes do not decode: {exc}") from exc
        try:
            if str(uuid.UUID(envelope.exchange_id)) != envelope.exchange_id:
                raise ValueError
        except ValueError as exc:
            raise Refusal("malformed", "exchange_id must be a lower-case canonical uuid") from exc
        if not envelope.HasField("sender") or not envelope.HasField("recipient"):
            raise Refusal("malformed", "envelope needs sender and recipient")
        if not KIND_RE.fullmatch(envelope.kind):
            raise Refusal("malformed", f"kind {clip(envelope.kind)} is not '<area>.<verb>'")
        if envelope.matter_ref and not MATTER_RE.fullmatch(envelope.matter_ref):
            raise Refusal(
                "malformed",
                f"matter_ref {clip(envelope.matter_ref)} is not 1-128 characters "
                "without spaces or control characters",
            )
        if not CONTENT_TYPE_RE.fullmatch(envelope.payload_content_type):
            raise Refusal(
                "malformed",
                f"payload_content_type {clip(envelope.payload_content_type)} is not a "
                "mime type of at most 128 printable ascii characters",
            )
        if len(envelope.payload_digest) != 32:
            raise Refusal("malformed", "payload_digest must be 32 bytes of sm3")
        if len(envelope.nonce) != 16:
            raise Refusal("malformed", f"nonce must be 16 bytes, got {len(envelope.nonce)}")
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
    ) -> tuple[bytes, bytes | None, bool]:
        # (5): signature
        try:
            public.verify(signed.envelope, signed.signature)
        except SignatureError as exc:
            raise Refusal("signature_invalid", f"envelope signature: {exc}") from exc
        # (6): payload digest
        if sm3(envelope.payload) != envelope.payload_digest:
            raise Refusal("digest_mismatch", "payload_digest is not the sm3 of payload")
        known_sm3, nonce_used = self.store.lookup(envelope.exchange_id, *nonce_key)
        return sm3(signed.envelope), known_sm3, nonce_used

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.executor is None:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, partial(fn, *args))

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


def receipt_json(receipt: dict[str, Any]) -> str:
    return json.dumps(receipt, ensure_ascii=False, indent=2)
