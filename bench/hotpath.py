"""Server CPU per exchange and throughput at 10^4 and 10^6 log entries, two code trees side by side.

    .venv/bin/python bench/hotpath.py [--baseline REF] [--current REF] [--sizes 10000,1000000]

For each log size a data directory is filled once, quickly: the log through its own bulk
append (8,192 entries per batch, keyed like exchanges), then one exchange row and one
delivered pull outbox row per entry. Each run copies it (dropping the outbox's secondary
indexes, so each code tree makes the ones it wants on open), starts ``yrdgw serve`` from
that tree in its own process, sends 1 KiB ``case.status`` exchanges to a pull recipient at
``--concurrency`` in flight for ``--seconds`` (envelopes signed before the timed part), and
reads the server's CPU time and context switches from /proc. ``--baseline REF`` exports
that commit with ``git archive`` and runs it interleaved with the working tree (or with
``--current REF``), so both see the same machine load. Prints CPU per exchange, throughput
and the 10^6 / 10^4 ratio per tree, and writes bench/results/hotpath.json. The load
generator is this process: on a two-core machine throughput is partly client-bound, CPU
per exchange is not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import process_cpu_seconds, write_results  # noqa: E402
from bench._servers import free_port as _port  # noqa: E402
from bench._servers import healthz, wait  # noqa: E402

CHUNK = 8192
ENTRY = (
    '{"canonical_sm3":"%(h)s","channel":"grpc-mtls","delivered_sm3":"%(h)s","envelope_sm3":'
    '"%(h)s","exchange_id":"%(id)s","in_reply_to":"","kind":"case.status","matter":"",'
    '"payload_sm3":"%(h)s","received_at":"2026-11-28T09:30:00.123Z","recipient":"ZJ/x/y",'
    '"relayed":false,"sender":"SH/x/y","signature_sm3":"%(h)s","signer_key_id":"%(h)s",'
    '"source_dialect":"yrd-canonical/1","target_dialect":"yrd-canonical/1","type":"exchange",'
    '"v":2}'
)


def fill(data_dir: Path, entries: int) -> None:
    """A dev data directory whose log and gateway rows hold ``entries`` exchanges."""
    from gateway.app.devenv import DEV_LOG_ORIGIN, ensure_dev_environment
    from gateway.exchange.store import GatewayStore
    from ledger.log import MerkleLog, SQLiteStore

    env = ensure_dev_environment(data_dir, pull_regions=("SH", "JS", "ZJ", "AH"))
    db = data_dir / "gateway.db"
    ids = [str(uuid.UUID(int=i + 1)) for i in range(entries)]
    log = MerkleLog(SQLiteStore(db), env.log_key, DEV_LOG_ORIGIN, batch_max=CHUNK)
    pending = []
    for start in range(0, entries, CHUNK):
        chunk = ids[start : start + CHUNK]
        batch = [(ENTRY % {"h": "ab" * 32, "id": i}).encode() for i in chunk]
        pending.append(log.append_batch_async(batch, list(chunk)))
        if len(pending) > 4:
            pending.pop(0).result()
    for future in pending:
        future.result()
    log.close()
    MerkleLog(SQLiteStore(db), env.log_key, DEV_LOG_ORIGIN).close()  # the verified marker
    GatewayStore(db).close()
    sender, recipient = env.member_id("SH"), env.member_id("ZJ")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO exchanges(exchange_id, envelope, signature, key_id, envelope_sm3, sender,"
        " recipient, kind, matter, canonical, leaf_index, tree_size, received_at)"
        " VALUES (?, ?, x'00', 'k', x'00', ?, ?, 'case.status', '', '{}', ?, ?, ?)",
        ((i, b"e" * 200, sender, recipient, n, n + 1, 1.7e9 + n) for n, i in enumerate(ids)),
    )
    conn.executemany(
        "INSERT INTO outbox(exchange_id, recipient, mode, status, attempts, next_attempt_at,"
        " updated_at, delivered_at) VALUES (?, ?, 'pull', 'delivered', 1, 0, ?, ?)",
        ((i, recipient, 1.7e9 + n, 1.7e9 + n) for n, i in enumerate(ids)),
    )
    conn.execute("COMMIT")
    conn.close()


def prepare(template: Path, target: Path) -> None:
    """A copy of ``template`` without the outbox's secondary indexes: the server's code
    makes the ones it has on open (an older tree must not profit from a newer index)."""
    shutil.copytree(template, target)
    conn = sqlite3.connect(target / "gateway.db", isolation_level=None)
    names = [r[1] for r in conn.execute("PRAGMA index_list(outbox)")]
    for name in names:
        if not name.startswith("sqlite_autoindex"):
            conn.execute(f"DROP INDEX {name}")
    conn.close()


def export(ref: str, into: Path) -> Path:
    """The tree of commit ``ref`` (git archive)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref], stdout=out, check=True)
    src = into / "src"
    with tarfile.open(archive) as tar:
        tar.extractall(src, filter="data")
    return src


def context_switches(pid: int) -> int:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                total += int(line.split()[1])
    return total


