"""Durable Merkle log throughput and proof costs, side by side with two baselines.

    .venv/bin/python bench/log.py [--sizes 10000,100000,1000000] [--pymerkle-max 100000]
                                  [--gateway-entries 20000]

For each size N, in a fresh subprocess (so peak RSS belongs to that size alone):

- raw SM3 leaf hashing of the same N entries (the floor: no tree, no disk);
- our log: durable batched appends/s (SQLite WAL, synchronous=FULL, one signed checkpoint
  per batch), inclusion- and consistency-proof generation time, verification time;
- pymerkle's SqliteTree (SHA-256; it has no SM3) on the same entries, up to --pymerkle-max.

Then, in the same run and a fresh subprocess, a gateway-shaped case: entries arrive about 10
per batch (a group of 10 submitted at once, the next when it is durable: the gateway's commit
path sees about 9 per batch under 32 concurrent Submits), each through the gateway's unit of
work (``gateway.exchange.unit``: the exchange row with a 1 KiB envelope, its canonical and
delivered copies, the sender nonce and the pending entry staged in ``gateway.db``, the entry
appended to ``log.db`` with an inclusion proof, then the row finished and the outbox row
written). Its entries/s is printed as a ratio of the bulk append rate above, with its CPU per
entry: the cost per exchange of the log and the gateway's rows, which bulk appends hide.

Prints a table with ratios and writes bench/results/log.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import write_results

ENTRY_SIZE = 256
PROOF_SAMPLES = 300
CHUNK = 8192  # entries per append_batch call (as a bulk SubmitStream would hand over)
WINDOW = 4  # batches in flight, so hashing the next overlaps the fsync of the last


_BLOB = random.Random(42).randbytes(ENTRY_SIZE)


def _entry(i: int) -> bytes:
    """Entry i, made on demand so the benchmark itself holds no O(n) data."""
    return i.to_bytes(8, "big") + _BLOB[8:]


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield [_entry(i) for i in range(start, min(n, start + size))]


def _ms(seconds: float) -> float:
    return seconds * 1000


def measure_one(n: int, with_pymerkle: bool) -> dict:
    from ledger import merkle
    from ledger.crypto import PrivateKey, sm3
    from ledger.log import MerkleLog, SQLiteStore

    out: dict = {"size": n}
    start = time.perf_counter()
    for chunk_entries in _chunks(n, CHUNK):
        for entry in chunk_entries:
            sm3(b"\x00" + entry)
    out["raw_sm3_per_s"] = n / (time.perf_counter() - start)

    rnd = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        log = MerkleLog(
            SQLiteStore(Path(tmp) / "log.db"), PrivateKey.generate(), "bench/log", batch_max=8192
        )
        start, cpu = time.perf_counter(), time.process_time()
        in_flight = []
        for chunk_entries in _chunks(n, CHUNK):
            in_flight.append(log.append_batch_async(chunk_entries))
            if len(in_flight) >= WINDOW:
                in_flight.pop(0).result()
        for future in in_flight:
            future.result()
        elapsed = time.perf_counter() - start
        out["appends_per_s"] = n / elapsed
        out["append_cpu_ms_per_entry"] = 1000 * (time.process_time() - cpu) / n
        out["batches"] = log.batches
        indexes = [rnd.randrange(n) for _ in range(PROOF_SAMPLES)]
        start = time.perf_counter()
        proofs = [log.inclusion_proof(i, n) for i in indexes]
        out["inclusion_proof_ms"] = _ms((time.perf_counter() - start) / PROOF_SAMPLES)
        olds = [rnd.randrange(1, n) for _ in range(PROOF_SAMPLES)]
        start = time.perf_counter()
        cproofs = [log.consistency_proof(o, n) for o in olds]
        out["consistency_proof_ms"] = _ms((time.perf_counter() - start) / PROOF_SAMPLES)
        root = log.latest_root()
        start = time.perf_counter()
        for i, proof in zip(indexes, proofs, strict=True):
            merkle.verify_inclusion(merkle.leaf_hash(_entry(i)), i, n, proof, root)
        out["verify_inclusion_ms"] = _ms((time.perf_counter() - start) / PROOF_SAMPLES)
        old_roots = [log.root(o) for o in olds[:50]]
        start = time.perf_counter()
        for o, proof, old_root in zip(olds[:50], cproofs[:50], old_roots, strict=True):
            merkle.verify_consistency(o, n, proof, old_root, root)
        out["verify_consistency_ms"] = _ms((time.perf_counter() - start) / 50)
        out["db_bytes"] = sum(p.stat().st_size for p in Path(tmp).iterdir())
        log.close()
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    if with_pymerkle:
        from pymerkle import SqliteTree

        with tempfile.TemporaryDirectory() as tmp:
            tree = SqliteTree(str(Path(tmp) / "pm.db"), algorithm="sha256")
            start = time.perf_counter()
            for chunk_entries in _chunks(n, CHUNK):
                tree.append_entries(chunk_entries)
            out["pymerkle_appends_per_s"] = n / (time.perf_counter() - start)
            samples = indexes[:50]
            start = time.perf_counter()
            for i in samples:
                tree.prove_inclusion(i + 1, n)  # pymerkle is 1-based
            out["pymerkle_inclusion_proof_ms"] = _ms((time.perf_counter() - start) / len(samples))
            start = time.perf_counter()
            for o in olds[:50]:
                tree.prove_consistency(o, n)
            out["pymerkle_consistency_proof_ms"] = _ms((time.perf_counter() - start) / 50)
            tree.close()
    return out


GATEWAY_GROUP = 10  # entries submitted together: about one batch
GATEWAY_GROUPS_IN_FLIGHT = 1


def measure_gateway_shaped(n: int) -> dict:
    """Appends/s of ``n`` entries shaped like the gateway's commits (see the docstring)."""
    from gateway.exchange.store import GatewayStore
    from gateway.exchange.unit import ExchangeWriter, Staged
    from ledger.crypto import PrivateKey
    from ledger.log import MerkleLog, SQLiteStore

    envelope = random.Random(3).randbytes(1024)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "gateway.db"
        log = MerkleLog(SQLiteStore(Path(tmp) / "log.db"), PrivateKey.generate(), "bench/log")
        rows = GatewayStore(db)  # the gateway's rows in their own file, as compose makes it
        writer = ExchangeWriter(db, log)  # the unit of work: stage, append, finish

        def submit(i: int):
            exchange_id = f"bench-{i:012d}"
            row = {
                "exchange_id": exchange_id,
                "envelope": envelope,
                "signature": envelope[:71],
                "key_id": "k" * 64,
                "envelope_sm3": envelope[:32],
                "sender": "SH/310000000000000001",
                "recipient": "ZJ/330000000000000001",
                "kind": "case.status",
                "matter": "",
                "canonical": envelope.hex()[:1024],
                "received_at": time.time(),
                "in_reply_to": "",
                "delivered": envelope,
                "delivered_dialect": "zj-json/1",
                "delivered_content_type": "application/json",
            }
            staged = Staged(row=row, nonce=i.to_bytes(16, "big"), entry=_entry(i), mode="pull")
            return writer.commit(staged)

        start, cpu = time.perf_counter(), time.process_time()
        groups: list[list] = []
        for first in range(0, n, GATEWAY_GROUP):
            groups.append([submit(i) for i in range(first, min(n, first + GATEWAY_GROUP))])
            if len(groups) >= GATEWAY_GROUPS_IN_FLIGHT:
                for future in groups.pop(0):
                    future.result(60)
        for group in groups:
            for future in group:
                future.result(60)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
        out = {
            "cpu_ms_per_entry": 1000 * cpu / n,
            "entries": n,
            "appends_per_s": n / elapsed,
            "batches": log.batches,
            "entries_per_batch": n / max(1, log.batches),
            "ms_per_entry": 1000 * elapsed / n,
        }
        rows.close()
        log.close()
        writer.close()
    return out


