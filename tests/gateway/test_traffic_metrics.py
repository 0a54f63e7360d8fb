"""Operators see traffic, on a real gateway: every submission is counted by kind and outcome,
every logged exchange by kind and origin, and every delivery outcome -- pull and push -- by
mode and outcome; failures and dead letters are also logged (docs/operations.md)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import urllib.request
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.pb.yrd.v1 import exchange_pb2 as X
from tests.envelopes import status_update
from tests.gateway.harness import GatewayThread
from tests.gateway.test_answers_flow import envelope_of, take, until_state

REPO = Path(__file__).resolve().parents[2]
Sample = tuple[str, tuple[tuple[str, str], ...]]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    """SH and AH pull (SH sends canonical case.status to AH); ZJ push to a port where
    nothing listens, given up after 2 attempts."""
    thread = GatewayThread(
        tmp_path_factory.mktemp("traffic"),
        pull_regions=("SH", "AH"),
        endpoints={"ZJ": f"http://127.0.0.1:{_closed_port()}/yrd/inbox"},
        push_max_attempts=2,
        push_backoff_seconds=0.05,
        push_backoff_max_seconds=0.1,
    ).start()
    yield thread
    thread.stop()


def _scrape(gw: GatewayThread) -> dict[Sample, float]:
    with urllib.request.urlopen(f"{gw.http_url}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _delta(before: dict[Sample, float], after: dict[Sample, float], name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_submissions_are_counted_by_kind_and_outcome(gw):
    before = await asyncio.to_thread(_scrape, gw)
    async with gw.client("SH") as client:
        signed = status_update(client, gw.env, "AH")
        await client.submit(signed)
        await client.submit(signed)  # the same bytes again: a duplicate
        tampered = X.SignedEnvelope()
        tampered.CopyFrom(status_update(client, gw.env, "AH"))
        tampered.signature = b"\x30\x06\x02\x01\x01\x02\x01\x01"
        with pytest.raises(grpc.aio.AioRpcError):
            await client.exchange.Submit(tampered)
    after = await asyncio.to_thread(_scrape, gw)
    total = "yrd_exchanges_total"
    assert _delta(before, after, total, kind="case.status", outcome="accepted") == 1
    assert _delta(before, after, total, kind="case.status", outcome="duplicate") == 1
    assert _delta(before, after, total, kind="case.status", outcome="refused") == 1
    assert _delta(before, after, "yrd_refusals_total", reason="signature_invalid") == 1
    logged = "yrd_exchanges_committed_total"
    assert _delta(before, after, logged, kind="case.status", origin="member") == 1


async def test_pull_outcomes_are_counted_and_a_rejection_is_logged(gw, caplog):
    caplog.set_level(logging.WARNING, logger="gateway.grpc")
    async with gw.client("SH") as client:
        accepted, rejected = (
            status_update(client, gw.env, "AH"),
            status_update(client, gw.env, "AH"),
        )
        await client.submit(accepted)
        await client.submit(rejected)
    before = await asyncio.to_thread(_scrape, gw)
    await take(gw, "AH", lambda e: e.exchange_id == envelope_of(accepted).exchange_id)
    await take(
        gw,
        "AH",
        lambda e: e.exchange_id == envelope_of(rejected).exchange_id,
        X.ACK_OUTCOME_REJECTED,
        "unknown case",
    )
    await until_state(
        gw, "SH", envelope_of(rejected).exchange_id, X.EXCHANGE_STATE_FAILED
    )  # the ack is stored
    after = await asyncio.to_thread(_scrape, gw)
    deliveries = "yrd_deliveries_total"
    assert _delta(before, after, deliveries, mode="pull", outcome="delivered") >= 1
    assert _delta(before, after, deliveries, mode="pull", outcome="refused_by_partner") == 1
    assert any(
        envelope_of(rejected).exchange_id in r.getMessage() and "unknown case" in r.getMessage()
        for r in caplog.records
    )


async def test_a_push_dead_letter_is_counted_and_logged(gw, caplog):
    caplog.set_level(logging.WARNING, logger="gateway.exchange.delivery")
    before = await asyncio.to_thread(_scrape, gw)
    async with gw.client("SH") as client:
        signed = status_update(client, gw.env, "ZJ")
        await client.submit(signed)
    exchange_id = envelope_of(signed).exchange_id
    done = await until_state(gw, "SH", exchange_id, X.EXCHANGE_STATE_FAILED)
    assert done.failure == X.FAILURE_REASON_UNDELIVERABLE
    after = await asyncio.to_thread(_scrape, gw)
    deliveries = "yrd_deliveries_total"
    assert _delta(before, after, deliveries, mode="push", outcome="retry") == 1
    assert _delta(before, after, deliveries, mode="push", outcome="undeliverable") == 1
    assert _delta(before, after, "yrd_push_dead_letters_total") == 1
    messages = [r.getMessage() for r in caplog.records if exchange_id in r.getMessage()]
    assert any("failed (attempt 1)" in m for m in messages), messages
    assert any("given up after 2 attempts" in m for m in messages), messages


def test_docs_list_every_metric_the_gateway_exports(gw):
    """docs/operations.md's metric table names exactly the families a gateway exports (a
    counter as ``<name>_total``, as it is scraped)."""
    exported = {
        family.name + ("_total" if family.type == "counter" else "")
        for family in gw.gateway.metrics.registry.collect()
    }
    docs = (REPO / "docs" / "operations.md").read_text()
    section = docs.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(yrd_[a-z_]+)` \|", section, flags=re.M))
    assert documented == exported
