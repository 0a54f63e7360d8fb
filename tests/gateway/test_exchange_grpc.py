"""The exchange service end to end over mTLS on loopback: happy path and every refusal."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from gateway.pb.yrd.v1 import audit_pb2, errors_pb2, exchange_pb2
from gateway.rpc.status import reason_of
from ledger.receipt import verify_receipt
from tests.adversarial.probes import gateway_rows, log_rows
from tests.envelopes import status_update
from tests.gateway.harness import GatewayThread

DELIVERY_DEADLINE = 30.0  # s: a delivery stream that never yields fails, never hangs

STATUS = {
    "case_id": "SJ-2026-0001",
    "status": "accepted",
    "time": "2026-11-28T10:00:00+08:00",
    "note": None,
}
PAYLOAD = json.dumps(STATUS).encode()


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(tmp_path_factory.mktemp("gw"), max_payload_bytes=64 * 1024).start()
    yield thread
    thread.stop()


def _db_counts(gw) -> tuple[int, int]:
    return log_rows(gw), gateway_rows(gw, "exchanges")


async def _refused(gw, signed, client, code, reason, needle):
    before = _db_counts(gw)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await client.exchange.Submit(signed)
    assert info.value.code() == code, info.value.details()
    assert reason_of(info.value) == reason
    assert needle in info.value.details()
    assert _db_counts(gw) == before, "a refusal must write nothing"


async def test_happy_path_receipt_verifies(gw):
    async with gw.client("SH") as client:
        signed = status_update(client, gw.env, payload=PAYLOAD)
        receipt = await client.submit(signed)
    verified = verify_receipt(json.loads(receipt.receipt_json), gw.trust)
    entry = json.loads(verified.entry)
    assert entry["sender"] == gw.env.member_id("SH")
    assert entry["recipient"] == gw.env.member_id("ZJ")
    assert "SJ-2026-0001" not in receipt.receipt_json  # the log holds digests, not payloads


async def test_idempotent_retry_returns_same_receipt(gw):
    async with gw.client("SH") as client:
        signed = status_update(client, gw.env, "JS", payload=PAYLOAD)
        first = await client.submit(signed)
        again = await client.submit(signed)
        assert again.receipt_json == first.receipt_json
        # same id, different bytes: conflict
        envelope = exchange_pb2.Envelope.FromString(signed.envelope)
        other = status_update(
            client, gw.env, "JS", payload=PAYLOAD, exchange_id=envelope.exchange_id
        )
        await _refused(
            gw,
            other,
            client,
            grpc.StatusCode.ALREADY_EXISTS,
            "conflict",
            "different envelope bytes",
        )


async def test_forged_signature(gw):
    async with gw.client("SH") as client:
        signed = status_update(client, gw.env, payload=PAYLOAD)
        forged = exchange_pb2.SignedEnvelope(
            envelope=signed.envelope,
            signature=client.key.sign(b"something else"),
            key_id=signed.key_id,
        )
        await _refused(
            gw,
            forged,
            client,
            grpc.StatusCode.UNAUTHENTICATED,
            "signature_invalid",
            "envelope signature",
        )


async def test_key_of_another_member(gw):
    async with gw.client("SH", key_region="JS") as client:
        signed = status_update(client, gw.env, payload=PAYLOAD)
        await _refused(
            gw, signed, client, grpc.StatusCode.UNAUTHENTICATED, "key_invalid", "belongs to"
        )


async def test_key_expired_at_created_at(gw):
    async with gw.client("SH") as client:
        old = datetime.now(UTC) - timedelta(days=400)  # before the dev keys' not_before
        signed = status_update(client, gw.env, payload=PAYLOAD, created_at=old)
        await _refused(
            gw, signed, client, grpc.StatusCode.UNAUTHENTICATED, "key_invalid", "signing key"
        )


async def test_replayed_nonce(gw):
    async with gw.client("SH") as client:
        nonce = b"\x07" * 16
        first = status_update(client, gw.env, payload=PAYLOAD, nonce=nonce)
        await client.submit(first)
        replay = status_update(client, gw.env, payload=PAYLOAD, nonce=nonce)
        await _refused(gw, replay, client, grpc.StatusCode.ALREADY_EXISTS, "replay", "nonce")


async def test_stale_timestamp(gw):
    async with gw.client("SH") as client:
        stale = datetime.now(UTC) - timedelta(minutes=30)
        signed = status_update(client, gw.env, payload=PAYLOAD, created_at=stale)
        await _refused(gw, signed, client, grpc.StatusCode.INVALID_ARGUMENT, "stale", "window")


async def test_unknown_recipient(gw):
    async with gw.client("SH") as client:
        signed = client.build(
            recipient="ZJ/91350100M000100Y43/nobody",
            kind="case.status",
            payload=PAYLOAD,
            dialect="yrd-canonical/1",
        )
        await _refused(
            gw,
            signed,
            client,
            grpc.StatusCode.NOT_FOUND,
            "unknown_recipient",
            "not a registered member",
        )


async def test_kind_not_permitted(gw):
    async with gw.client("SH") as client:
        signed = client.build(
            recipient=gw.env.member_id("ZJ"),
            kind="payment.transfer",
            payload=PAYLOAD,
            dialect="yrd-canonical/1",
        )
        await _refused(
            gw,
            signed,
            client,
            grpc.StatusCode.PERMISSION_DENIED,
            "not_permitted",
            "no send permission",
        )


async def test_oversized_payload(gw):
    async with gw.client("SH") as client:
        signed = status_update(client, gw.env, payload=b"x" * (64 * 1024 + 1))
        await _refused(
            gw, signed, client, grpc.StatusCode.RESOURCE_EXHAUSTED, "too_large", "exceeds the limit"
        )


async def test_certificate_of_a_claiming_b(gw):
    async with gw.client("JS", as_region="SH", key_region="SH") as client:
        signed = status_update(client, gw.env, payload=PAYLOAD)
        await _refused(
            gw,
            signed,
            client,
            grpc.StatusCode.PERMISSION_DENIED,
            "sender_mismatch",
            "client certificate is bound to",
        )


async def test_malformed_envelope(gw):
    async with gw.client("SH") as client:
        junk = b"\xff\xff\xff not a protobuf"
        signed = exchange_pb2.SignedEnvelope(
            envelope=junk, signature=client.key.sign(junk), key_id=client.key.public_key.key_id
        )
        await _refused(
            gw, signed, client, grpc.StatusCode.INVALID_ARGUMENT, "malformed", "do not decode"
        )
        bad_id = status_update(client, gw.env, payload=PAYLOAD, exchange_id="42")
        await _refused(gw, bad_id, client, grpc.StatusCode.INVALID_ARGUMENT, "malformed", "uuid")


async def test_payload_refused_by_adapter(gw):
    async with gw.client("SH") as client:
        signed = status_update(client, gw.env, payload=b'{"case_id": 5}')
        await _refused(
            gw,
            signed,
            client,
            grpc.StatusCode.INVALID_ARGUMENT,
            "normalisation_failed",
            "payload field",
        )


async def test_normalisation_refuses_after_the_earlier_checks(gw):
    """Normalisation runs in the verify job, before freshness and replay, yet its refusal
    comes only in its place: a payload the adapter refuses that is also stale, or reuses a
    nonce, is refused for that."""
    bad = b'{"case_id": 5}'
    async with gw.client("SH") as client:
        stale = datetime.now(UTC) - timedelta(minutes=30)
        signed = status_update(client, gw.env, payload=bad, created_at=stale)
        await _refused(gw, signed, client, grpc.StatusCode.INVALID_ARGUMENT, "stale", "window")
        nonce = uuid.uuid4().bytes
        await client.submit(status_update(client, gw.env, payload=PAYLOAD, nonce=nonce))
        replay = status_update(client, gw.env, payload=bad, nonce=nonce)
        await _refused(gw, replay, client, grpc.StatusCode.ALREADY_EXISTS, "replay", "nonce")


async def test_submit_stream_mixed(gw):
    async with gw.client("SH") as client:
        good = [status_update(client, gw.env, "AH", payload=PAYLOAD) for _ in range(5)]
        bad = client.build(
            recipient=gw.env.member_id("AH"),
            kind="payment.transfer",
            payload=PAYLOAD,
            dialect="yrd-canonical/1",
        )
        results = await client.submit_many([*good[:2], bad, *good[2:]])
    assert [r.sequence for r in results] == list(range(6))
    assert results[2].WhichOneof("outcome") == "error"
    assert results[2].error.reason == "NOT_PERMITTED"
    assert results[2].error.reason_code == errors_pb2.NOT_PERMITTED
    for result in results[:2] + results[3:]:
        verify_receipt(json.loads(result.receipt.receipt_json), gw.trust)


async def test_pull_and_ack_then_nothing_redelivered(gw):
    async with gw.client("SH") as sender:
        sent = status_update(sender, gw.env, "AH", payload=PAYLOAD)
        await sender.submit(sent)
    wanted = exchange_pb2.Envelope.FromString(sent.envelope).exchange_id
    seen = set()
    async with (
        asyncio.timeout(DELIVERY_DEADLINE),
        gw.client("AH") as recipient,
        recipient.pull(max_in_flight=64) as deliveries,
    ):
        async for delivery in deliveries:
            envelope = exchange_pb2.Envelope.FromString(delivery.envelope.envelope)
            verify_receipt(json.loads(delivery.receipt.receipt_json), gw.trust)
            seen.add(envelope.exchange_id)
            await deliveries.ack(delivery)
            if wanted in seen:
                break
    # reopen: everything acked is gone, nothing else for AH is pending
    row = gw.gateway.store.outbox_row(wanted)
    assert row[0] == "delivered"


async def test_unacked_delivery_is_redelivered(gw):
    async with gw.client("SH") as sender:
        sent = status_update(sender, gw.env, "JS", payload=PAYLOAD)
        await sender.submit(sent)
    wanted = exchange_pb2.Envelope.FromString(sent.envelope).exchange_id
    attempts = []
    for _ in range(2):
        async with (
            asyncio.timeout(DELIVERY_DEADLINE),
            gw.client("JS") as recipient,
            recipient.pull(max_in_flight=64) as deliveries,
        ):
            async for delivery in deliveries:
                envelope = exchange_pb2.Envelope.FromString(delivery.envelope.envelope)
                if envelope.exchange_id == wanted:
                    attempts.append(delivery.attempt)
                    break
                await deliveries.ack(delivery)
    assert len(attempts) == 2  # the first stream ended without acking: delivered again


async def test_audit_service(gw):
    async with gw.client("SH") as client:
        signed = status_update(client, gw.env, payload=PAYLOAD)
        receipt = await client.submit(signed)
        checkpoint = await client.audit.GetCheckpoint(audit_pb2.GetCheckpointRequest())
        assert checkpoint.tree_size >= receipt.tree_size
        proof = await client.audit.GetConsistencyProof(
            audit_pb2.GetConsistencyProofRequest(
                old_size=receipt.tree_size, new_size=checkpoint.tree_size
            )
        )
        from ledger import merkle

        old_root = json.loads(receipt.receipt_json)["checkpoint"].split("\n")[2]
        import base64

        merkle.verify_consistency(
            receipt.tree_size,
            checkpoint.tree_size,
            list(proof.hashes),
            base64.b64decode(old_root),
            checkpoint.root,
        )
        exchange_id = exchange_pb2.Envelope.FromString(signed.envelope).exchange_id
        inclusion = await client.audit.GetInclusionProof(
            audit_pb2.GetInclusionProofRequest(exchange_id=exchange_id)
        )
        assert inclusion.leaf_index == receipt.leaf_index
        again = await client.exchange.GetReceipt(
            exchange_pb2.GetReceiptRequest(exchange_id=exchange_id)
        )
        assert again.leaf_index == receipt.leaf_index
    async with gw.client("AH") as outsider:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await outsider.exchange.GetReceipt(
                exchange_pb2.GetReceiptRequest(exchange_id=exchange_id)
            )
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await outsider.exchange.GetReceipt(
                exchange_pb2.GetReceiptRequest(exchange_id=str(uuid.uuid4()))
            )
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
