"""Replay protection for province assertions: each assertion is recognised once.

End to end over the gateway's mTLS gRPC with the province simulators on loopback, for every
identity format in the catalogue; and the claim table itself under threads and two
processes on one database (the scale-out design runs several front ends on one database),
on both backends: a SQLite file and a throwaway PostgreSQL cluster (tests/pg.py).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import psycopg
import pytest

from gateway.errors import StorageError
from gateway.identity.replay import ReplayGuard
from gateway.identity.replay_pg import PgReplayGuard, open_replay_guard
from gateway.rpc.status import reason_of
from tests.gateway.identity_world import IDENTITY_REGIONS, World, assertion_id_of


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("gw-replay"), revocations=False)
    yield w
    w.stop()


async def _refusal(world, region, data) -> grpc.aio.AioRpcError:
    size = world.gw.gateway.log.size
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await world.recognize(region, data)
    assert world.gw.gateway.log.size == size, "a refusal must write nothing to the log"
    return info.value


@pytest.mark.parametrize("region", IDENTITY_REGIONS)
async def test_second_presentation_is_refused_replay(world, region):
    data = world.issue(region)
    first = await world.recognize(region, data)
    assert first.recognition_id

    error = await _refusal(world, region, data)
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS, error.details()
    assert reason_of(error) == "replay"
    details = error.details()
    assert details.startswith("replay: assertion ") and "already accepted at 20" in details
    assert assertion_id_of(region, data) in details
    # a fresh assertion of the same person is fine
    assert (await world.recognize(region, world.issue(region))).recognition_id


@pytest.mark.parametrize("region", IDENTITY_REGIONS)
async def test_concurrent_presentations_exactly_one_wins(world, region):
    data = world.issue(region)
    size = world.gw.gateway.log.size

    async def present() -> str:
        try:
            await world.recognize(region, data)
            return "ok"
        except grpc.aio.AioRpcError as exc:
            return reason_of(exc) or str(exc.code())

    outcomes = await asyncio.wait_for(asyncio.gather(*(present() for _ in range(12))), 60)
    assert sorted(outcomes) == ["ok"] + ["replay"] * 11
    assert world.gw.gateway.log.size == size + 1


async def test_refused_assertion_is_not_burnt(world):
    """Claiming is the last check: an assertion refused for the matter's level is not
    remembered (the same bytes are recognised once the level requirement is gone)."""
    region = IDENTITY_REGIONS[0]
    fmt_low = {
        "JS": ["PWD"],
        "ZJ": ["urn:zjzwfw:ac:classes:Password"],
        "AH": ["02"],
        "SH": ["pwd"],
    }
    assert region in fmt_low, f"{region}: name its low-level method code here"
    data = world.issue(region, methods=fmt_low[region])
    async with world.gw.client("SH") as client:
        from gateway.pb.yrd.v1 import identity_pb2, identity_pb2_grpc
        from tests.gateway.identity_world import REGION_PB

        stub = identity_pb2_grpc.IdentityStub(client.channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Recognize(
                identity_pb2.RecognizeRequest(
                    province=REGION_PB[region],
                    assertion=data,
                    minimum_level=identity_pb2.ASSURANCE_LEVEL_HIGH,
                )
            )
    assert reason_of(info.value) == "level_too_low"
    assert (await world.recognize(region, data)).recognition_id


@pytest.mark.embedded_log("injects a full disk into the SQLite log store")
async def test_log_failure_releases_the_claim(world):
    """If the log cannot commit (the store's disk is full, injected as in
    tests/adversarial/test_fault_injection.py), the claim is released: once the fault is
    gone the same assertion is recognised."""
    region = IDENTITY_REGIONS[-1]
    data = world.issue(region)
    store = world.gw.gateway.log.store

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    store.commit = full
    store.probe = full
    try:
        error = await _refusal(world, region, data)
    finally:
        del store.commit
        del store.probe
    assert reason_of(error) == "unavailable", error.details()
    assert "could not commit" in error.details()
    deadline = time.monotonic() + 20
    while True:  # the log heals by itself (its probe); until then a try is refused alike
        try:
            assert (await world.recognize(region, data)).recognition_id
            break
        except grpc.aio.AioRpcError as exc:
            assert reason_of(exc) == "unavailable", exc.details()
            assert time.monotonic() < deadline, "the log did not heal"
            await asyncio.sleep(0.1)


# -- the claim table ------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Iterator[str]:
    """Where the claims live: the gateway's SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "gateway.db")
        return
    cluster = request.getfixturevalue("pg_cluster")
    name = cluster.create_database()
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


