"""What normalised delivery does when it cannot deliver, on a real gateway: a payload the
recipient's dialect cannot express is logged but its outbox row is rejected (failure
``translation``) and nothing is pulled or pushed; a delivery too large for a gRPC message is
given up (``undeliverable``) without blocking the pull stream; a relayed answer carries an
attestation saying so; ``verify_delivery`` refuses tampering; old database files gain the
new columns.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest

import adapters.jiangsu
from gateway.dialects import MappedCodec
from gateway.dialects.catalogue import DialectCatalogue, default_dialects
from gateway.errors import Refusal
from gateway.exchange.evidence import answer_exchange_id
from gateway.exchange.store import GatewayStore
from gateway.exchange.translation import delivery_message, verify_delivery
from gateway.pb.yrd.v1 import exchange_pb2
from ledger.crypto import PrivateKey, sm3
from tests.adversarial.probes import query
from tests.gateway.harness import GatewayThread
from tests.gateway.test_adapter_flow import Simulators, async_wait_for
from tests.gateway.test_answers_flow import status as status_of
from tests.gateway.test_evidence_flow import ah_request
from tests.gateway.translation_world import case, codec, registry_of, second_members

KIND = "case.submit"
UNMAPPED = "010027100000"  # in the matter catalogue; removed from Jiangsu's mapping here
MAX_PAYLOAD = 200_000  # the server then sends messages up to 2 * MAX_PAYLOAD + 128 KiB


@pytest.fixture(scope="module")
def sims():
    yield from Simulators.serving("JS", "ZJ")


@pytest.fixture(scope="module")
def world(tmp_path_factory, sims):
    data_dir = tmp_path_factory.mktemp("translation-failures")
    mutate, seconds = second_members(data_dir)
    gw = GatewayThread(
        data_dir,
        adapters=_jiangsu_without(UNMAPPED),
        pull_regions=("SH", "AH"),
        endpoints={region: sims.url(region) for region in ("JS", "ZJ")},
        mutate=mutate,
        max_payload_bytes=MAX_PAYLOAD,
        push_backoff_seconds=0.05,
        push_backoff_max_seconds=0.2,
    ).start()
    yield gw, seconds
    gw.stop()


def _jiangsu_without(matter: str) -> DialectCatalogue:
    """The dialects, with a Jiangsu codec that has no local code for ``matter``: a matter
    of the catalogue Jiangsu's dialect cannot express (its mapping lags the catalogue)."""
    catalogue = DialectCatalogue()
    for dialect in default_dialects():
        if dialect.region == "JS":
            mapping = json.loads(
                Path(adapters.jiangsu.__file__).with_name("mapping.json").read_text()
            )
            del mapping["matter_codes"][matter]
            dialect = replace(dialect, codec=MappedCodec(mapping))
        catalogue.register(dialect, replace=True)
    return catalogue


def _id(signed: exchange_pb2.SignedEnvelope) -> str:
    return exchange_pb2.Envelope.FromString(signed.envelope).exchange_id


async def _send(gw, client, recipient: str, canonical: dict, region: str = "SH") -> str:
    signed = client.build(
        recipient=recipient,
        kind=KIND,
        matter=canonical["matter_code"],
        payload=codec(region).from_canonical(KIND, canonical),
        dialect=codec(region).dialect,
        content_type=codec(region).content_type,
    )
    await client.submit(signed)
    return _id(signed)


def _outbox(gw, exchange_id: str) -> tuple[str, str | None, str | None]:
    rows = query(
        gw, "SELECT status, failure, last_error FROM outbox WHERE exchange_id = ?", exchange_id
    )
    return rows[0] if rows else None


async def _pull_until(gw, second, wanted: str) -> set[str]:
    """Pull (acking) until ``wanted`` arrives; every exchange id seen."""
    seen: set[str] = set()
    async with second.client(gw) as client, client.pull() as deliveries:
        async with asyncio.timeout(30):
            async for delivery in deliveries:
                seen.add(_id(delivery.envelope))
                await deliveries.ack(delivery)
                if wanted in seen:
                    break
    return seen


