"""The gateway gathers witness cosignatures from three real ``yrd-witness`` processes.

Each test starts three ``python -m ledger.witness serve`` processes on loopback (fixed ports,
so a witness stopped and started again is found at the same URL), lists them in the dev
registry with quorum 2, and runs a real gateway (``tests.gateway.harness``). Nothing is
mocked: exchanges go over mTLS gRPC, the collector posts to the witnesses over HTTP, and
every receipt is checked with ``ledger.receipt.verify_receipt`` and its cosignatures with
``ledger.cosignature.verify_cosignatures`` against the witnesses' keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from gateway.app.anchoring import make_anchorer_factory
from gateway.app.compose import CaseOptions
from gateway.app.devenv import ensure_dev_environment
from gateway.app.settings import Settings
from gateway.cases import Role
from gateway.exchange import loopguard
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import DEV_LOG_ORIGIN
from gateway.witness import NOT_WITNESSED, WITNESSED, WitnessStore
from ledger import merkle
from ledger.checkpoint import verify_checkpoint
from ledger.cosignature import TrustedWitness, verify_cosignatures
from ledger.crypto import PrivateKey
from ledger.receipt import verify_receipt
from ledger.trust import TrustStore, trust_document
from tests.envelopes import status_update
from tests.gateway.harness import GatewayThread
from tests.gateway.test_audit_api import PASSWORD, submit_case
from tests.gateway.test_query_plans import table_scans
from tests.web.helpers import sign_in, start_web_gateway

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0  # s: every wait below ends by then, or the test fails
NAMES = ("sh.witness.yrd", "js.witness.yrd", "zj.witness.yrd")
QUORUM = 2


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Witness:
    """One ``yrd-witness serve`` process on a fixed loopback port, restartable."""

    def __init__(self, directory: Path, name: str, key: PrivateKey, logs: Path) -> None:
        self.directory = directory
        self.name = name
        self.key = key
        self.key_path = directory / "witness.pem"
        self.key_path.write_bytes(key.to_pem())
        self.logs = logs
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Witness:
        ready = self.directory / "ready"
        ready.unlink(missing_ok=True)
        with (self.directory / "stderr.log").open("ab") as stderr:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "ledger.witness", "serve",
                    "--name", self.name, "--key", str(self.key_path),
                    "--logs", str(self.logs), "--data", str(self.directory / "data"),
                    "--listen", f"127.0.0.1:{self.port}", "--ready-file", str(ready),
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
        deadline = time.monotonic() + DEADLINE
        while not ready.exists():
            assert self.proc.poll() is None, f"witness {self.name} exited: {self.log()}"
            assert time.monotonic() < deadline, f"witness {self.name} not ready: {self.log()}"
            time.sleep(0.05)
        return self

    def log(self) -> str:
        return (self.directory / "stderr.log").read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=DEADLINE)
        self.proc = None

    def latest(self) -> tuple[int, str]:
        """(status, body) of ``GET /checkpoint`` for the gateway's log."""
        url = f"{self.url}/checkpoint?origin={urllib.parse.quote(DEV_LOG_ORIGIN)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


