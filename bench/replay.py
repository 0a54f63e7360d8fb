"""The identity replay guard's claims per second on SQLite and on PostgreSQL, side by side.

    .venv/bin/python bench/replay.py [--seconds 3] [--threads 4] [--rounds 3]

Each round runs both backends one after the other (the order alternates): ``--threads``
threads claim fresh assertion ids for ``--seconds``, each claim one statement as in the
gateway. SQLite: a file in a temporary directory (WAL, synchronous=FULL). PostgreSQL: a
throwaway local cluster (tests/pg.py) with fsync and synchronous commit ON, reached over its
unix socket, pool of ``--threads`` connections. Client CPU per claim is this process's CPU
(all threads); the PostgreSQL server's own CPU is not in it. Writes bench/results/replay.json.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine, write_results
from gateway.identity.replay_pg import open_replay_guard
from gateway.storage import PoolSettings
from tests.pg import throwaway_cluster


def run(database: str, seconds: float, threads: int, tag: str) -> dict[str, float]:
    guard = open_replay_guard(database, PoolSettings(min_size=threads, max_size=threads))
    counter = itertools.count()
    done = [0] * threads
    start = threading.Barrier(threads + 1)

    def worker(n: int) -> None:
        start.wait(30)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            now = time.time()
            guard.claim("iss", f"{tag}-{next(counter)}", recognition_id="r", now=now,
                        expires_at=now + 600)  # fmt: skip
            done[n] += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    start.wait(30)
    for t in pool:
        t.join(seconds + 60)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    guard.close()
    claims = sum(done)
    return {"claims_per_s": claims / wall, "client_cpu_ms_per_claim": 1000 * cpu / claims}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[dict[str, float]]] = {"sqlite": [], "postgresql": []}
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster(durable=True) as cluster:
        urls = {"sqlite": str(Path(tmp) / "gateway.db"), "postgresql": cluster.url()}
        for r in range(args.rounds):
            order = ["sqlite", "postgresql"] if r % 2 == 0 else ["postgresql", "sqlite"]
            for backend in order:
                rows[backend].append(run(urls[backend], args.seconds, args.threads, f"{r}"))
    print(f"{args.threads} threads, {args.seconds} s x {args.rounds} rounds")
    print(f"{'backend':<12}{'claims/s (min-max)':>24}{'client CPU ms/claim':>24}")
    for backend, runs in rows.items():
        rates = sorted(x["claims_per_s"] for x in runs)
        cpus = sorted(x["client_cpu_ms_per_claim"] for x in runs)
        print(f"{backend:<12}{f'{rates[0]:,.0f}-{rates[-1]:,.0f}':>24}"
              f"{f'{cpus[0]:.3f}-{cpus[-1]:.3f}':>24}")  # fmt: skip
    ratio = [
        p["claims_per_s"] / s["claims_per_s"]
        for p, s in zip(rows["postgresql"], rows["sqlite"], strict=True)
    ]
    print(f"postgresql / sqlite claims/s, per round: {', '.join(f'{x:.2f}x' for x in ratio)}")
    write_results("replay", {"machine": machine(), "args": vars(args), "runs": rows})


if __name__ == "__main__":
    main()
