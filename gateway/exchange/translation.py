"""Normalised delivery: the recipient gets the payload in its own dialect, with an attestation.

The gateway translates each exchange **once**, in the one commit path, before its log entry
is appended (so the entry records the digests): the canonical form is encoded into the
recipient's registered dialect (``registry.delivery(recipient).dialect``, a codec name such
as ``js-json/1``), and the gateway signs a :class:`TranslationAttestation` statement that
binds the sender's original envelope, the canonical form and the delivered bytes (SM2 with
the attestation key, never the checkpoint key). Pull and push both deliver those stored
bytes; nothing is re-encoded at delivery time.

If the recipient's dialect cannot express the canonical form, the exchange is still logged
(the sender's submission was valid) but :class:`Translation` carries ``error`` and no
bytes: the commit path records its outbox row as ``rejected`` with failure
``translation``, so the sender sees why, and nothing is delivered.

:func:`verify_delivery` is what any recipient (or auditor) runs on a ``Delivery``.

Statement layout (``protos/yrd/v1/exchange.proto``, ``TranslationAttestation``): UTF-8 JSON,
sorted keys, no whitespace (``gateway.encoding.canonical_json``)::

    {"canonical_sm3":"<hex>","channel":"grpc-mtls","delivered_sm3":"<hex>",
     "envelope_sm3":"<hex>","exchange_id":"<uuid>","recipient":"ZJ/<USCC>/<subsystem>",
     "relayed":false,"source_dialect":"js-json/1","target_dialect":"zj-xml/1",
     "type":"translation","v":1}
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gateway.dialects.catalogue import DialectCatalogue
from gateway.dialects.errors import AdapterError, CatalogueError
from gateway.encoding import canonical_json
from gateway.errors import Refusal, clip
from gateway.exchange.answers import verify_attestation_signature, verify_relayed_envelope
from gateway.exchange.core import member_text
from gateway.exchange.store import ExchangeRow
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import RegistryError, TrustRegistry
from gateway.times import from_timestamp
from ledger.crypto import PrivateKey, sm3
from ledger.errors import SignatureError

if TYPE_CHECKING:
    from gateway.exchange.commit import VerifiedExchange

__all__ = [
    "CHANNELS",
    "STATEMENT_TYPE",
    "Translation",
    "Translator",
    "attestation_statement",
    "delivery_message",
    "verify_delivery",
]

STATEMENT_TYPE = "translation"
STATEMENT_VERSION = 1
CHANNELS = ("grpc-mtls", "https-pinned", "http-dev")
"""How an original envelope reached the gateway (the statement's ``channel``)."""


def attestation_statement(
    *,
    exchange_id: str,
    recipient: str,
    envelope_sm3: bytes,
    canonical_sm3: bytes,
    delivered_sm3: bytes,
    source_dialect: str,
    target_dialect: str,
    relayed: bool,
    channel: str,
) -> bytes:
    """The exact statement bytes the gateway signs (layout in the module docstring)."""
    return canonical_json(
        {
            "v": STATEMENT_VERSION,
            "type": STATEMENT_TYPE,
            "exchange_id": exchange_id,
            "recipient": recipient,
            "envelope_sm3": envelope_sm3.hex(),
            "canonical_sm3": canonical_sm3.hex(),
            "delivered_sm3": delivered_sm3.hex(),
            "source_dialect": source_dialect,
            "target_dialect": target_dialect,
            "relayed": relayed,
            "channel": channel,
        }
    )


@dataclass(frozen=True)
class Translation:
    """One exchange translated for its recipient: the canonical bytes and their digest, the
    two dialects, and either the delivered payload with its signed attestation or ``error``
    (why the recipient's dialect cannot carry it, for the sender) and ``field`` (the
    canonical field at fault: what may be logged)."""

    canonical: bytes
    canonical_sm3: bytes
    source_dialect: str
    target_dialect: str
    relayed: bool
    channel: str
    payload: bytes | None = None
    content_type: str = ""
    statement: bytes | None = None
    signature: bytes | None = None
    key_id: str = ""
    error: str | None = None
    field: str | None = None
    delivered_sm3: bytes = b""
    """SM3 of the delivered payload, computed once (for the statement and the log entry);
    empty when translation failed."""


def _digest_of(data: bytes, known: tuple[bytes, bytes] | None = None) -> bytes:
    """SM3 of ``data``, taken from ``known`` = (bytes, their SM3) when ``data`` is those
    bytes: a payload that is already in canonical form, or a delivery in the sender's own
    form, is not hashed a second time."""
    if known is not None and known[0] == data:
        return known[1]
    return sm3(data)


class Translator:
    """Translates verified exchanges into their recipients' dialects and attests it.

    ``dialects`` finds a codec by dialect name, ``registry()`` is the registry in use (the
    recipient's ``delivery.dialect``), ``key`` is the gateway's attestation key; the whole
    translation runs in ``executor`` (the SM2 signature releases the GIL)."""

    def __init__(
        self,
        *,
        dialects: DialectCatalogue,
        registry: Callable[[], TrustRegistry],
        key: PrivateKey,
        executor: Executor | None = None,
    ) -> None:
        self.dialects = dialects
        self.registry = registry
        self.key = key
        self.executor = executor

    async def translate(self, exchange: VerifiedExchange) -> Translation:
        """The delivery of ``exchange`` in its recipient's dialect, signed; a
        :class:`Translation` with ``error`` if the dialect cannot express it.

        Encoding, hashing and signing are one job in ``executor``: none of it runs on the
        event loop, and it costs one hand-off (the signature's), as before."""
        registry = self.registry()
        if self.executor is None:
            return self.translate_blocking(exchange, registry)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, self.translate_blocking, exchange, registry
        )

    def translate_blocking(
        self, exchange: VerifiedExchange, registry: TrustRegistry
    ) -> Translation:
        """:meth:`translate` in the calling (worker) thread, against ``registry``: the core
        runs it inside its verify job, so an exchange takes no hand-off of its own for it;
        raises RegistryLookupError for an unregistered recipient."""
        canonical = canonical_json(exchange.canonical)
        target = registry.delivery(exchange.recipient).dialect
        envelope = exchange.envelope
        base = Translation(
            canonical=canonical,
            canonical_sm3=_digest_of(canonical, (envelope.payload, envelope.payload_digest)),
            source_dialect=exchange.source_dialect or exchange.envelope.dialect,
            target_dialect=target,
            relayed=exchange.relayed,
            channel=exchange.channel,
        )
        try:
            codec = self.dialects.by_dialect(target).codec
            payload = codec.from_canonical(exchange.envelope.kind, exchange.canonical)
        except CatalogueError as exc:
            return replace(base, error=f"no codec: {exc}", field="dialect")
        except AdapterError as exc:
            field = clip(str(exc.field))
            error = f"{target} cannot express field {field}: {exc.message}"
            return replace(base, error=error, field=field)
        delivered_sm3 = _digest_of(payload, (canonical, base.canonical_sm3))
        statement = attestation_statement(
            exchange_id=exchange.exchange_id,
            recipient=exchange.recipient,
            envelope_sm3=exchange.envelope_sm3,
            canonical_sm3=base.canonical_sm3,
            delivered_sm3=delivered_sm3,
            source_dialect=base.source_dialect,
            target_dialect=target,
            relayed=exchange.relayed,
            channel=exchange.channel,
        )
        return replace(
            base,
            payload=payload,
            delivered_sm3=delivered_sm3,
            content_type=codec.content_type,
            statement=statement,
            signature=self.key.sign(statement),
            key_id=self.key.public_key.key_id,
        )


