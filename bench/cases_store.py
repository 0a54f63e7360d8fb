"""The case store's write-and-read cycle per second on SQLite and on PostgreSQL, side by side.

    .venv/bin/python bench/cases_store.py [--seconds 3] [--threads 4] [--rounds 3]

One cycle is what the case service asks of its store for one case: stage an upload (64 KiB
of sealed bytes), journal the submission's intent, apply it (the case, its material, its
first event), journal and apply one step, then read the case back (case, events,
materials) and a page of the case list. ``--threads`` threads run cycles on their own cases
for ``--seconds``. Each round runs both backends on a fresh database, one after the other
(the order alternates). SQLite: ``cases.db`` in a temporary directory (WAL,
synchronous=FULL). PostgreSQL: a throwaway local cluster (tests/pg.py) with fsync and
synchronous commit ON, over its unix socket, one connection per thread. Client CPU per cycle
is this process's CPU (all threads), not the PostgreSQL server's. Writes
bench/results/cases_store.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine, write_results
from gateway.cases.accounts import Account, Role
from gateway.cases.store import CASE_COLUMNS, CaseStore
from gateway.cases.views import CaseViews
from gateway.workdays import WorkdayCalendar
from tests.pg import throwaway_cluster

SEALED = os.urandom(64 * 1024)
NOW = datetime.fromisoformat("2027-03-01T10:00:00+08:00")
AUDITOR = Account("auditor", Role.AUDITOR, "审计")


def _event(case_id: str, exchange_id: str, seq_status: str) -> dict[str, Any]:
    return {
        "case_id": case_id, "transition": seq_status, "status_after": seq_status,
        "at": "2027-03-01T09:00:00+08:00", "actor": "窗口", "note": None,
        "exchange_id": exchange_id, "kind": "case.status", "sender": "zj", "recipient": "js",
        "leaf_index": 1, "tree_size": 2, "receipt": "{}",
    }  # fmt: skip


def cycle(store: CaseStore, views: CaseViews, case_id: str) -> None:
    row = {c: "x" for c in CASE_COLUMNS}
    row.update(
        case_id=case_id, number=f"N-{case_id}", receiving_city="jiaxing", window_region="ZJ",
        handling_region="JS", status="submitted", applicant_sealed=SEALED[:256].hex(),
        promised_limit=json.dumps({"value": 5, "unit": "working_days"}),
        submitted_at="2027-03-01T09:00:00+08:00", accepted_on=None, deadline="2027-03-08",
        deadline_missing_years=None, finished_on=None, rating=None, rating_comment=None,
    )  # fmt: skip
    store.insert_upload({"upload_id": f"u-{case_id}", "city": "jiaxing", "filename": "a.pdf",
                         "content_type": "application/pdf", "size": len(SEALED), "sm3": "ab",
                         "sealed": SEALED, "created_at": time.time()})  # fmt: skip
    create = {
        "create": row,
        "materials": [{"upload_id": f"u-{case_id}", "material_id": "m1", "name": "n"}],
    }
    store.add_intent(f"s-{case_id}", case_id, create, b"signed", "clerk", time.time())
    assert store.apply(f"s-{case_id}", create, _event(case_id, f"s-{case_id}", "submitted"))
    step = {"case_id": case_id, "from": "submitted", "set": {"status": "accepted"}}
    store.add_intent(f"a-{case_id}", case_id, step, b"signed", "clerk", time.time())
    assert store.apply(f"a-{case_id}", step, _event(case_id, f"a-{case_id}", "accepted"))
    assert store.case(case_id) is not None
    assert len(store.events(case_id)) == 2 and len(store.materials(case_id)) == 1
    views.search(AUDITOR, page=1, size=20)


def run(database: str, seconds: float, threads: int, tag: str) -> dict[str, float]:
    store = CaseStore(database)
    calendar = WorkdayCalendar.load()
    views = CaseViews(store, lambda: NOW, lambda: calendar)
    counter = itertools.count()
    done = [0] * threads
    start = threading.Barrier(threads + 1)

    def worker(n: int) -> None:
        start.wait(30)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            cycle(store, views, f"{tag}-{next(counter)}")
            done[n] += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    start.wait(30)
    for t in pool:
        t.join(seconds + 120)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    store.close()
    cycles = sum(done)
    return {"cycles_per_s": cycles / wall, "client_cpu_ms_per_cycle": 1000 * cpu / cycles}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[dict[str, float]]] = {"sqlite": [], "postgresql": []}
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster(durable=True) as cluster:
        for r in range(args.rounds):
            urls = {"sqlite": str(Path(tmp) / f"cases-{r}.db"),
                    "postgresql": cluster.url(cluster.create_database())}  # fmt: skip
            order = ["sqlite", "postgresql"] if r % 2 == 0 else ["postgresql", "sqlite"]
            for backend in order:
                rows[backend].append(run(urls[backend], args.seconds, args.threads, f"{r}"))
    print(f"{args.threads} threads, {args.seconds} s x {args.rounds} rounds")
    print(f"{'backend':<12}{'cycles/s (min-max)':>24}{'client CPU ms/cycle':>24}")
    for backend, runs in rows.items():
        rates = sorted(x["cycles_per_s"] for x in runs)
        cpus = sorted(x["client_cpu_ms_per_cycle"] for x in runs)
        print(f"{backend:<12}{f'{rates[0]:,.0f}-{rates[-1]:,.0f}':>24}"
              f"{f'{cpus[0]:.2f}-{cpus[-1]:.2f}':>24}")  # fmt: skip
    ratio = [
        p["cycles_per_s"] / s["cycles_per_s"]
        for p, s in zip(rows["postgresql"], rows["sqlite"], strict=True)
    ]
    print(f"postgresql / sqlite cycles/s, per round: {', '.join(f'{x:.2f}x' for x in ratio)}")
    write_results("cases_store", {"machine": machine(), "args": vars(args), "runs": rows})


if __name__ == "__main__":
    main()