async def test_untranslatable_exchange_is_logged_rejected_and_never_delivered(world, sims, caplog):
    gw, seconds = world
    # a catalogue matter Jiangsu's mapping has no local code for: neither Jiangsu's pull
    # member nor its push member can be given it
    bad = case("FAIL-1", matter_code=UNMAPPED)
    caplog.set_level(logging.WARNING, logger="gateway.exchange.commit")
    async with gw.client("SH") as client:
        to_pull = await _send(gw, client, seconds["JS"].member_id, bad)
        to_push = await _send(gw, client, gw.env.member_id("JS"), bad)
        later_pull = await _send(gw, client, seconds["JS"].member_id, case("OK-1"))
        later_push = await _send(gw, client, gw.env.member_id("JS"), case("OK-2"))
    for exchange_id in (to_pull, to_push):
        status, failure, error = _outbox(gw, exchange_id)
        assert (status, failure) == ("rejected", "translation")
        assert "matter_code" in error and "js-json/1" in error
        # and the sender sees it: failed, because of translation, naming the field
        seen = await status_of(gw, "SH", exchange_id)
        assert seen.state == exchange_pb2.EXCHANGE_STATE_FAILED
        assert seen.failure == exchange_pb2.FAILURE_REASON_TRANSLATION
        assert "matter_code" in seen.detail
        # logged: the entry says what could not be delivered
        row = gw.gateway.store.exchange(exchange_id)
        entry = json.loads(gw.gateway.log.entry(row.leaf_index))
        assert entry["v"] == 2 and entry["delivered_sm3"] == ""
        assert entry["target_dialect"] == "js-json/1"
        assert entry["source_dialect"] == "yrd-canonical/1"
        assert entry["canonical_sm3"] == sm3(row.canonical.encode()).hex()
        assert row.delivered is None and row.attestation_statement is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(to_pull in w and "matter_code" in w for w in warnings)
    assert not any("李*华" in w or "pk:yrd" in w for w in warnings)  # no personal data
    # nothing pulled: a later exchange comes, the rejected one never does
    assert to_pull not in await _pull_until(gw, seconds["JS"], later_pull)
    # nothing pushed
    await async_wait_for(
        lambda: (gw.gateway.store.outbox_row(later_push) or ("",))[0] == "delivered",
        "the later push",
    )
    js, path = codec("JS"), codec("JS").endpoint(KIND)
    cases = [js.to_canonical(KIND, b)["case_id"] for p, _, b in sims.received["JS"] if p == path]
    assert "OK-2" in cases and "FAIL-1" not in cases


@pytest.fixture
def small_sends(tmp_path):
    """A gateway whose gRPC send limit is 300 kB (both the server's option and the Pull
    guard: compose takes both from ``_max_send``). With the real limit (twice the payload
    limit + 128 KiB) only a dialect that more than doubles a payload could exceed it."""
    mutate, seconds = second_members(tmp_path)
    with mock.patch("gateway.app.compose._max_send", lambda settings: 300_000):
        gw = GatewayThread(
            tmp_path, pull_regions=("SH", "JS", "ZJ", "AH"), mutate=mutate,
            max_payload_bytes=MAX_PAYLOAD,
        ).start()  # fmt: skip
    yield gw, seconds
    gw.stop()


async def test_a_delivery_too_large_for_a_message_is_undeliverable_and_the_stream_goes_on(
    small_sends,
):
    gw, seconds = small_sends
    materials = [
        {"material_id": f"M{i:04d}", "name": "材料" * 40, "digest_sm3": "ab" * 32}
        for i in range(500)
    ]
    big = case("BIG-1", materials=materials)
    size = len(codec("SH").from_canonical(KIND, big))
    assert 150_000 < size < MAX_PAYLOAD  # accepted, but original + delivered exceed 300 kB
    async with gw.client("SH") as client:
        too_big = await _send(gw, client, seconds["SH"].member_id, big)
        after = await _send(gw, client, seconds["SH"].member_id, case("AFTER-BIG"))
    assert too_big not in await _pull_until(gw, seconds["SH"], after)
    status, failure, error = _outbox(gw, too_big)
    assert (status, failure) == ("rejected", "undeliverable")
    assert "exceeds the message limit" in error