def _subprocess_json(cmd: list[str]) -> dict:
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--pymerkle-max", type=int, default=100_000)
    parser.add_argument(
        "--gateway-entries", type=int, default=20_000, help="entries in the gateway-shaped case"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--with-pymerkle", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--gateway-shaped", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.with_pymerkle)))
        return
    if args.gateway_shaped:
        print(json.dumps(measure_gateway_shaped(args.gateway_shaped)))
        return
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--one", str(n)]
        if n <= args.pymerkle_max:
            cmd.append("--with-pymerkle")
        rows.append(_subprocess_json(cmd))
        row = rows[-1]
        print(
            f"N={n:>8}: appends/s {row['appends_per_s']:>9.0f} "
            f"(raw SM3 {row['raw_sm3_per_s']:>9.0f}/s, ratio "
            f"{row['appends_per_s'] / row['raw_sm3_per_s']:.2f}x)"
            + (
                f", pymerkle {row['pymerkle_appends_per_s']:>7.0f}/s "
                f"(ours {row['appends_per_s'] / row['pymerkle_appends_per_s']:.1f}x)"
                if "pymerkle_appends_per_s" in row
                else ""
            )
        )
        print(
            f"            inclusion proof {row['inclusion_proof_ms']:.3f} ms, consistency "
            f"{row['consistency_proof_ms']:.3f} ms, verify {row['verify_inclusion_ms']:.3f}/"
            f"{row['verify_consistency_ms']:.3f} ms, peak RSS {row['peak_rss_mb']:.0f} MB, "
            f"batches {row['batches']}"
            + (
                f"; pymerkle proofs {row['pymerkle_inclusion_proof_ms']:.3f}/"
                f"{row['pymerkle_consistency_proof_ms']:.3f} ms"
                if "pymerkle_inclusion_proof_ms" in row
                else ""
            )
        )
    shaped = _subprocess_json(
        [sys.executable, __file__, "--gateway-shaped", str(args.gateway_entries)]
    )
    shaped["vs_bulk"] = shaped["appends_per_s"] / rows[0]["appends_per_s"]
    print(
        f"gateway-shaped ({shaped['entries']} entries, {shaped['entries_per_batch']:.1f} per "
        f"batch, through the unit of work, a proof each): {shaped['appends_per_s']:.0f}/s, "
        f"{shaped['ms_per_entry']:.3f} ms wall and {shaped['cpu_ms_per_entry']:.3f} ms CPU per "
        f"entry; {shaped['vs_bulk']:.3f}x the bulk rate at "
        f"N={rows[0]['size']} ({rows[0]['appends_per_s']:.0f}/s, "
        f"{rows[0]['append_cpu_ms_per_entry']:.3f} ms CPU per entry, {CHUNK} per call)"
    )
    payload = {"entry_bytes": ENTRY_SIZE, "rows": rows, "gateway_shaped": shaped}
    print(f"wrote {write_results('log', payload)}")


if __name__ == "__main__":
    main()
