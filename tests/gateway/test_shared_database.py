"""The gateway on a shared PostgreSQL database (``database = "postgresql://..."``): the log,
its queue and the gateway's rows in one database, several front ends on it, one elected
sequencer. Real gateways on loopback, a real throwaway cluster, real mTLS clients."""

from __future__ import annotations

import asyncio
import json

import pytest

from gateway.app.settings import Settings
from gateway.errors import ConfigError
from gateway.pb.yrd.v1 import audit_pb2, exchange_pb2
from ledger import merkle
from ledger.receipt import verify_receipt
from tests.adversarial.probes import gateway_rows, log_rows, query
from tests.envelopes import status_update
from tests.gateway.harness import GatewayThread

WAIT = 30.0


@pytest.fixture
def gateway(tmp_path, pg_url):
    thread = GatewayThread(tmp_path, database=pg_url).start()
    yield thread
    thread.stop()


async def test_a_gateway_on_postgresql_commits_delivers_and_proves(gateway):
    gw = gateway
    assert gw.gateway.storage.shared
    async with gw.client("SH") as sh:
        receipts = [await sh.submit(status_update(sh, gw.env)) for _ in range(5)]
        for receipt in receipts:
            verify_receipt(json.loads(receipt.receipt_json), gw.trust)
        assert [r.leaf_index for r in receipts] == list(range(5))
        # the same envelope again: its receipt, nothing new written
        again = status_update(sh, gw.env)
        first = await sh.submit(again)
        second = await sh.submit(again)
        assert (first.leaf_index, first.exchange_id) == (second.leaf_index, second.exchange_id)
        stored = await sh.exchange.GetReceipt(
            exchange_pb2.GetReceiptRequest(exchange_id=first.exchange_id)
        )
        verify_receipt(json.loads(stored.receipt_json), gw.trust)
        latest = await sh.audit.GetCheckpoint(audit_pb2.GetCheckpointRequest())
        proof = await sh.audit.GetConsistencyProof(
            audit_pb2.GetConsistencyProofRequest(old_size=3, new_size=latest.tree_size)
        )
        old = gw.gateway.log.checkpoint(3)
        merkle.verify_consistency(3, latest.tree_size, list(proof.hashes), old.root, latest.root)
    # the recipient pulls what was accepted
    async with gw.client("ZJ") as zj, zj.pull() as session:
        got = []
        async with asyncio.timeout(WAIT):
            async for delivery in session:
                got.append(delivery.receipt.exchange_id)
                await session.ack(delivery)
                if len(got) == 6:
                    break
        assert set(got) == {r.exchange_id for r in receipts} | {first.exchange_id}
    # everything is in the database, nothing in the data directory's SQLite files
    assert log_rows(gw) == 6 and gateway_rows(gw, "exchanges") == 6
    assert gateway_rows(gw, "log_pending") == 0
    assert not (gw.data_dir / "log.db").exists() and not (gw.data_dir / "gateway.db").exists()


async def test_two_front_ends_share_one_log_and_one_sequencer_leads(tmp_path, pg_url):
    a = GatewayThread(tmp_path, database=pg_url).start()
    b = GatewayThread(tmp_path, database=pg_url).start()  # same deployment, another process
    try:
        async with a.client("SH") as via_a, b.client("SH") as via_b:
            sends = [via_a.submit(status_update(via_a, a.env)) for _ in range(10)]
            sends += [via_b.submit(status_update(via_b, b.env)) for _ in range(10)]
            receipts = await asyncio.gather(*sends)
        for receipt in receipts:
            verify_receipt(json.loads(receipt.receipt_json), a.trust)
        assert sorted(r.leaf_index for r in receipts) == list(range(20))
        leaders = [t for t in (a, b) if t.gateway.storage.sequencer.sequencer.leading.is_set()]
        assert len(leaders) == 1
        # the leader stops: the other front end's candidate takes over and commits
        leader, other = leaders[0], b if leaders[0] is a else a
        leader.stop()
        async with other.client("SH") as ah:
            async with asyncio.timeout(WAIT):
                receipt = await ah.submit(status_update(ah, other.env))
        assert receipt.leaf_index == 20
        assert other.gateway.storage.sequencer.sequencer.leading.is_set()
        assert query(other, "SELECT COUNT(*) FROM outbox") == [(21,)]
    finally:
        for thread in (a, b):
            if thread.gateway is not None and thread.gateway.started_at:
                thread.stop()


@pytest.mark.parametrize(
    ("database", "anchor_mode", "message"),
    [
        ("gateway.db", "off", "database must be empty (SQLite files in data_dir) or a postgresql"),
        ("postgresql://yrd@db/yrd", "embedded", "with a shared database every front end would"),
    ],
)
def test_a_database_setting_that_cannot_work_is_refused_at_start(database, anchor_mode, message):
    with pytest.raises(ConfigError) as info:
        Settings.load(env={}, database=database, anchor_mode=anchor_mode)
    assert message in str(info.value)


def test_the_embedded_default_is_sqlite_and_sequences_here(tmp_path):
    thread = GatewayThread(tmp_path, database="").start()
    try:
        assert thread.gateway.storage.role == "embedded" and not thread.gateway.storage.shared
        assert (tmp_path / "log.db").exists() and (tmp_path / "gateway.db").exists()
    finally:
        thread.stop()
