"""Witness cosigning: latency per checkpoint with three witnesses, and the cost to exchanges.

    .venv/bin/python bench/witness.py [--checkpoints 200] [--seconds 6] [--rounds 2] [--quick]

Three real ``yrd-witness`` processes on loopback (gateway/app/dev_witnesses.py, the ones
``serve --dev`` starts), then two parts in one run:

1. **Latency per checkpoint.** A real ``MerkleLog`` on SQLite appends a batch of 10 entries,
   signs its checkpoint and offers it to the three witnesses at once (``add-checkpoint`` with
   the consistency proof from each witness's last size, one keep-alive HTTP connection per
   witness). Per checkpoint: the time until two witnesses (the quorum) and until all three
   answered, and the witnesses' CPU per cosignature (/proc, their whole process).
2. **Effect on exchanges.** ``yrdgw serve`` (SQLite, one process, pull delivery, anchoring off)
   without witnesses and with the three witnesses and quorum 2 in its registry, alternated
   ``--rounds`` times (A B A B), each at the closed-loop peak of bench/_runs.py (load
   generator in its own processes). Printed: exchanges/s and server CPU per exchange of each,
   their ratio, and the target (throughput cost under 5%). The witnesses' CPU is reported
   beside the gateway's: in production they run on the members' machines, not the gateway's.

Writes bench/results/witness.json.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import process_cpu_seconds, write_results  # noqa: E402
from bench._runs import CORES, measure  # noqa: E402
from bench._servers import start_gateway  # noqa: E402
from gateway.app.dev_witnesses import DEV_WITNESS_QUORUM, DevWitnesses  # noqa: E402
from gateway.app.devenv import ensure_dev_environment  # noqa: E402
from gateway.registry import DEV_LOG_ORIGIN  # noqa: E402
from ledger.crypto import PrivateKey  # noqa: E402
from ledger.log import MerkleLog, SQLiteStore  # noqa: E402

BATCH = 10


class WitnessClient:
    """One keep-alive connection to one witness; remembers the size it last cosigned."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        self.size = 0

    def add(self, log: MerkleLog, note: str, size: int) -> bool:
        proof = log.consistency_proof(self.size, size) if self.size else []
        lines = "".join(base64.b64encode(p).decode() + "\n" for p in proof)
        body = f"old {self.size}\n{lines}\n{note}".encode()
        self.connection.request("POST", "/add-checkpoint", body)
        answer = self.connection.getresponse()
        text = answer.read()
        if answer.status == 409 and answer.getheader("Content-Type") == "text/x.tlog.size":
            self.size = int(text)
            return self.add(log, note, size)
        if answer.status != 200:
            raise RuntimeError(f"witness answered {answer.status}: {text[:200]!r}")
        self.size = size
        return True


def latency(tmp: Path, witnesses: DevWitnesses, key: PrivateKey, checkpoints: int) -> dict:
    clients = [WitnessClient(w.url) for w in witnesses.witnesses]
    pids = [p.pid for p in witnesses.processes]
    quorum_ms, all_ms = [], []
    with (
        MerkleLog(SQLiteStore(tmp / "log.db"), key, DEV_LOG_ORIGIN) as log,
        ThreadPoolExecutor(len(clients)) as pool,
    ):
        cpu0 = sum(process_cpu_seconds(pid) for pid in pids)
        for n in range(checkpoints):
            log.append_many([f"entry {n}.{i}".encode() for i in range(BATCH)])
            signed = log.checkpoint()
            start = time.perf_counter()
            futures = [pool.submit(c.add, log, signed.text, signed.size) for c in clients]
            done = []
            for future in futures:  # in submission order; the quorum is the 2nd finish time
                future.result()
                done.append(time.perf_counter() - start)
            done.sort()
            quorum_ms.append(1000 * done[DEV_WITNESS_QUORUM - 1])
            all_ms.append(1000 * done[-1])
        cpu = sum(process_cpu_seconds(pid) for pid in pids) - cpu0

    def summary(values: list[float]) -> dict:
        ordered = sorted(values)
        return {
            "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
            "max_ms": round(ordered[-1], 2),
        }

    return {
        "checkpoints": checkpoints,
        "entries_per_checkpoint": BATCH,
        "to_quorum": summary(quorum_ms),
        "to_all_three": summary(all_ms),
        "witness_cpu_ms_per_cosignature": round(1000 * cpu / (checkpoints * len(clients)), 3),
    }


