"""Exchange throughput, server CPU and latency of the gateway, side by side with an echo.

    .venv/bin/python bench/exchange.py [--seconds 8] [--concurrency 32] [--sizes 1,64] [--quick]

Servers, each in its own process(es) on the same mTLS transport, started one after the other
(each stopped before the next starts, so an idle gateway never loads the machine or the
database of the one measured): ``yrdgw serve`` on SQLite (one process, pull delivery,
anchoring off: the baseline), ``serve --database`` on PostgreSQL (one process), ``serve
--workers 2 --database`` (two processes sharing the ports), ``serve --dev`` (push delivery
to its in-process simulators, seeded accounts and cases), and an echo that parses the
SignedEnvelope and its Envelope and returns a receipt-sized Receipt (bench/_load.py).

PostgreSQL: one throwaway cluster (tests/pg.py) with fsync and synchronous commit ON (fair
against SQLite's synchronous=FULL), a fresh database per gateway row, reached over its unix
socket. Its server's CPU (the postmaster's process tree, backends that ended included) is
counted per exchange in its own column and in the total: the database's cost is never hidden.

The load generator runs in separate process(es), each with several connections (bench/_load.py,
bench/_runs.py); every envelope is signed before the timed runs, with unique exchange ids and
nonces. Per size and server: closed-loop peak at --concurrency in flight, then an open loop at
half of that server's peak (the echo: at the SQLite gateway's half load) with latency measured
from each request's scheduled send time. CPU (/proc/<pid>/stat) and context switches
(/proc/<pid>/task/*/status) are read around each run, after a short settle so deferred work
(push, sequencer) is counted; the machine's idle time (/proc/stat) is read around the run.

Printed as ratios from the same run: total CPU per exchange as a multiple of the floor (the
CPU time of one SM2 verify + the echo's CPU per request), 2 workers / 1 process on PostgreSQL
(with the cores, the load and how much of the machine was left idle), p99 at half load.
Writes bench/results/exchange.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import write_results  # noqa: E402
from bench._load import ECHO_METHOD, echo_server  # noqa: E402
from bench._report import WORKERS, print_size, summarise  # noqa: E402
from bench._runs import (  # noqa: E402
    CHANNELS,
    CORES,
    LOAD_PROCESSES,
    SETTLE_S,
    idle_cpu,
    measure,
    probe,
    sm2_verify_ms,
)
from bench._servers import Server, free_port, port_open, start_gateway  # noqa: E402
from gateway.app.devenv import ensure_dev_environment  # noqa: E402
from tests.pg import Cluster, Unavailable, throwaway_cluster  # noqa: E402

# key: (data directory, --dev, on PostgreSQL, processes)
GATEWAYS = {
    "gateway": ("gw", False, False, 1),
    "gateway_pg": ("pg", False, True, 1),
    "gateway_pg_workers": ("pgw", False, True, WORKERS),
    "gateway_dev": ("dev", True, False, 1),
}


def _postmaster(cluster: Cluster) -> int:
    return int((cluster.socket_dir / "data" / "postmaster.pid").read_text().split()[0])


def _gateway_rows(tmp: Path, env, cluster: Cluster | None, why: str, sizes, args):
    """Each gateway in turn: start, measure every size, stop. A row that cannot start or
    run is recorded with its reason (the SQLite baseline's failure ends the bench)."""
    rows: dict[int, dict] = {size: {} for size in sizes}
    failed: dict[str, str] = {}
    reply = 0
    for key, (directory, dev, on_pg, workers) in GATEWAYS.items():
        if on_pg and cluster is None:
            failed[key] = why
            print(f"{key}: not measured: {why}", flush=True)
            continue
        database = cluster.url(cluster.create_database()) if on_pg and cluster else None
        print(f"{key}: starting", flush=True)
        try:
            server = start_gateway(key, tmp / directory, dev=dev, env=env, database=database,
                                   workers=workers)  # fmt: skip
        except RuntimeError as exc:
            if key == "gateway":
                raise
            failed[key] = f"did not start: {exc}"
            print(f"{key}: {failed[key]}", flush=True)
            continue
        try:
            if on_pg and cluster:
                server.postmaster = _postmaster(cluster)
            reply = reply or probe(server, env, sizes[0])
            idle = idle_cpu(server)
            for size in sizes:
                rows[size][key] = {**measure(server, env, size, args, None), "idle": idle}
        except RuntimeError as exc:
            if key == "gateway":
                raise
            failed[key] = f"failed while measured: {exc}"
            print(f"{key}: {failed[key]}", flush=True)
            for size in sizes:
                rows[size].pop(key, None)
        finally:
            server.stop()
    return rows, failed, reply


def run(args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="yrd-bench-"))
    env = ensure_dev_environment(tmp / "gw", pull_regions=("SH", "JS", "ZJ", "AH"))
    # the --dev gateway and the echo get the same keys and certificates (each signs its own
    # registry in its own directory, so none rewrites another's)
    for name in ("dev", "echo"):
        for part in ("keys", "tls"):
            shutil.copytree(env.root / part, tmp / name / "dev" / part)
    sizes = [int(s) * 1024 for s in args.sizes.split(",")]
    results: dict = {
        "cores": CORES,
        "load_processes": LOAD_PROCESSES,
        "channels_per_load_process": CHANNELS,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "settle_s": SETTLE_S,
        "postgresql": "throwaway cluster, fsync and synchronous_commit on, unix socket",
        "sizes": {},
    }
    print(
        f"{CORES} cores; load: {LOAD_PROCESSES} load process(es) x {CHANNELS} connections, "
        f"closed loop at {args.concurrency} in flight for {args.seconds:g} s, then open loop "
        "at half the peak",
        flush=True,
    )
    echo: Server | None = None
    try:
        with contextlib.ExitStack() as stack:
            cluster: Cluster | None = None
            why = ""
            try:
                cluster = stack.enter_context(throwaway_cluster(durable=True))
            except (Unavailable, RuntimeError) as exc:
                why = f"no PostgreSQL cluster: {exc}"
            rows, failed, reply = _gateway_rows(tmp, env, cluster, why, sizes, args)
        echo_port = free_port()
        echo_argv = [sys.executable, __file__, "--echo-server", str(echo_port)]
        echo_argv += ["--data-dir", str(tmp / "echo"), "--reply-bytes", str(reply)]
        echo = Server("echo", echo_argv, {**os.environ, "PYTHONPATH": str(ROOT)}, ECHO_METHOD,
                      echo_port)  # fmt: skip
        echo.wait_ready(lambda: port_open(echo_port))
        results["receipt_bytes"] = reply
        results["failed"] = failed
        for size in sizes:
            verify = sm2_verify_ms(env, size)
            half = rows[size]["gateway"]["half_load"]["offered_per_s"]
            rows[size]["echo"] = measure(echo, env, size, args, half)
            result = summarise(rows[size], verify)
            results["sizes"][str(size)] = result
            print_size(size, result, failed)
    finally:
        if echo is not None:
            echo.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per peak run (default 8)")
    parser.add_argument("--concurrency", type=int, default=32, help="in flight at peak")
    parser.add_argument("--sizes", default="1,64", help="payload sizes in KiB (default 1,64)")
    parser.add_argument("--quick", action="store_true", help="1 KiB, 1.5 s, 8 in flight")
    parser.add_argument("--echo-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--reply-bytes", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_server:
        asyncio.run(echo_server(args.echo_server, Path(args.data_dir), args.reply_bytes))
        return
    if args.quick:
        args.seconds, args.concurrency, args.sizes = 1.5, 8, "1"
    results = run(args)
    print(f"wrote {write_results('exchange', results)}")


if __name__ == "__main__":
    main()