class Setup:
    """Three witnesses and a gateway whose registry lists them (quorum 2)."""

    def __init__(self, tmp_path: Path, wrong_key_for: str | None = None) -> None:
        data = tmp_path / "gateway"
        env = ensure_dev_environment(data)  # the log key the witnesses trust
        self.log_key = env.log_key.public_key
        logs = tmp_path / "logs.json"
        logs.write_text(json.dumps(trust_document(DEV_LOG_ORIGIN, self.log_key)))
        self.witnesses: dict[str, Witness] = {}
        for name in NAMES:
            (tmp_path / name).mkdir()
            key = PrivateKey.generate()
            self.witnesses[name] = Witness(tmp_path / name, name, key, logs)
        listed = {
            name: (PrivateKey.generate().public_key if name == wrong_key_for else w.key.public_key)
            for name, w in self.witnesses.items()
        }
        self.trusted = [TrustedWitness(n, w.key.public_key) for n, w in self.witnesses.items()]

        def add_witnesses(document: dict[str, Any]) -> None:
            document["witnesses"] = [
                {
                    "name": name,
                    "public_key": listed[name].to_pem().decode(),
                    "url": w.url,
                    "logs": [DEV_LOG_ORIGIN],
                }
                for name, w in self.witnesses.items()
            ]
            document["witness_quorum"] = QUORUM

        self.data = data
        self.mutate = add_witnesses
        self.gw: GatewayThread | None = None
        self.sims: Any = None
        self.trust = TrustStore.load(
            json.dumps(
                trust_document(DEV_LOG_ORIGIN, self.log_key, witnesses=self.trusted)
            ).encode()
        )

    def start(self, *names: str, lag_alarm_seconds: float = 60.0, anchored: bool = False) -> Setup:
        for name in names or NAMES:
            self.witnesses[name].start()
        factory = None
        if anchored:  # the embedded chain, an anchor due at every new entry
            settings = Settings.load(
                env={}, data_dir=self.data, anchor_interval_seconds=0.2, anchor_every_entries=1
            )
            factory = make_anchorer_factory(settings)
        # a blocking store call on the gateway's loop (the collector's, a receipt's) raises
        self.gw = GatewayThread(
            self.data, mutate=self.mutate, off_loop_guard=True, anchorer_factory=factory
        )
        gateway = self.gw.compose()
        assert gateway.witnessing is not None
        gateway.witnessing.collector.cap = 1.0  # a returning witness is tried again soon
        gateway.witnessing.collector.lag_alarm_seconds = lag_alarm_seconds
        self.gw.call(gateway.start())
        return self

    def start_web(self) -> GatewayThread:
        """The three witnesses and a gateway with the web app and the push simulators."""
        for witness in self.witnesses.values():
            witness.start()
        self.gw, self.sims = start_web_gateway(
            self.data, CaseOptions(), mutate=self.mutate, off_loop_guard=True
        )
        return self.gw

    @property
    def running(self) -> GatewayThread:
        assert self.gw is not None, "start() first"
        return self.gw

    def close(self) -> None:
        if self.gw is not None:
            with contextlib.suppress(Exception):
                self.gw.stop()
        if self.sims is not None:
            self.sims.stop()
        for witness in self.witnesses.values():
            witness.stop(signal.SIGKILL)

    def health(self) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(f"{self.running.http_url}/healthz", timeout=10) as reply:
                body = json.loads(reply.read())
                body["http_status"] = reply.status
                return body
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read())
            body["http_status"] = exc.code
            return body

    def wait(self, what: str, ready: Any) -> dict[str, Any]:
        """Poll ``/healthz`` until ``ready(health)``; the deadline fails the test."""
        deadline = time.monotonic() + DEADLINE
        while True:
            health = self.health()
            if ready(health):
                return health
            assert time.monotonic() < deadline, f"{what}: not by the deadline: {health}"
            time.sleep(0.1)

    def wait_witnessed(self, size: int) -> dict[str, Any]:
        return self.wait(
            f"a quorum at tree size {size}",
            lambda h: h["witnesses"]["witnessed_size"] >= size,
        )

    def wait_cosigned(self, name: str, size: int) -> dict[str, Any]:
        return self.wait(
            f"{name} cosigning tree size {size}",
            lambda h: (h["witnesses"]["witnesses"][name]["cosigned_size"] or 0) >= size,
        )

    async def submit(self) -> exchange_pb2.Receipt:
        async with self.running.client("SH") as sender:
            return await sender.submit(status_update(sender, self.running.env, "ZJ"))

    async def get_receipt(self, exchange_id: str, tree_size: int = 0) -> dict[str, Any]:
        async with self.running.client("SH") as sender:
            request = exchange_pb2.GetReceiptRequest(exchange_id=exchange_id, tree_size=tree_size)
            answer = await sender.exchange.GetReceipt(request)
        return json.loads(answer.receipt_json)

    async def pull_one(self) -> dict[str, Any]:
        """The receipt of the first delivery ZJ pulls (acked)."""
        async with (
            asyncio.timeout(30),
            self.running.client("ZJ") as recipient,
            recipient.pull() as deliveries,
        ):
            async for delivery in deliveries:
                await deliveries.ack(delivery)
                return dict(json.loads(delivery.receipt.receipt_json))
        raise AssertionError("the pull stream ended without a delivery")

    def cosigners(self, receipt: dict[str, Any]) -> list[str]:
        """Names of the witnesses whose cosignature on the receipt's checkpoint verifies."""
        valid, invalid = verify_cosignatures(receipt["checkpoint"], self.trusted)
        assert invalid == []
        return sorted(v.witness.name for v in valid)


@pytest.fixture
def setup(tmp_path):
    made: list[Setup] = []

    def make(**kwargs: Any) -> Setup:
        made.append(Setup(tmp_path, **kwargs))
        return made[-1]

    yield make
    for each in made:
        each.close()
    assert [v for v in loopguard.violations() if "Witness" in v] == []


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, DEADLINE))


