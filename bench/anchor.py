"""Anchoring at full append load: entries per transaction, anchor latency, gas per anchor.

    .venv/bin/python bench/anchor.py [--seconds 20] [--interval 5] [--every 10000]
                                     [--latency-anchors 10] [--no-hardhat]

Side by side in one run:

1. **baseline**: durable appends/s of a bare MerkleLog (``append_batch_async`` of 8,192-entry
   chunks, 4 in flight, 256-byte entries), no anchorer;
2. **load**: the same drive for ``--seconds`` with an Anchorer on the embedded chain
   (``--interval`` s or ``--every`` entries, whichever first), then again with the entry
   trigger off (interval only). Reports entries per anchor transaction (target >= 10,000), and
   appends/s as a ratio of the baseline (anchoring must not slow appends);
3. **latency**: at a moderate load (100 entries every 50 ms), the time from a checkpoint
   being signed (its append acknowledged) to its anchor being confirmed, on the embedded chain
   and on a Hardhat JSON-RPC node (started here if ledger/contracts/node_modules exists),
   against the bare ``anchor`` + ``wait`` round trip on the same chain;
4. **gas** used per anchor transaction (from the receipts).

Prints the figures and ratios, writes bench/results/anchor.json.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT_DIR))

from bench._common import write_results  # noqa: E402
from ledger.anchor import Anchorer, Chain, EmbeddedChain, JsonRpcChain  # noqa: E402
from ledger.crypto import PrivateKey  # noqa: E402
from ledger.log import MerkleLog, SQLiteStore  # noqa: E402

CONTRACTS = ROOT_DIR / "ledger" / "contracts"
ORIGIN = "yrd.gov.cn/log/bench"
ENTRY_SIZE = 256
CHUNK = 8192
WINDOW = 4
# Hardhat's public development key #1 (funded on every dev node).
HARDHAT_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
_BLOB = random.Random(7).randbytes(ENTRY_SIZE)
KEY = PrivateKey.generate()


def _entries(start: int, n: int) -> list[bytes]:
    return [(start + i).to_bytes(8, "big") + _BLOB[8:] for i in range(n)]


def drive(log: MerkleLog, seconds: float) -> tuple[int, float]:
    """Append as fast as the log takes it for ``seconds``; returns (entries, elapsed)."""
    in_flight = []
    sent = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        in_flight.append(log.append_batch_async(_entries(log.size + sent, CHUNK)))
        sent += CHUNK
        if len(in_flight) >= WINDOW:
            in_flight.pop(0).result()
    for future in in_flight:
        future.result()
    return sent, time.perf_counter() - start


def bench_baseline(workdir: Path, seconds: float) -> dict:
    with MerkleLog(SQLiteStore(workdir / "baseline.db"), KEY, ORIGIN) as log:
        entries, elapsed = drive(log, seconds)
    return {"seconds": round(elapsed, 2), "entries": entries, "appends_per_s": entries / elapsed}


def bench_load(workdir: Path, name: str, seconds: float, interval: float, every: int | None):
    chain = EmbeddedChain()
    Anchorer.ensure_contract(chain, ORIGIN)
    with MerkleLog(SQLiteStore(workdir / f"{name}.db"), KEY, ORIGIN) as log:
        anchorer = Anchorer(
            log, chain, workdir / f"{name}-anchors.db", interval=interval, every=every
        )
        anchorer.start()
        entries, elapsed = drive(log, seconds)
        anchorer.anchor_now()
        anchorer.wait_covered(log.size, timeout=120)
        anchorer.stop()
        rows = [r for r in anchorer.anchors() if r.status == "confirmed"]
    sizes = [0] + [r.tree_size for r in rows]
    per_tx = [b - a for a, b in itertools.pairwise(sizes)]
    steady = per_tx[1:-1] or per_tx  # first and last anchors are cut by the run's edges
    gas = _gas(chain, rows)
    return {
        "interval_s": interval,
        "every": every,
        "seconds": round(elapsed, 2),
        "entries": entries,
        "appends_per_s": entries / elapsed,
        "anchors": len(rows),
        "anchors_per_s": len(rows) / elapsed,
        "entries_per_anchor_mean": statistics.mean(steady),
        "entries_per_anchor_min": min(steady),
        "entries_per_anchor_max": max(steady),
        "gas_per_anchor_mean": statistics.mean(gas) if gas else None,
    }


def _gas(chain: Chain, rows) -> list[int]:
    w3 = chain._w3  # bench-only: read receipts directly
    return [w3.eth.get_transaction_receipt(r.tx_hash)["gasUsed"] for r in rows if r.tx_hash]


def bench_latency(workdir: Path, name: str, chain: Chain, anchors: int) -> dict:
    """Checkpoint signed -> anchor confirmed, at a moderate load, interval 1 s."""
    # Baseline: the bare round trip of one anchor transaction on this chain.
    raw = []
    for i in range(anchors):
        root = os.urandom(32)
        start = time.perf_counter()
        chain.wait(chain.anchor(ORIGIN + "/raw", i + 1, root))
        raw.append(time.perf_counter() - start)
    signed_at: dict[int, float] = {}

    def note(future) -> None:
        now = time.time()
        for result in future.result():
            signed_at.setdefault(result.tree_size, now)

    with MerkleLog(SQLiteStore(workdir / f"{name}-lat.db"), KEY, ORIGIN) as log:
        anchorer = Anchorer(
            log, chain, workdir / f"{name}-lat-anchors.db", interval=1.0, every=None, poll=0.02
        )
        anchorer.start()
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                log.append_batch_async(_entries(log.size, 100)).add_done_callback(note)
                time.sleep(0.05)

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        deadline = time.monotonic() + anchors * 5 + 30
        while anchorer.status().confirmed < anchors + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        loader.join()
        anchorer.stop()
        rows = [r for r in anchorer.anchors() if r.status == "confirmed"][1:]  # skip cold start
    latency = [r.confirmed_at - signed_at[r.tree_size] for r in rows if r.tree_size in signed_at]
    gas = _gas(chain, rows)
    return {
        "anchors": len(rows),
        "latency_s_mean": statistics.mean(latency),
        "latency_s_median": statistics.median(latency),
        "latency_s_max": max(latency),
        "raw_anchor_roundtrip_s_mean": statistics.mean(raw),
        "ratio_latency_to_raw": statistics.mean(latency) / statistics.mean(raw),
        "gas_per_anchor_mean": statistics.mean(gas) if gas else None,
    }


class HardhatNode:
    def __init__(self, workdir: Path) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / "hardhat.log", "wb")
        env = {**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true", "CI": "true"}
        self.proc = subprocess.Popen(
            ["npx", "--no-install", "hardhat", "node", "--hostname", "127.0.0.1",
             "--port", str(self.port)],
            cwd=CONTRACTS, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
        while time.monotonic() < deadline:
            try:
                if "result" in requests.post(self.url, json=body, timeout=1).json():
                    return
            except (requests.RequestException, ValueError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("hardhat node did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(timeout=10)
        self.log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--latency-anchors", type=int, default=10)
    parser.add_argument("--no-hardhat", action="store_true")
    args = parser.parse_args()

    out: dict = {"entry_bytes": ENTRY_SIZE, "chunk": CHUNK, "window": WINDOW}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        base = out["baseline"] = bench_baseline(workdir, args.seconds / 2)
        print(f"baseline: {base['appends_per_s']:,.0f} appends/s (no anchorer)")
        for name, every in (("load_default", args.every), ("load_interval_only", None)):
            load = out[name] = bench_load(workdir, name, args.seconds, args.interval, every)
            load["appends_ratio_to_baseline"] = load["appends_per_s"] / base["appends_per_s"]
            load["entries_per_anchor_ratio_to_target"] = load["entries_per_anchor_mean"] / 10_000
            print(
                f"{name} (interval {args.interval} s, every {every}): "
                f"{load['appends_per_s']:,.0f} appends/s "
                f"({load['appends_ratio_to_baseline']:.2f}x baseline), "
                f"{load['anchors']} anchors in {load['seconds']} s, "
                f"{load['entries_per_anchor_mean']:,.0f} entries/anchor tx "
                f"(min {load['entries_per_anchor_min']:,}, "
                f"{load['entries_per_anchor_ratio_to_target']:.1f}x the 10,000 target), "
                f"{load['gas_per_anchor_mean']:,.0f} gas/anchor"
            )
        chain = EmbeddedChain()
        Anchorer.ensure_contract(chain, ORIGIN)
        Anchorer.ensure_contract(chain, ORIGIN + "/raw")
        lat = out["latency_embedded"] = bench_latency(
            workdir, "embedded", chain, args.latency_anchors
        )
        _print_latency("embedded", lat)
        if args.no_hardhat:
            out["latency_hardhat"] = "skipped (--no-hardhat)"
        elif shutil.which("npx") is None or not (CONTRACTS / "node_modules" / "hardhat").is_dir():
            out["latency_hardhat"] = "skipped: node/npx or ledger/contracts/node_modules missing"
            print(out["latency_hardhat"])
        else:
            node = HardhatNode(workdir)
            try:
                chain = JsonRpcChain(node.url, HARDHAT_KEY, timeout=30)
                Anchorer.ensure_contract(chain, ORIGIN)
                Anchorer.ensure_contract(chain, ORIGIN + "/raw")
                lat = out["latency_hardhat"] = bench_latency(
                    workdir, "hardhat", chain, args.latency_anchors
                )
                _print_latency("hardhat JSON-RPC", lat)
            finally:
                node.stop()
    path = write_results("anchor", out)
    print(f"wrote {path.relative_to(ROOT_DIR)}")


def _print_latency(name: str, lat: dict) -> None:
    print(
        f"latency {name}: checkpoint signed -> anchor confirmed "
        f"mean {lat['latency_s_mean'] * 1000:.0f} ms (median "
        f"{lat['latency_s_median'] * 1000:.0f}, max {lat['latency_s_max'] * 1000:.0f}) over "
        f"{lat['anchors']} anchors; bare anchor+wait "
        f"{lat['raw_anchor_roundtrip_s_mean'] * 1000:.0f} ms "
        f"({lat['ratio_latency_to_raw']:.1f}x); {lat['gas_per_anchor_mean']:,.0f} gas/anchor"
    )


if __name__ == "__main__":
    main()