def test_the_url_chooses_the_backend(database):
    guard = open_replay_guard(database)
    expected = PgReplayGuard if database.startswith("postgresql://") else ReplayGuard
    assert type(guard) is expected
    guard.close()


def test_claim_release_purge(database):
    guard = open_replay_guard(database)
    now = time.time()
    assert guard.claim("iss", "a1", recognition_id="r1", now=now, expires_at=now + 60).ok
    again = guard.claim("iss", "a1", recognition_id="r2", now=now + 1, expires_at=now + 60)
    assert not again.ok and again.first_seen == now
    # another issuer's id of the same text is another assertion
    assert guard.claim("other", "a1", recognition_id="r3", now=now, expires_at=now + 60).ok
    # only the claim's own recognition releases it
    assert not guard.release("iss", "a1", recognition_id="r2")
    assert guard.release("iss", "a1", recognition_id="r1")
    assert guard.claim("iss", "a1", recognition_id="r4", now=now, expires_at=now + 60).ok
    # an expired, not yet purged claim is taken over; purge drops what has expired
    assert guard.claim("iss", "old", recognition_id="r5", now=now - 100, expires_at=now - 50).ok
    assert guard.claim("iss", "old", recognition_id="r6", now=now, expires_at=now + 5).ok
    assert guard.purge(now + 10) == 1  # "old" (expired at now + 5)
    assert guard.count() == 2
    guard.close()


def test_claim_storage_failure_is_a_storage_error(database):
    guard = open_replay_guard(database)
    if isinstance(guard, PgReplayGuard):
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("DROP TABLE seen_assertions")
        cause: type[Exception] = psycopg.Error
    else:
        guard._conn().execute("DROP TABLE seen_assertions")
        cause = sqlite3.Error
    with pytest.raises(StorageError) as info:
        guard.claim("iss", "a", recognition_id="r", now=1.0, expires_at=2.0)
    assert isinstance(info.value.__cause__, cause)
    assert str(info.value).startswith("claim: database error: ")
    guard.close()


def test_a_claim_on_a_closed_guard_is_a_storage_error(database):
    """After close (a stopping gateway), a late claim is refused as storage, not a driver
    error the identity service would not recognise."""
    guard = open_replay_guard(database)
    assert guard.claim("iss", "a", recognition_id="r", now=1.0, expires_at=2.0).ok
    guard.close()
    with pytest.raises(StorageError, match=r"^claim: database error: "):
        guard.claim("iss", "b", recognition_id="r", now=1.0, expires_at=2.0)


IDS = [f"assertion-{i}" for i in range(150)]


def _contend(path: str, tag: str, start, results) -> None:
    """One process: 4 threads claim every id; report the ids this process won and how many
    claims it made (each process tries every id, whichever process is faster)."""
    guard = open_replay_guard(path)
    won: list[str] = []
    tried = [0]
    lock = threading.Lock()

    def worker(n: int) -> None:
        order = list(IDS)
        random.Random(f"{tag}-{n}").shuffle(order)  # the processes meet on many ids
        for assertion_id in order:
            now = time.time()
            claim = guard.claim(
                "iss", assertion_id, recognition_id=f"{tag}-{n}", now=now, expires_at=now + 600
            )
            with lock:
                tried[0] += 1
                if claim.ok:
                    won.append(assertion_id)

    start.wait(30)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    guard.close()
    results.put((tag, (won, tried[0])))


def test_two_processes_and_threads_on_one_database_one_winner_each(database):
    path = database
    open_replay_guard(path).close()  # the table exists before the race
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(path, t, start, results)) for t in ("p1", "p2")]
    for p in procs:
        p.start()
    got = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    won = got["p1"][0] + got["p2"][0]
    assert sorted(won) == sorted(IDS), "every id won exactly once across both processes"
    # both processes claimed every id from 4 threads: the losers were refused by the database,
    # not by luck of timing (which process wins how many depends on the machine's load)
    assert got["p1"][1] == got["p2"][1] == 4 * len(IDS)