def delivery_message(
    row: ExchangeRow,
    *,
    delivery_id: str = "",
    attempt: int = 0,
    receipt: exchange_pb2.Receipt | None = None,
) -> exchange_pb2.Delivery:
    """The ``Delivery`` of a stored exchange: the original signed envelope, and the payload
    in the recipient's dialect with the gateway's attestation, as stored at commit."""
    delivery = exchange_pb2.Delivery(
        delivery_id=delivery_id,
        envelope=exchange_pb2.SignedEnvelope(
            envelope=row.envelope, signature=row.signature, key_id=row.key_id
        ),
        attempt=attempt,
        payload=row.delivered or b"",
        dialect=row.delivered_dialect or "",
        payload_content_type=row.delivered_content_type or "",
    )
    if receipt is not None:
        delivery.receipt.CopyFrom(receipt)
    if row.attestation_statement is not None:
        delivery.attestation.CopyFrom(
            exchange_pb2.TranslationAttestation(
                statement=row.attestation_statement,
                signature=row.attestation_signature or b"",
                key_id=row.attestation_key_id or "",
            )
        )
    return delivery


def verify_delivery(
    registry: TrustRegistry, delivery: exchange_pb2.Delivery, at: datetime | None = None
) -> dict[str, Any]:
    """Check a ``Delivery`` end to end; return the attestation statement (parsed).

    Steps, each refusing with :class:`Refusal` naming it:

    1. the original envelope: the sender's SM2 signature with its registered key valid at
       the envelope's created_at, or -- for an envelope the gateway relayed as a push
       member's adapter -- a key listed for purpose ``attestation`` (``key_invalid``,
       ``signature_invalid``, ``malformed``);
    2. the attestation: signed by a key listed for purpose ``attestation`` (valid at ``at``
       if given), never a checkpoint key (``key_invalid``, ``signature_invalid``);
    3. the statement binds this delivery: its type, exchange_id, recipient and target
       dialect, ``envelope_sm3`` = SM3(original envelope) and ``delivered_sm3`` =
       SM3(delivery.payload) (``digest_mismatch``, ``malformed``).
    """
    signed = delivery.envelope
    # (1): the original envelope
    if registry.key_owner(signed.key_id) is not None:
        try:
            envelope = exchange_pb2.Envelope.FromString(signed.envelope)
        except Exception as exc:  # protobuf's DecodeError has no stable public home
            raise Refusal("malformed", "original envelope: not a yrd.v1.Envelope") from exc
        sender, created = member_text(envelope.sender), from_timestamp(envelope.created_at)
        try:
            public = registry.signing_key(sender, signed.key_id, created)
        except RegistryError as exc:
            raise Refusal("key_invalid", f"original envelope signing key: {exc}") from exc
        try:
            public.verify(signed.envelope, signed.signature)
        except SignatureError as exc:
            raise Refusal("signature_invalid", f"original envelope signature: {exc}") from exc
    else:
        envelope = verify_relayed_envelope(registry, signed)
    # (2): the attestation signature
    attestation = delivery.attestation
    verify_attestation_signature(
        registry, attestation.key_id, attestation.statement, attestation.signature,
        "attestation", at,
    )  # fmt: skip
    # (3): the statement binds this delivery
    try:
        statement = json.loads(attestation.statement)
    except ValueError as exc:
        raise Refusal("malformed", "attestation statement is not json") from exc
    if not isinstance(statement, dict) or statement.get("type") != STATEMENT_TYPE:
        raise Refusal("malformed", "attestation statement is not a translation statement")
    expected = {
        "exchange_id": envelope.exchange_id,
        "recipient": member_text(envelope.recipient),
        "target_dialect": delivery.dialect,
    }
    for name, value in expected.items():
        if statement.get(name) != value:
            raise Refusal("malformed", f"attestation {name} does not match the delivery")
    if statement.get("envelope_sm3") != sm3(signed.envelope).hex():
        raise Refusal("digest_mismatch", "attestation envelope_sm3 is not sm3 of the envelope")
    if statement.get("delivered_sm3") != sm3(delivery.payload).hex():
        raise Refusal("digest_mismatch", "attestation delivered_sm3 is not sm3 of the payload")
    return statement