async def one_run(src: Path, data_dir: Path, args) -> dict:
    from gateway.app.devenv import ensure_dev_environment
    from gateway.client import GatewayClient
    from gateway.tls import TlsFiles

    env = ensure_dev_environment(data_dir, pull_regions=("SH", "JS", "ZJ", "AH"))
    grpc_port, http_port = _port(), _port()
    trust = {f"YRD_{k.upper()}": v for k, v in env.trust_settings().items()}
    child_env = {**os.environ, "YRD_ANCHOR_MODE": "off", "PYTHONPATH": str(src), **trust}
    cmd = [sys.executable, "-m", "gateway.cli", "serve", "--data-dir", str(data_dir)]
    cmd += ["--grpc-port", str(grpc_port), "--http-port", str(http_port)]
    server = await asyncio.to_thread(
        subprocess.Popen,
        cmd,
        cwd=src,
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await asyncio.to_thread(wait, lambda: healthz(http_port), "the gateway", 300)
        cert = env.clients["SH"]
        client = GatewayClient(
            f"127.0.0.1:{grpc_port}",
            member=env.member_id("SH"),
            key=env.member_keys["SH"],
            tls=TlsFiles(env.ca.cert_pem, cert.cert_pem, cert.key_pem),
        )
        status = {"case_id": "B-1", "status": "received", "time": "2026-11-28T10:00:00+08:00"}
        payload = json.dumps({**status, "note": "x" * 900}).encode()
        count = int(args.max_rate * args.seconds)
        envelopes = [
            client.build(
                recipient=env.member_id("ZJ"),
                kind="case.status",
                payload=payload,
                dialect="yrd-canonical/1",
            )
            for _ in range(count + 50)
        ]
        for envelope in envelopes[:50]:  # warm up
            await client.exchange.Submit(envelope)
        await asyncio.sleep(1.0)
        cpu0, cs0 = process_cpu_seconds(server.pid), context_switches(server.pid)
        position, done = 50, 0
        deadline = time.perf_counter() + args.seconds

        async def worker() -> None:
            nonlocal position, done
            while time.perf_counter() < deadline and position < len(envelopes):
                envelope = envelopes[position]
                position += 1
                await client.exchange.Submit(envelope)
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - start
        cpu = process_cpu_seconds(server.pid) - cpu0
        switches = context_switches(server.pid) - cs0
        await client.close()
    finally:
        server.terminate()
        await asyncio.to_thread(server.wait, 60)
    return {
        "exchanges": done,
        "per_s": done / elapsed,
        "server_cpu_ms_per_exchange": 1000 * cpu / max(1, done),
        "context_switches_per_exchange": switches / max(1, done),
    }


async def run(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="yrd-hotpath-"))
    trees = {"current": ROOT if not args.current else export(args.current, work / "current")}
    if args.baseline:
        trees = {f"baseline {args.baseline}": export(args.baseline, work / "base"), **trees}
    sizes = [int(s) for s in args.sizes.split(",")]
    templates = {}
    for size in sizes:
        started = time.perf_counter()
        templates[size] = work / f"template-{size}"
        fill(templates[size], size)
        print(f"filled {size} entries in {time.perf_counter() - started:.0f} s", flush=True)
    runs: dict[str, dict[int, list[dict]]] = {name: {s: [] for s in sizes} for name in trees}
    try:
        for attempt in range(args.repeat):
            for name, src in trees.items():
                for size in sizes:
                    data_dir = work / f"run-{attempt}-{len(runs[name][size])}-{size}-{id(src)}"
                    prepare(templates[size], data_dir)
                    result = await one_run(src, data_dir, args)
                    shutil.rmtree(data_dir)
                    runs[name][size].append(result)
                    print(
                        f"{name:>22} {size:>8} entries: {result['per_s']:6.0f}/s, server CPU "
                        f"{result['server_cpu_ms_per_exchange']:.2f} ms/exchange, "
                        f"{result['context_switches_per_exchange']:.1f} switches/exchange",
                        flush=True,
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary: dict[str, dict] = {}
    small, large = min(sizes), max(sizes)
    for name, by_size in runs.items():
        med = {
            s: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for s, rs in by_size.items()
        }
        summary[name] = {
            "median": {str(s): m for s, m in med.items()},
            "throughput_ratio_large_vs_small": med[large]["per_s"] / med[small]["per_s"],
            "cpu_ratio_large_vs_small": med[large]["server_cpu_ms_per_exchange"]
            / med[small]["server_cpu_ms_per_exchange"],
        }
        print(
            f"{name}: throughput at {large} / {small} entries = "
            f"{summary[name]['throughput_ratio_large_vs_small']:.2f}x, CPU per exchange "
            f"{med[small]['server_cpu_ms_per_exchange']:.2f} -> "
            f"{med[large]['server_cpu_ms_per_exchange']:.2f} ms"
        )
    if args.baseline:
        base, cur = summary[f"baseline {args.baseline}"], summary["current"]
        for size in sizes:
            b = base["median"][str(size)]["server_cpu_ms_per_exchange"]
            c = cur["median"][str(size)]["server_cpu_ms_per_exchange"]
            print(f"CPU per exchange at {size} entries: current / baseline = {c / b:.2f}x")
    return {
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "payload_bytes": 1024,
        "runs": {n: {str(s): rs for s, rs in r.items()} for n, r in runs.items()},
        "summary": summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", help="a git commit to run side by side (git archive)")
    parser.add_argument("--current", help="a git commit to measure instead of the working tree")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--max-rate", type=float, default=1500, help="envelopes per second")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(f"wrote {write_results('hotpath', results)}")


if __name__ == "__main__":
    main()
