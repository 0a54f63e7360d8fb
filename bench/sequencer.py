"""The elected sequencer on PostgreSQL alone vs the in-process SQLite MerkleLog, same run.

    .venv/bin/python bench/sequencer.py [--entries 100000] [--rounds 3] [--batch-max 4096]

Entries are gateway-shaped: real exchange log entries (``gateway.exchange.entry``, about
800 bytes of canonical JSON), each with its exchange id as the idempotency key.

- ``postgresql``: a client first fills the durable queue (``ledger_queue``, COPY, untimed);
  then one :class:`ledger.log.pg.Sequencer` (in this process, its own connection) takes the
  lock, opens the log and drains the queue: claim, hash, sign one checkpoint per batch,
  commit leaves + subtree hashes + checkpoint + queue deletion in one transaction. Timed from
  leading until the head reaches N. The cluster is durable (fsync and synchronous_commit on).
  ``pg-serial`` is the same without the pipelined store (each batch written before the next
  is hashed), for comparison. The CPU of the PostgreSQL server's processes is measured too
  (from /proc): on a 2-core machine the sequencer and its server share the same cores.
- ``sqlite``: ``MerkleLog`` over ``SQLiteStore`` (WAL, synchronous=FULL), the same entries
  and keys handed over in ``--batch-max`` chunks, a few in flight.

Rounds alternate the order. Prints ranges and the ratio; writes bench/results/sequencer.json.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from bench._common import process_cpu_seconds, process_tree, write_results
from gateway.exchange.entry import exchange_entry
from ledger.crypto import PrivateKey
from ledger.log import MerkleLog, SQLiteStore
from ledger.log.pg import PgLogStore, Sequencer
from ledger.pg.migrations import migrate_ledger
from tests.pg import throwaway_cluster

ORIGIN = "bench.yrd/log"
KEY = PrivateKey.generate()
WINDOW = 4


def _entry(i: int) -> tuple[str, bytes]:
    digest = hashlib.sha256(i.to_bytes(8, "big")).digest()
    exchange_id = f"ex-{i:012d}-{digest[:6].hex()}"
    entry = exchange_entry(
        exchange_id=exchange_id, kind="status_update", sender="310000:ORG-SH-0001",
        recipient="330000:ORG-ZJ-0002", matter="matter-" + digest[6:14].hex(),
        envelope_sm3=digest, payload_sm3=digest[::-1], signature_sm3=digest,
        signer_key_id=digest.hex(), received_at=datetime(2026, 1, 1, tzinfo=UTC),
        canonical_sm3=digest, delivered_sm3=digest[::-1], source_dialect="sh-xml/2",
        target_dialect="zj-json/1", relayed=False, channel="grpc",
    )  # fmt: skip
    return exchange_id, entry


def run_sqlite(entries: list[tuple[str, bytes]], batch_max: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        log = MerkleLog(SQLiteStore(Path(tmp) / "log.db"), KEY, ORIGIN, batch_max=batch_max)
        start, cpu = time.perf_counter(), time.process_time()
        futures = []
        for s in range(0, len(entries), batch_max):
            chunk = entries[s : s + batch_max]
            futures.append(log.append_batch_async([e for _, e in chunk], [k for k, _ in chunk]))
            if len(futures) >= WINDOW:
                futures.pop(0).result()
        for f in futures:
            f.result()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert log.size == len(entries)
        log.close()
    return {"entries_per_s": len(entries) / wall, "cpu_ms_per_entry": 1000 * cpu / len(entries)}


def _server_cpu(postmaster: int) -> dict[int, float]:
    out = {}
    for pid in process_tree(postmaster):
        try:
            out[pid] = process_cpu_seconds(pid)
        except OSError:
            continue
    return out


def run_pg(
    url: str, postmaster: int, entries: list[tuple[str, bytes]], batch_max: int, pipelined: bool
) -> dict[str, float]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS ledger_leaves, ledger_nodes, ledger_checkpoints, "
                     "ledger_heads, ledger_queue, ledger_schema_migrations CASCADE")  # fmt: skip
        conn.execute("DROP FUNCTION IF EXISTS ledger_queue_notify CASCADE")
        migrate_ledger(conn)
        with conn.cursor().copy("COPY ledger_queue (origin, key, entry) FROM STDIN") as copy:
            for key, entry in entries:
                copy.write_row((ORIGIN, key, entry))
        conn.execute("VACUUM ANALYZE ledger_queue")
        seq = Sequencer(url, KEY, ORIGIN, batch_max=batch_max, idle_wait=0.01, pipelined=pipelined)
        stop = threading.Event()
        thread = threading.Thread(target=seq.run, args=(stop,), daemon=True)
        cpu = time.process_time()
        thread.start()
        if not seq.leading.wait(60):
            raise RuntimeError("the sequencer did not lead within 60 s")
        start = time.perf_counter()
        server = _server_cpu(postmaster)
        store = PgLogStore(conn, ORIGIN)
        deadline = start + 600
        while (head := store.head()) is None or head[0] < len(entries):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the sequencer did not drain the queue: {head}")
            time.sleep(0.005)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        after = _server_cpu(postmaster)
        server_cpu = sum(after[p] - server[p] for p in after if p in server)
        stop.set()
        thread.join(60)
        left = conn.execute("SELECT count(*) FROM ledger_queue").fetchone()
        assert left == (0,), left
    return {
        "entries_per_s": len(entries) / wall,
        "cpu_ms_per_entry": 1000 * cpu / len(entries),
        "server_cpu_ms_per_entry": 1000 * server_cpu / len(entries),
        "batches": seq.batches,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-max", type=int, default=4096)
    args = parser.parse_args()
    entries = [_entry(i) for i in range(args.entries)]
    size = sum(len(e) for _, e in entries) / len(entries)
    rows: dict[str, list[dict[str, float]]] = {"sqlite": [], "postgresql": [], "pg-serial": []}
    with throwaway_cluster(durable=True) as cluster:
        url = cluster.url()
        pid_file = cluster.socket_dir / "data" / "postmaster.pid"
        postmaster = int(pid_file.read_text().split()[0])
        for r in range(args.rounds):
            order = list(rows) if r % 2 == 0 else list(rows)[::-1]
            for backend in order:
                if backend == "sqlite":
                    rows[backend].append(run_sqlite(entries, args.batch_max))
                else:
                    pipelined = backend == "postgresql"
                    rows[backend].append(
                        run_pg(url, postmaster, entries, args.batch_max, pipelined)
                    )
    print(f"{args.entries} entries of {size:.0f} bytes, batch_max {args.batch_max}, "
          f"{args.rounds} rounds")  # fmt: skip
    print(f"{'backend':<12}{'entries/s (min-max)':>26}{'CPU ms/entry (min-max)':>26}")
    for backend, runs in rows.items():
        rates = sorted(x["entries_per_s"] for x in runs)
        cpus = sorted(x["cpu_ms_per_entry"] for x in runs)
        print(f"{backend:<12}{f'{rates[0]:,.0f}-{rates[-1]:,.0f}':>26}"
              f"{f'{cpus[0]:.4f}-{cpus[-1]:.4f}':>26}")  # fmt: skip
    for backend in ("postgresql", "pg-serial"):
        server = sorted(x["server_cpu_ms_per_entry"] for x in rows[backend])
        print(f"{backend} server CPU ms/entry (its processes alive during the run): "
              f"{server[0]:.4f}-{server[-1]:.4f}")  # fmt: skip
    ratios = sorted(
        p["entries_per_s"] / s["entries_per_s"]
        for p, s in zip(rows["postgresql"], rows["sqlite"], strict=True)
    )
    print(f"postgresql / sqlite, per round: {ratios[0]:.2f}-{ratios[-1]:.2f}")
    path = write_results(
        "sequencer",
        {"entries": args.entries, "entry_bytes": size, "batch_max": args.batch_max,
         "rounds": rows, "pg_over_sqlite": ratios},
    )  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