def exchanges(tmp: Path, witnesses: DevWitnesses, args) -> dict:
    pull = ("SH", "JS", "ZJ", "AH")
    plain = ensure_dev_environment(tmp / "plain", pull_regions=pull)
    (tmp / "witnessed" / "dev").mkdir(parents=True)
    for part in ("keys", "tls"):
        shutil.copytree(plain.root / part, tmp / "witnessed" / "dev" / part)
    witnessed = ensure_dev_environment(
        tmp / "witnessed",
        pull_regions=pull,
        witnesses=witnesses.witnesses,
        witness_quorum=DEV_WITNESS_QUORUM,
    )
    runs: dict[str, list[dict]] = {"without": [], "with": []}
    pids = [p.pid for p in witnesses.processes]
    for round_ in range(args.rounds):
        for label, env, directory in (
            ("without", plain, "plain"),
            ("with", witnessed, "witnessed"),
        ):
            print(f"round {round_ + 1}: gateway {label} witnesses", flush=True)
            server = start_gateway(f"witness-{label}", tmp / directory, dev=False, env=env)
            try:
                cpu0 = sum(process_cpu_seconds(pid) for pid in pids)
                peak = measure(server, env, 1024, args, None)["peak"]
                peak["witness_cpu_s"] = sum(process_cpu_seconds(p) for p in pids) - cpu0
                runs[label].append(peak)
            finally:
                server.stop()
    rate = {k: statistics.median(r["per_s"] for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r["server_cpu_ms"] for r in v) for k, v in runs.items()}
    return {
        "runs": runs,
        "exchanges_per_s": rate,
        "server_cpu_ms_per_exchange": cpu,
        "throughput_ratio_with_over_without": round(rate["with"] / rate["without"], 3),
        "cpu_ratio_with_over_without": round(cpu["with"] / cpu["without"], 3),
        "target": "throughput cost under 5% (ratio >= 0.95)",
    }


def run(args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="yrd-bench-witness-"))
    witnesses = DevWitnesses(tmp / "witnesses")
    key = PrivateKey.generate()
    try:
        # the latency part's own log key; the exchange part's witnesses witness the dev log
        witnesses.start_blocking(DEV_LOG_ORIGIN, key.public_key)
        results: dict = {"cores": CORES, "witnesses": 3, "quorum": DEV_WITNESS_QUORUM}
        results["latency"] = latency(tmp, witnesses, key, args.checkpoints)
        lat = results["latency"]
        print(
            f"cosigning latency per checkpoint ({args.checkpoints} checkpoints of {BATCH} "
            f"entries, 3 witnesses): quorum of 2 p50 {lat['to_quorum']['p50_ms']} ms, p99 "
            f"{lat['to_quorum']['p99_ms']} ms; all three p50 {lat['to_all_three']['p50_ms']} ms; "
            f"witness CPU {lat['witness_cpu_ms_per_cosignature']} ms per cosignature",
            flush=True,
        )
        witnesses.stop_blocking()
        witnesses = DevWitnesses(tmp / "witnesses")
        env = ensure_dev_environment(tmp / "plain", pull_regions=("SH", "JS", "ZJ", "AH"))
        shutil.rmtree(tmp / "witnesses" / "witnesses", ignore_errors=True)  # a new log: new state
        witnesses.start_blocking(DEV_LOG_ORIGIN, env.log_key.public_key)
        results["exchanges"] = exchanges(tmp, witnesses, args)
        ex = results["exchanges"]
        print(
            f"exchanges/s without witnesses {ex['exchanges_per_s']['without']:.0f}, with "
            f"{ex['exchanges_per_s']['with']:.0f}: ratio {ex['throughput_ratio_with_over_without']}"
            f" (target >= 0.95); server CPU per exchange "
            f"{ex['server_cpu_ms_per_exchange']['without']:.3f} vs "
            f"{ex['server_cpu_ms_per_exchange']['with']:.3f} ms "
            f"(ratio {ex['cpu_ratio_with_over_without']}); {CORES} cores",
            flush=True,
        )
    finally:
        witnesses.stop_blocking()
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=6.0, help="per peak run (default 6)")
    parser.add_argument("--concurrency", type=int, default=32, help="in flight at peak")
    parser.add_argument("--rounds", type=int, default=2, help="A/B rounds (default 2)")
    parser.add_argument("--quick", action="store_true", help="40 checkpoints, 1.5 s, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.checkpoints, args.seconds, args.rounds, args.concurrency = 40, 1.5, 1, 8
    results = run(args)
    print(f"wrote {write_results('witness', results)}")


if __name__ == "__main__":
    main()