def test_a_quorum_of_two_is_reached_and_still_with_one_witness_down(setup):
    s = setup().start()
    first = run(s.submit())
    s.wait_witnessed(first.tree_size)
    receipt = run(s.get_receipt(first.exchange_id))
    verify_receipt(receipt, s.trust)
    assert receipt["tree_size"] == first.tree_size and "upgraded_from" not in receipt
    assert receipt["witnesses"]["status"] == WITNESSED
    assert receipt["witnesses"]["quorum"] == QUORUM
    assert s.cosigners(receipt) == sorted(NAMES)
    assert receipt["witnesses"]["cosignatures"] == 3

    s.witnesses[NAMES[2]].stop()
    second = run(s.submit())
    health = s.wait_witnessed(second.tree_size)
    assert health["http_status"] == 200 and health["status"] == "ok"  # degraded, not down
    receipt = run(s.get_receipt(second.exchange_id))
    verify_receipt(receipt, s.trust)
    assert receipt["witnesses"]["status"] == WITNESSED
    assert s.cosigners(receipt) == sorted(NAMES[:2])
    down = s.wait(
        "the stopped witness failing",
        lambda h: h["witnesses"]["witnesses"][NAMES[2]]["failures"] > 0,
    )
    assert down["witnesses"]["witnesses"][NAMES[2]]["reachable"] is False
    assert "witness_unreachable" not in json.dumps(down["down"])  # not a down worker
    # a pull delivery's receipt carries the cosignatures too
    delivered = run(s.pull_one())
    verify_receipt(delivered, s.trust)
    assert delivered["witnesses"]["status"] == WITNESSED
    assert len(s.cosigners(delivered)) >= QUORUM


def test_the_anchorer_anchors_only_what_a_quorum_cosigned(setup):
    s = setup().start(NAMES[0], anchored=True)
    gateway = s.running.gateway
    assert gateway is not None and gateway.anchorer is not None
    first = run(s.submit())
    s.wait_cosigned(NAMES[0], first.tree_size)
    time.sleep(1.5)  # several anchor intervals: a checkpoint one witness saw is not anchored
    assert gateway.anchorer.anchorer.anchors() == []
    assert gateway.anchorer.covering_anchor(first.tree_size) is None

    s.witnesses[NAMES[1]].start()
    s.wait_witnessed(first.tree_size)
    row = gateway.anchorer.wait_covered(first.tree_size, timeout=DEADLINE)
    assert row is not None, "the witnessed checkpoint was not anchored by the deadline"
    for anchor in gateway.anchorer.anchorer.anchors():
        assert gateway.witnessing is not None
        cosigned = gateway.witnessing.store.lines(DEV_LOG_ORIGIN, anchor.tree_size)
        assert len(set(cosigned) & set(NAMES)) >= QUORUM, (anchor.tree_size, cosigned)


def _metric(s: Setup, name: str) -> float:
    with urllib.request.urlopen(f"{s.running.http_url}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")]
    assert len(values) == 1, text
    return values[0]