async def test_a_relayed_answer_is_attested_as_relayed(world, sims):
    """Anhui's pull member asks Jiangsu's push member for a licence; the simulator's answer
    comes back as an exchange the gateway signed as Jiangsu's adapter, in Anhui's dialect."""
    gw, seconds = world
    async with seconds["AH"].client(gw) as client:
        signed = client.build(
            recipient=gw.env.member_id("JS"),
            kind="evidence.request",
            payload=ah_request("AH-EV-TR-1"),
            dialect="ah-json-gb18030/1",
            content_type="application/json; charset=gb18030",
        )
        await client.submit(signed)
    answer_id = answer_exchange_id(_id(signed))
    await _pull_until(gw, seconds["AH"], answer_id)
    row = gw.gateway.store.exchange(answer_id)
    delivery = delivery_message(row)
    statement = verify_delivery(registry_of(gw), delivery)
    assert statement["relayed"] is True and statement["channel"] == "http-dev"
    assert statement["source_dialect"] == "yrd-canonical/1"
    assert statement["target_dialect"] == "ah-json-gb18030/1"
    assert row.delivered == codec("AH").from_canonical(
        "evidence.response", json.loads(row.canonical)
    )
    entry = json.loads(gw.gateway.log.entry(row.leaf_index))
    assert entry["relayed"] is True and entry["channel"] == "http-dev"

    # tampering is refused, naming the step
    registry = registry_of(gw)
    forged = exchange_pb2.Delivery()
    forged.CopyFrom(delivery)
    forged.payload = row.delivered + b" "
    with pytest.raises(Refusal) as refused:
        verify_delivery(registry, forged)
    assert refused.value.reason == "digest_mismatch"
    forged.CopyFrom(delivery)
    forged.attestation.signature = gw.env.log_key.sign(row.attestation_statement)
    forged.attestation.key_id = gw.env.log_key.public_key.key_id  # a checkpoint key
    with pytest.raises(Refusal) as refused:
        verify_delivery(registry, forged)
    assert refused.value.reason == "key_invalid"
    forged.CopyFrom(delivery)
    forged.attestation.signature = PrivateKey.generate().sign(row.attestation_statement)
    with pytest.raises(Refusal) as refused:
        verify_delivery(registry, forged)
    assert refused.value.reason == "signature_invalid"
    forged.CopyFrom(delivery)
    forged.dialect = "js-json/1"
    with pytest.raises(Refusal) as refused:
        verify_delivery(registry, forged)
    assert refused.value.reason == "malformed"


def test_an_old_database_gains_the_new_columns(tmp_path):
    db = tmp_path / "gateway.db"
    conn = sqlite3.connect(db)
    conn.executescript(
        """
        CREATE TABLE exchanges (exchange_id TEXT PRIMARY KEY, envelope BLOB NOT NULL,
            signature BLOB NOT NULL, key_id TEXT NOT NULL, envelope_sm3 BLOB NOT NULL,
            sender TEXT NOT NULL, recipient TEXT NOT NULL, kind TEXT NOT NULL,
            matter TEXT NOT NULL, canonical TEXT NOT NULL, leaf_index INTEGER NOT NULL,
            tree_size INTEGER NOT NULL, received_at REAL NOT NULL);
        CREATE TABLE outbox (exchange_id TEXT PRIMARY KEY, recipient TEXT NOT NULL,
            mode TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL, last_error TEXT, response TEXT,
            updated_at REAL NOT NULL);
        INSERT INTO exchanges VALUES ('x1', x'01', x'02', 'k', x'03', 'SH/a/b', 'JS/c/d',
            'case.submit', '', '{}', 0, 1, 1.0);
        """
    )
    conn.close()
    store = GatewayStore(db)
    try:
        row = store.exchange("x1")
        assert row is not None and row.delivered is None and row.attestation_key_id is None
        with sqlite3.connect(db) as check:
            columns = {r[1] for r in check.execute("PRAGMA table_info(outbox)")}
        assert {"failure", "delivered_at"} <= columns
    finally:
        store.close()
    GatewayStore(db).close()  # a second open adds nothing and fails nothing
