"""Pull as documented in protos/yrd/v1/exchange.proto, against a real gateway on loopback:
at most once per stream until nacked or the stream ends, ``attempt`` counts deliveries,
an ack for an unknown delivery id ends the stream with INVALID_ARGUMENT."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import grpc
import pytest

from gateway.pb.yrd.v1 import exchange_pb2
from gateway.rpc.status import reason_of
from tests.envelopes import status_update
from tests.gateway.harness import GatewayThread

DEADLINE = 120.0  # s: every stream and wait below ends by then, or the test fails
EXCHANGES = 1000
STREAMS = 8
IN_FLIGHT = 16


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(tmp_path_factory.mktemp("gw")).start()
    yield thread
    thread.stop()


def _exchange_id(delivery: exchange_pb2.Delivery) -> str:
    return exchange_pb2.Envelope.FromString(delivery.envelope.envelope).exchange_id


def _pending(gw, ids: set[str]) -> set[str]:
    return {i for i in ids if gw.gateway.store.outbox_row(i)[0] != "delivered"}


async def _submit(gw, to: str, count: int) -> list[str]:
    """``count`` accepted exchanges from SH to region ``to``; their ids."""
    ids: list[str] = []
    async with gw.client("SH") as sender:
        for start in range(0, count, 100):
            batch = [status_update(sender, gw.env, to) for _ in range(min(100, count - start))]
            results = await sender.submit_many(batch)
            assert all(r.WhichOneof("outcome") == "receipt" for r in results), results
            ids += [r.exchange_id for r in results]
    return ids


async def test_no_duplicate_within_a_stream_with_concurrent_streams(gw):
    wanted = set(await _submit(gw, "AH", EXCHANGES))
    acked: set[str] = set()
    per_stream: list[Counter[str]] = [Counter() for _ in range(STREAMS)]
    everything = asyncio.Event()

    async def stream(seen: Counter[str]) -> None:
        async with (
            asyncio.timeout(DEADLINE),
            gw.client("AH") as recipient,
            recipient.pull(max_in_flight=IN_FLIGHT) as deliveries,
        ):
            async for delivery in deliveries:
                exchange_id = _exchange_id(delivery)
                seen[exchange_id] += 1
                await deliveries.ack(delivery)
                acked.add(exchange_id)
                if wanted <= acked:
                    everything.set()

    tasks = [asyncio.ensure_future(stream(seen)) for seen in per_stream]
    try:
        async with asyncio.timeout(DEADLINE):
            await everything.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    duplicates = {exchange_id: n for seen in per_stream for exchange_id, n in seen.items() if n > 1}
    assert not duplicates, f"delivered twice on one stream: {len(duplicates)}"
    assert sum(1 for seen in per_stream if seen) > 1, "the streams did not share the work"
    assert sum(sum(seen.values()) for seen in per_stream) >= EXCHANGES
    # Cancelling a stream may lose acks it had queued: those come again, to a new stream,
    # once the server has stored the acks it did read (the pending set stops shrinking).
    remaining = _pending(gw, wanted)
    deadline = time.monotonic() + DEADLINE
    while True:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.5)
        now_pending = _pending(gw, wanted)
        if now_pending == remaining:
            break
        remaining = now_pending
    if remaining:
        async with (
            asyncio.timeout(DEADLINE),
            gw.client("AH") as recipient,
            recipient.pull(max_in_flight=IN_FLIGHT) as deliveries,
        ):
            async for delivery in deliveries:
                await deliveries.ack(delivery)
                remaining.discard(_exchange_id(delivery))
                if not remaining:
                    break  # a graceful close: the server settles the acks sent
    statuses = Counter(gw.gateway.store.outbox_row(i)[0] for i in wanted)
    assert statuses == {"delivered": EXCHANGES}


async def test_redelivery_after_a_dropped_stream_is_attempt_2(gw):
    (wanted,) = await _submit(gw, "JS", 1)
    attempts = []
    async with asyncio.timeout(DEADLINE):
        for _ in range(2):
            async with gw.client("JS") as recipient, recipient.pull() as deliveries:
                async for delivery in deliveries:
                    if _exchange_id(delivery) == wanted:
                        attempts.append(delivery.attempt)
                        break  # the stream ends with it unacked
                    await deliveries.ack(delivery)
        async with gw.client("JS") as recipient, recipient.pull() as deliveries:
            async for delivery in deliveries:
                if _exchange_id(delivery) == wanted:
                    attempts.append(delivery.attempt)
                    await deliveries.ack(delivery)
                    break
    assert attempts == [1, 2, 3]
    assert gw.gateway.store.outbox_row(wanted)[:2] == ("delivered", 3)


async def test_retry_increments_attempt_by_one_and_a_repeated_ack_ends_the_stream(gw):
    (wanted,) = await _submit(gw, "ZJ", 1)
    attempts = []
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async with (
            asyncio.timeout(DEADLINE),
            gw.client("ZJ") as recipient,
            recipient.pull() as deliveries,
        ):
            async for delivery in deliveries:
                if _exchange_id(delivery) != wanted:
                    await deliveries.ack(delivery)
                    continue
                attempts.append(delivery.attempt)
                if len(attempts) < 3:  # redelivered on this same stream once nacked
                    await deliveries.ack(delivery, exchange_pb2.ACK_OUTCOME_RETRY, "busy")
                    continue
                await deliveries.ack(delivery)
                await deliveries.ack(delivery)  # no longer outstanding: an error
    assert attempts == [1, 2, 3]
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(info.value) == "malformed"
    assert "not outstanding" in (info.value.details() or "")
    assert gw.gateway.store.outbox_row(wanted)[:2] == ("delivered", 3)


async def test_an_ack_for_an_unknown_delivery_id_ends_the_stream(gw):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async with (
            asyncio.timeout(DEADLINE),
            gw.client("SH") as recipient,
            recipient.pull() as deliveries,
        ):
            await deliveries.ack(exchange_pb2.Delivery(delivery_id="no-such-delivery"))
            async for _ in deliveries:
                pass
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(info.value) == "malformed"
    assert "'no-such-delivery'" in (info.value.details() or "")