def test_two_witnesses_down_then_back_upgrade_the_receipt(setup, caplog):
    caplog.set_level(logging.INFO, logger="gateway.witness.collector")
    s = setup().start(lag_alarm_seconds=0.3)
    for name in NAMES[1:]:
        s.witnesses[name].stop()
    # exchanges continue; receipts say they are not yet witnessed
    first = run(s.submit())
    submitted = json.loads(first.receipt_json)
    verify_receipt(submitted, s.trust)
    assert submitted["witnesses"]["status"] == NOT_WITNESSED
    s.wait_cosigned(NAMES[0], first.tree_size)  # the one witness up cosigns, no quorum
    second = run(s.submit())
    assert second.tree_size > first.tree_size
    s.wait_cosigned(NAMES[0], second.tree_size)
    pending = run(s.get_receipt(first.exchange_id))
    verify_receipt(pending, s.trust)
    assert pending["witnesses"] == {"quorum": 2, "cosignatures": 1, "status": NOT_WITNESSED}
    assert "upgraded_from" not in pending
    health = s.health()
    assert health["http_status"] == 200 and health["witnesses"]["witnessed_size"] == 0
    assert health["witnesses"]["lag_entries"] >= second.tree_size
    # a quorum missing for longer than the alarm threshold: one ERROR line and the gauge
    deadline = time.monotonic() + DEADLINE
    while not any("no witness quorum" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, "no alarm line for the missing quorum"
        time.sleep(0.1)
    assert _metric(s, "yrd_witness_quorum_lag_entries") >= second.tree_size

    # the witnesses return: the newest checkpoint (second's) gets its quorum
    for name in NAMES[1:]:
        s.witnesses[name].start()
    s.wait_witnessed(second.tree_size)
    assert _metric(s, "yrd_witness_witnessed_size") >= second.tree_size
    upgraded = run(s.get_receipt(first.exchange_id))
    verified = verify_receipt(upgraded, s.trust)
    assert upgraded["witnesses"]["status"] == WITNESSED
    assert upgraded["tree_size"] >= second.tree_size > first.tree_size
    assert len(s.cosigners(upgraded)) >= QUORUM
    origin = upgraded["upgraded_from"]
    assert origin["tree_size"] == first.tree_size
    old = verify_checkpoint(origin["checkpoint"], s.log_key, DEV_LOG_ORIGIN)
    assert (
        old.size == first.tree_size
        and old.root == verify_receipt(submitted, s.trust).checkpoint.root
    )
    merkle.verify_consistency(
        old.size,
        verified.tree_size,
        [bytes.fromhex(p) for p in origin["consistency_proof"]],
        old.root,
        verified.checkpoint.root,
    )
    # an explicit tree size keeps its meaning: that checkpoint, not upgraded
    asked = run(s.get_receipt(first.exchange_id, tree_size=first.tree_size))
    assert asked["tree_size"] == first.tree_size and "upgraded_from" not in asked
    assert asked["witnesses"]["status"] == NOT_WITNESSED


def test_a_witness_killed_and_restarted_keeps_its_checkpoint(setup):
    s = setup().start()
    first = run(s.submit())
    s.wait_cosigned(NAMES[0], first.tree_size)
    killed = s.witnesses[NAMES[0]]
    status, before = killed.latest()
    assert status == 200
    assert verify_checkpoint(before, s.log_key, DEV_LOG_ORIGIN).size >= first.tree_size
    killed.stop(signal.SIGKILL)
    killed.start()
    status, after = killed.latest()
    assert status == 200
    assert verify_checkpoint(after, s.log_key, DEV_LOG_ORIGIN).size >= first.tree_size
    # the collector goes on from there with a consistency proof: no rollback, no evidence
    second = run(s.submit())
    s.wait_cosigned(NAMES[0], second.tree_size)
    status, latest = killed.latest()
    assert verify_checkpoint(latest, s.log_key, DEV_LOG_ORIGIN).size >= second.tree_size
    with urllib.request.urlopen(f"{killed.url}/evidence", timeout=10) as reply:
        assert json.loads(reply.read()) == []
    receipt = run(s.get_receipt(second.exchange_id))
    assert NAMES[0] in s.cosigners(receipt)


def test_a_cosignature_that_does_not_verify_is_ignored(setup):
    s = setup(wrong_key_for=NAMES[2]).start()
    first = run(s.submit())
    s.wait_witnessed(first.tree_size)
    health = s.wait(
        "the mislisted witness refused",
        lambda h: h["witnesses"]["witnesses"][NAMES[2]]["last_error"] is not None,
    )
    assert (
        "verifies with its registry key" in health["witnesses"]["witnesses"][NAMES[2]]["last_error"]
    )
    receipt = run(s.get_receipt(first.exchange_id))
    assert receipt["witnesses"]["cosignatures"] == 2
    assert s.cosigners(receipt) == sorted(NAMES[:2])


def test_the_store_reads_use_their_indexes(tmp_path):
    store = WitnessStore(tmp_path / "gateway.db")
    statements: list[str] = []
    store._open().raw.set_trace_callback(statements.append)
    for size in range(1, 20):
        for name in NAMES[: 1 + size % 3]:
            store.add("o", size, name, f"— {name} line{size}")
    assert store.lines("o", 5) == {n: f"— {n} line5" for n in NAMES[:3]}
    assert store.newest_with_quorum("o", 3, NAMES, 3) == 17
    assert store.newest_with_quorum("o", 18, NAMES, 3) is None
    assert store.newest_size("o", NAMES[2]) == 17
    assert not store.add("o", 5, NAMES[0], "— another line")  # the first is kept
    store.close()
    reads = {s for s in statements if s.startswith("SELECT")}
    assert len(reads) == 5  # lines (and the newest size), newest_with_quorum twice, newest_size
    with contextlib.closing(sqlite3.connect(tmp_path / "gateway.db")) as conn:
        assert {s: table_scans(conn, s) for s in reads} == {s: [] for s in reads}


def test_may_hold_skips_reads_only_for_sizes_no_witness_can_have_cosigned(tmp_path):
    """The fast path of a receipt just issued: ``may_hold`` says False only for a size above
    every stored one, as of this store's own writes and a read at most hint_seconds old; a
    write by another process (another store on the same file) shows once the read is stale."""
    now = [100.0]
    store = WitnessStore(tmp_path / "gateway.db", hint_seconds=1.0, clock=lambda: now[0])
    other = WitnessStore(tmp_path / "gateway.db")
    try:
        assert store.may_hold("o", 1)  # never read: unknown
        assert store.lines("o", 1) == {}  # the read: nothing stored
        assert not store.may_hold("o", 1)
        store.add("o", 5, NAMES[0], "— a 5")
        assert store.may_hold("o", 5) and store.may_hold("o", 3) and not store.may_hold("o", 6)
        other.add("o", 9, NAMES[1], "— b 9")  # not seen by this store yet
        assert not store.may_hold("o", 9)
        now[0] += 1.5  # the read is stale: everything may be held
        assert store.may_hold("o", 9) and store.may_hold("o", 10**9)
        assert store.lines("o", 9) == {NAMES[1]: "— b 9"}  # and the read learns size 9
        assert store.may_hold("o", 9) and not store.may_hold("o", 10)
        assert store.may_hold("other origin", 1)
    finally:
        store.close()
        other.close()


def test_the_postgresql_migration_is_the_sqlite_table(pg_url, tmp_path):
    """0004_witness.sql and gateway.db's table stay one schema (columns in order, the same
    indexes), and the store answers the same on both."""
    import psycopg

    stores = [WitnessStore(pg_url), WitnessStore(tmp_path / "gateway.db")]
    try:
        for store in stores:
            for size in (3, 4):
                for name in NAMES[: size - 1]:
                    assert store.add("o", size, name, f"— {name} {size}")
        assert {store.newest_with_quorum("o", 0, NAMES, 3) for store in stores} == {4}
        assert {store.newest_size("o", NAMES[2]) for store in stores} == {4}
    finally:
        for store in stores:
            store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "gateway.db")) as conn:
        lite = [r[1] for r in conn.execute("PRAGMA table_info(witness_cosignatures)")]
        lite_indexes = {r[1] for r in conn.execute("PRAGMA index_list(witness_cosignatures)")}
    with psycopg.connect(pg_url) as conn:
        pg = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'witness_cosignatures' ORDER BY ordinal_position"
            )
        ]
        pg_indexes = {
            r[0]
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'witness_cosignatures'"
            )
        }
    assert pg == lite == ["origin", "tree_size", "witness", "line", "cosigned_at"]
    assert "witness_cosignatures_witness" in lite_indexes & pg_indexes


