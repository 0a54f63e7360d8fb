"""Normalised delivery on a real gateway: every ordered pair of the four dialects (canonical,
Jiangsu JSON, Zhejiang XML, Anhui GB18030; the same dialect included) arrives in the
recipient's dialect, byte-exact to ``codec.from_canonical(kind, canonical)``, with a
translation attestation that verifies -- over a real Pull stream for pull members and at the
province simulators (real HTTP) for push members -- and the signatures cross-checked with
the independent SM2 backend (gmssl). The log entry (v2) records the same digests.
"""

from __future__ import annotations

import asyncio
import json
from itertools import product

import pytest

from gateway.encoding import canonical_json
from gateway.exchange.translation import delivery_message, verify_delivery
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import KeyPurpose
from ledger.crypto import REFERENCE_AVAILABLE, sm3
from tests.envelopes import dialect_envelope
from tests.gateway.harness import GatewayThread
from tests.gateway.test_adapter_flow import Simulators, async_wait_for
from tests.gateway.translation_world import (
    REGIONS,
    case,
    codec,
    registry_of,
    second_members,
)

PAIRS = list(product(REGIONS, REGIONS))
KIND = "case.submit"


@pytest.fixture(scope="module")
def sims():
    simulators = Simulators()
    for region in REGIONS:
        simulators.start(region)
    yield simulators
    simulators.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory, sims):
    data_dir = tmp_path_factory.mktemp("translation")
    mutate, seconds = second_members(data_dir)
    gw = GatewayThread(
        data_dir,
        pull_regions=(),
        endpoints={region: sims.url(region) for region in REGIONS},
        mutate=mutate,
        push_backoff_seconds=0.05,
        push_backoff_max_seconds=0.2,
    ).start()
    yield gw, seconds
    gw.stop()


def _exchange_id(signed: exchange_pb2.SignedEnvelope) -> str:
    return exchange_pb2.Envelope.FromString(signed.envelope).exchange_id


def _cross_check(registry, delivery: exchange_pb2.Delivery) -> None:
    """The sender's and the gateway's SM2 signatures, verified again with gmssl."""
    if not REFERENCE_AVAILABLE:
        pytest.skip("the reference sm2 backend (gmssl) is not installed")
    attestation = delivery.attestation
    key = registry.gateway_key(attestation.key_id, KeyPurpose.ATTESTATION)
    key.verify(attestation.statement, attestation.signature, backend="reference")
    signed = delivery.envelope
    owner = registry.key_owner(signed.key_id)
    owner.key(signed.key_id).public_key.verify(
        signed.envelope, signed.signature, backend="reference"
    )


def _check_entry(entry: dict, canonical: dict, payload: bytes, src: str, dst: str) -> None:
    assert entry["v"] == 2
    assert entry["canonical_sm3"] == sm3(canonical_json(canonical)).hex()
    assert entry["delivered_sm3"] == sm3(payload).hex()
    assert (entry["source_dialect"], entry["target_dialect"]) == (
        codec(src).dialect,
        codec(dst).dialect,
    )
    assert entry["relayed"] is False and entry["channel"] == "grpc-mtls"


async def test_every_pair_of_dialects_arrives_byte_exact_over_pull(world):
    """Sender: the dev member of region X (dialect X); recipient: the second member of
    region Y (dialect Y, pull)."""
    gw, seconds = world
    expected: dict[str, tuple[str, str, dict]] = {}
    for src, dst in PAIRS:
        canonical = case(f"PULL-{src}-{dst}")
        payload = codec(src).from_canonical(KIND, canonical)
        async with gw.client(src) as client:
            signed = client.build(
                recipient=seconds[dst].member_id,
                kind=KIND,
                matter="010010300100",
                payload=payload,
                dialect=codec(src).dialect,
                content_type=codec(src).content_type,
            )
            await client.submit(signed)
        expected[_exchange_id(signed)] = (src, dst, canonical)

    registry = registry_of(gw)
    for dst in REGIONS:
        wanted = {x for x, (_, d, _) in expected.items() if d == dst}
        got: dict[str, exchange_pb2.Delivery] = {}
        async with seconds[dst].client(gw) as client, client.pull() as deliveries:
            async with asyncio.timeout(30):
                async for delivery in deliveries:
                    exchange_id = _exchange_id(delivery.envelope)
                    got[exchange_id] = delivery
                    await deliveries.ack(delivery)
                    if wanted <= set(got):
                        break
        assert set(got) == wanted
        for exchange_id, delivery in got.items():
            src, _, canonical = expected[exchange_id]
            target = codec(dst)
            assert delivery.payload == target.from_canonical(KIND, canonical), (src, dst)
            assert delivery.dialect == target.dialect
            assert delivery.payload_content_type == target.content_type
            statement = verify_delivery(registry, delivery)
            assert statement["source_dialect"] == codec(src).dialect
            assert statement["canonical_sm3"] == sm3(canonical_json(canonical)).hex()
            assert statement["relayed"] is False and statement["channel"] == "grpc-mtls"
            _cross_check(registry, delivery)
            entry = json.loads(delivery.receipt.entry)
            _check_entry(entry, canonical, delivery.payload, src, dst)


async def test_every_pair_of_dialects_arrives_byte_exact_over_push(world, sims):
    """Sender: the second member of region X (dialect X); recipient: the dev member of
    region Y, pushed to Y's simulator over HTTP."""
    gw, seconds = world
    expected: dict[str, tuple[str, str, dict]] = {}
    for src, dst in PAIRS:
        canonical = case(f"PUSH-{src}-{dst}")
        async with seconds[src].client(gw) as client:
            signed = dialect_envelope(
                client, gw.env, dst, codec(src), codec(src).from_canonical(KIND, canonical)
            )
            await client.submit(signed)
        expected[_exchange_id(signed)] = (src, dst, canonical)

    store = gw.gateway.store
    await async_wait_for(
        lambda: all((store.outbox_row(x) or ("",))[0] == "delivered" for x in expected),
        "every push delivered",
    )
    registry = registry_of(gw)
    for exchange_id, (src, dst, canonical) in expected.items():
        body = codec(dst).from_canonical(KIND, canonical)
        received = [b for path, _, b in sims.received[dst] if b == body]
        assert received, (src, dst)  # the simulator got the exact bytes
        row = store.exchange(exchange_id)
        assert row.delivered == body and row.delivered_dialect == codec(dst).dialect
        # the stored attestation binds what the simulator received
        delivery = delivery_message(row)
        delivery.payload = received[0]
        statement = verify_delivery(registry, delivery)
        assert statement["delivered_sm3"] == sm3(received[0]).hex()
        _cross_check(registry, delivery)
        entry = json.loads(gw.gateway.log.entry(row.leaf_index))
        _check_entry(entry, canonical, body, src, dst)
