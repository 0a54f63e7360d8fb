"""No full-table scan on the exchange path: every statement a real exchange runs (submit,
pull, ack, receipt, and the push worker's due() poll) is checked with SQLite's
``EXPLAIN QUERY PLAN`` against the gateway's database, and a ``SCAN <table>`` fails.

The log never shrinks, nor does the outbox: a scan that costs nothing at 10^3 rows cost
52 ms per exchange at 10^6 (issue 16). The statements are recorded with a trace callback
on every SQLite connection the gateway opens, after it has started (opening and verifying
the log may read everything once).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading

import pytest

from gateway.exchange.store import GatewayStore
from gateway.pb.yrd.v1 import exchange_pb2
from tests.envelopes import status_update
from tests.gateway.harness import GatewayThread

pytestmark = pytest.mark.embedded_log("SQLite's EXPLAIN QUERY PLAN over gateway.db")

DEADLINE = 60.0  # s: every wait below ends by then, or the test fails
_PLANNED = ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH")


def table_scans(conn: sqlite3.Connection, sql: str) -> list[str]:
    """The ``SCAN <table>`` lines of ``sql``'s query plan (a full read of a table or of a
    whole index); empty when every table is reached through a key or an index search."""
    if not sql.lstrip().upper().startswith(_PLANNED):
        return []
    lines = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
    return [line for line in lines if line.startswith("SCAN ") and line != "SCAN CONSTANT ROW"]


@pytest.fixture
def recorded(monkeypatch):
    """(database, statement) of every statement run on a SQLite connection opened from
    now on (any thread)."""
    statements: list[tuple[str, str]] = []
    lock = threading.Lock()
    connect = sqlite3.connect

    def traced(*args, **kwargs):
        conn = connect(*args, **kwargs)
        database = str(args[0] if args else kwargs["database"])

        def record(sql: str) -> None:
            with lock:
                statements.append((database, sql))

        conn.set_trace_callback(record)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    return statements


async def _exchange_and_deliver(gw: GatewayThread, count: int) -> None:
    async with asyncio.timeout(DEADLINE):
        async with gw.client("SH") as sender:
            receipts = [await sender.submit(status_update(sender, gw.env, "ZJ")) for _ in range(3)]
            assert all(r.leaf_index >= 0 for r in receipts)
            request = exchange_pb2.GetReceiptRequest(exchange_id=receipts[0].exchange_id)
            await sender.exchange.GetReceipt(request)
        async with gw.client("ZJ") as recipient, recipient.pull(max_in_flight=8) as deliveries:
            seen = 0
            async for delivery in deliveries:
                await deliveries.ack(delivery)
                seen += 1
                if seen == count:
                    break
        await asyncio.sleep(1.2)  # one more round of the push worker's poll


def test_every_statement_on_the_exchange_path_uses_an_index(tmp_path, recorded):
    gw = GatewayThread(tmp_path).start()
    try:
        recorded.clear()  # opening and verifying the log is not the exchange path
        asyncio.run(_exchange_and_deliver(gw, 3))
    finally:
        gw.stop()
    statements = sorted(set(recorded))
    assert any("FROM outbox" in s and "'push'" in s for _, s in statements), "no push poll"
    assert any("INTO exchanges" in s for _, s in statements), "no exchange committed"
    scans: dict[str, list[str]] = {}
    for database in {db for db, _ in statements}:
        with contextlib.closing(sqlite3.connect(database)) as conn:
            for db, sql in statements:
                if db == database and (found := table_scans(conn, sql)):
                    scans[f"{db}: {sql}"] = found
    assert scans == {}, "full scans on the exchange path:\n" + "\n".join(
        f"{found}: {sql}" for sql, found in scans.items()
    )


def test_the_guard_sees_a_scan_without_the_outbox_index(tmp_path):
    """The check above can fail: without ``outbox_pending`` the push poll reads the whole
    outbox (as it did before issue 16)."""
    store = GatewayStore(tmp_path / "gateway.db")
    due_push = (
        "SELECT exchange_id, recipient, mode, status, attempts, next_attempt_at, last_error"
        " FROM outbox WHERE status = 'pending' AND mode = 'push' AND next_attempt_at <= 1.0"
        " ORDER BY rowid LIMIT 64"
    )
    with contextlib.closing(sqlite3.connect(store.path, isolation_level=None)) as conn:
        assert table_scans(conn, due_push) == []
        conn.execute("DROP INDEX outbox_pending")
    with contextlib.closing(sqlite3.connect(store.path)) as conn:  # a fresh plan
        assert table_scans(conn, due_push) == ["SCAN outbox"]
    store.close()


def test_an_older_file_gets_the_outbox_indexes_on_open(tmp_path):
    """A database written before the indexes (``outbox_due`` only) is migrated on open."""
    path = tmp_path / "gateway.db"
    GatewayStore(path).close()
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("DROP INDEX outbox_pending")
        conn.execute("DROP INDEX outbox_recipient_due")
        conn.execute("CREATE INDEX outbox_due ON outbox(recipient, status, next_attempt_at)")
    GatewayStore(path).close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        names = {row[1] for row in conn.execute("PRAGMA index_list(outbox)")}
    assert {"outbox_pending", "outbox_recipient_due"} <= names
    assert "outbox_due" not in names
