"""A small client for partner systems: build and sign envelopes, submit, pull, verify receipts.

async with GatewayClient("127.0.0.1:50051", member="JS/...", key=key, tls=tls) as client:
    signed = client.build(recipient="SH/...", kind="case.submit", payload=b"{...}",
                          dialect="js-json/1")
    receipt = await client.submit(signed)        # verified against trust, if given
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

import grpc

from gateway.exchange.core import member_proto
from gateway.exchange.envelopes import signed_envelope
from gateway.pb.yrd.v1 import audit_pb2_grpc, exchange_pb2, exchange_pb2_grpc
from gateway.tls import TlsFiles
from ledger.crypto import PrivateKey
from ledger.receipt import VerifiedReceipt, verify_receipt
from ledger.trust import TrustStore

__all__ = [
    "SERVICE_CONFIG",
    "GatewayClient",
    "PullSession",
]

#: The gRPC service config partners use (docs/grpc-service-config.json, the same JSON): an
#: OVERLOADED refusal (RESOURCE_EXHAUSTED) is retried after the server's pushback delay, at
#: most 5 attempts; the server marks any other RESOURCE_EXHAUSTED (TOO_LARGE) "do not
#: retry". Submit is idempotent on the exchange id, so a retry can never log twice.
SERVICE_CONFIG: dict[str, Any] = {
    "methodConfig": [
        {
            "name": [
                {"service": "yrd.v1.Exchange", "method": "Submit"},
                {"service": "yrd.v1.Identity", "method": "Recognize"},
                {"service": "yrd.v1.Licences", "method": "Verify"},
            ],
            "retryPolicy": {
                "maxAttempts": 5,
                "initialBackoff": "0.1s",
                "maxBackoff": "2s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["RESOURCE_EXHAUSTED"],
            },
        }
    ],
    "retryThrottling": {"maxTokens": 100, "tokenRatio": 0.1},
}


class GatewayClient:
    def __init__(
        self,
        target: str,
        *,
        member: str,
        key: PrivateKey,
        tls: TlsFiles,
        trust: TrustStore | None = None,
        options: list[tuple[str, Any]] | None = None,
    ) -> None:
        """``options``: gRPC channel options; without a ``grpc.service_config`` the
        channel uses :data:`SERVICE_CONFIG` (retries of OVERLOADED refusals)."""
        self.member = member
        self.key = key
        self.trust = trust
        credentials = grpc.ssl_channel_credentials(
            root_certificates=tls.ca, private_key=tls.key, certificate_chain=tls.cert
        )
        options = list(options or [])
        if not any(name == "grpc.service_config" for name, _ in options):
            options.append(("grpc.service_config", json.dumps(SERVICE_CONFIG)))
        self.channel = grpc.aio.secure_channel(target, credentials, options=options)
        self.exchange = exchange_pb2_grpc.ExchangeStub(self.channel)
        self.audit = audit_pb2_grpc.AuditStub(self.channel)

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.channel.close()

    def build(
        self,
        *,
        recipient: str,
        kind: str,
        payload: bytes,
        matter: str = "",
        dialect: str = "",
        content_type: str = "application/json",
        exchange_id: str | None = None,
        created_at: datetime | None = None,
        nonce: bytes | None = None,
        sender: str | None = None,
        in_reply_to: str = "",
    ) -> exchange_pb2.SignedEnvelope:
        """A signed envelope: serialised once, and those exact bytes signed with SM2;
        ``in_reply_to`` makes it the answer to that exchange."""
        return signed_envelope(
            key=self.key,
            sender=sender or self.member,
            recipient=recipient,
            kind=kind,
            matter=matter,
            payload=payload,
            dialect=dialect,
            content_type=content_type,
            exchange_id=exchange_id,
            created_at=created_at,
            nonce=nonce,
            in_reply_to=in_reply_to,
        )

    def verify(self, receipt: exchange_pb2.Receipt) -> VerifiedReceipt:
        """Check a receipt offline against the trusted log key (raises ReceiptError)."""
        if self.trust is None:
            raise ValueError("no trust store given to verify receipts with")
        return verify_receipt(json.loads(receipt.receipt_json), self.trust)

    async def submit(
        self,
        signed: exchange_pb2.SignedEnvelope,
        # The gRPC deadline, sent to the server (which stops work past it): not replaceable
        # by a client-side asyncio.timeout, and part of the partner API.
        timeout: float = 30,  # noqa: ASYNC109
    ) -> exchange_pb2.Receipt:
        receipt = await self.exchange.Submit(signed, timeout=timeout)
        if self.trust is not None:
            self.verify(receipt)
        return receipt

    async def submit_many(
        self, envelopes: Iterable[exchange_pb2.SignedEnvelope]
    ) -> list[exchange_pb2.SubmitResult]:
        call = self.exchange.SubmitStream(iter(envelopes))
        return [result async for result in call]

    def pull(self, max_in_flight: int = 16) -> PullSession:
        """A pull stream: ``async with client.pull() as deliveries: async for d in deliveries:
        ... await deliveries.ack(d)``. Leaving the block closes the stream gracefully, so
        acks already sent are processed; unacked deliveries come again next time."""
        return PullSession(self, max_in_flight)


class PullSession:
    def __init__(self, client: GatewayClient, max_in_flight: int) -> None:
        self._client = client
        self._max_in_flight = max_in_flight
        self._outgoing: asyncio.Queue = asyncio.Queue()
        self._call: Any = None

    async def __aenter__(self) -> PullSession:
        await self._outgoing.put(
            exchange_pb2.PullMessage(
                request=exchange_pb2.PullRequest(
                    member=member_proto(self._client.member), max_in_flight=self._max_in_flight
                )
            )
        )

        async def requests():
            while True:
                message = await self._outgoing.get()
                if message is None:
                    return
                yield message

        self._call = self._client.exchange.Pull(requests())
        return self

    def __aiter__(self) -> AsyncIterator[exchange_pb2.Delivery]:
        return self._call.__aiter__()

    async def ack(
        self,
        delivery: exchange_pb2.Delivery,
        outcome: exchange_pb2.AckOutcome = exchange_pb2.ACK_OUTCOME_ACCEPTED,
        reason: str = "",
    ) -> None:
        await self._outgoing.put(
            exchange_pb2.PullMessage(
                ack=exchange_pb2.Ack(
                    delivery_id=delivery.delivery_id, outcome=outcome, reason=reason
                )
            )
        )

    async def __aexit__(self, *exc: object) -> None:
        await self._outgoing.put(None)  # half-close: the server finishes reading our acks
        try:
            async with asyncio.timeout(5):
                async for _ in self._call:
                    pass  # deliveries after we stopped stay unacked: redelivered later
        except (TimeoutError, grpc.aio.AioRpcError):
            self._call.cancel()
