"""Start-time integrity check of the durable log, side by side with raw SM3 hashing.

    .venv/bin/python bench/log_verify.py [--sizes 10000,100000,1000000]

For each size N, in a fresh subprocess (so peak RSS belongs to that size alone): build a log
of N 256-byte entries with ``MerkleLog.append_many`` (one signed checkpoint per 4096-entry
batch), close it, then time:

- raw SM3: ``merkle.leaf_hash`` over the same N entries plus N - 1 node hashes (the floor:
  what any full check must hash, with no disk);
- full check: ``verify_stored_log(..., all_signatures=True)`` (what ``yrdgw ledger verify``
  does: every entry, every stored subtree, every checkpoint root and signature);
- open: ``MerkleLog(...)`` as a start does it (in full below ``FULL_VERIFY_BELOW`` entries,
  else only what follows the verified-up-to marker), first and second time.

Prints a table with the ratio to raw SM3 and writes bench/results/log_verify.json.
"""

from __future__ import annotations

import argparse
import json
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
CHUNK = 4096


_BLOB = random.Random(7).randbytes(ENTRY_SIZE)


def _entries(start: int, count: int) -> list[bytes]:
    return [i.to_bytes(8, "big") + _BLOB[8:] for i in range(start, start + count)]


def one_size(n: int) -> dict[str, float | int]:
    from ledger import merkle
    from ledger.crypto import PrivateKey
    from ledger.log import MerkleLog, SQLiteStore, verify_stored_log

    key = PrivateKey.generate()
    origin = "bench/log-verify"
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "log.db"
        started = time.perf_counter()
        with MerkleLog(SQLiteStore(db), key, origin, batch_max=CHUNK) as log:
            for start in range(0, n, CHUNK):
                log.append_many(_entries(start, min(CHUNK, n - start)))
        build = time.perf_counter() - started

        sample = _entries(0, 1)[0]
        started = time.perf_counter()
        leaf, node = merkle.leaf_hash, merkle.node_hash
        digest = leaf(sample)
        for _ in range(n):
            digest = node(digest, leaf(sample))
        raw = time.perf_counter() - started

        store = SQLiteStore(db)
        started = time.perf_counter()
        verified = verify_stored_log(store, key.public_key, origin, all_signatures=True)
        full = time.perf_counter() - started
        store.close()
        assert verified.size == n

        times = []
        for _ in range(2):
            started = time.perf_counter()
            MerkleLog(SQLiteStore(db), key, origin).close()
            times.append(time.perf_counter() - started)
    return {
        "entries": n,
        "checkpoints": verified.checkpoints,
        "build_seconds": round(build, 3),
        "raw_sm3_seconds": round(raw, 3),
        "full_check_seconds": round(full, 3),
        "full_check_entries_per_second": round(n / full),
        "ratio_to_raw_sm3": round(full / raw, 2),
        "open_first_seconds": round(times[0], 3),
        "open_second_seconds": round(times[1], 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one)))
        return
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(
            f"{r['entries']:>9} entries: full check {r['full_check_seconds']:7.2f} s "
            f"({r['full_check_entries_per_second']:>7}/s, {r['ratio_to_raw_sm3']}x raw SM3 "
            f"{r['raw_sm3_seconds']:.2f} s); open {r['open_first_seconds']:.2f} s then "
            f"{r['open_second_seconds']:.2f} s; peak RSS {r['peak_rss_mib']} MiB",
            flush=True,
        )
    path = write_results("log_verify", {"rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