def test_web_receipts_and_the_trust_file_carry_the_witnesses(setup):
    s = setup()
    gw = s.start_web()
    gw.gateway.cases.accounts.create(
        "clerk", PASSWORD, role=Role.CLERK, display_name="窗口", city="suzhou"
    )
    clerk = sign_in(gw.http_url, "clerk", PASSWORD)
    try:
        case = submit_case(clerk)
        exchange_id = case["timeline"][0]["exchange_id"]
        first = clerk.get(f"/api/receipts/{exchange_id}.json").json()
        s.wait_witnessed(first["tree_size"])
        receipt = clerk.get(f"/api/receipts/{exchange_id}.json").json()
        trust = TrustStore.load(clerk.get("/api/trust.json").content)
        audited = clerk.get(f"/api/audit/exchanges/{exchange_id}").json()
        case_audit = clerk.get(f"/api/audit/cases/{case['number']}/exchanges").json()
    finally:
        clerk.close()
    assert sorted(w.name for w in trust.witnesses) == sorted(NAMES)
    verify_receipt(receipt, trust)
    assert receipt["witnesses"]["status"] == WITNESSED
    valid, _ = verify_cosignatures(receipt["checkpoint"], trust.witnesses)
    assert len(valid) >= QUORUM
    # the audit page's witness check counts them against the registry's quorum
    for verification in (audited["verification"], case_audit["exchanges"][0]):
        check = next(c for c in verification["checks"] if c["check"] == "witnesses")
        assert check["status"] == "pass", check
        assert f"法定数 {QUORUM}" in check["detail"]
