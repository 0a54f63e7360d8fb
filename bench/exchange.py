"""Exchange throughput, server CPU and latency of the gateway, side by side with an echo.

    .venv/bin/python bench/exchange.py [--seconds 8] [--concurrency 32] [--sizes 1,64] [--quick]

Servers, each in its own process on the same mTLS transport: the gateway as ``yrdgw serve``
(one process, pull delivery, anchoring off), the gateway as ``yrdgw serve --dev`` (push
delivery to its in-process simulators, seeded accounts and cases), ``yrdgw serve --workers
2`` when this checkout's serve has that flag (CPU summed over its processes), and an echo that
parses the SignedEnvelope and its Envelope and returns a receipt-sized Receipt (bench/_load.py).

The load generator runs in separate process(es) with their own channels (bench/_load.py);
every envelope is signed before the timed runs, with unique exchange ids and nonces. Per size
and server: closed-loop peak at --concurrency in flight, then an open loop at half of that
server's peak (the echo: at the gateway's half load) with latency measured from each
request's scheduled send time. Server CPU per
exchange (/proc/<pid>/stat) and context switches per exchange (/proc/<pid>/task/*/status) are
read around each run, after a short settle so deferred work (push, sequencer) is counted.

The floor the issue names is measured in the same run: SM2 verify of one envelope plus the
echo's CPU per request; the gateway's CPU per exchange is printed as a multiple of it. Writes
bench/results/exchange.json.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from bench._common import rate, server_counters, write_results  # noqa: E402
from bench._load import (  # noqa: E402
    ECHO_METHOD,
    OPTIONS,
    LoadSpec,
    echo_server,
    load_process,
    payload,
)
from bench._servers import (  # noqa: E402
    Server,
    free_port,
    port_open,
    serve_has_workers,
    start_gateway,
)
from gateway.app.devenv import DevEnvironment, ensure_dev_environment  # noqa: E402
from gateway.exchange.envelopes import signed_envelope  # noqa: E402

CORES = os.cpu_count() or 1
LOAD_PROCESSES = max(1, CORES // 2)
SETTLE_S = 1.0  # after a run, before the CPU is read again: deferred work is the exchange's
SMALL = 4096
PEAK_CAP = {True: 1500, False: 800}  # envelopes signed per second of peak run (small, large)
ECHO_SET = 400  # the echo has no replay check: it cycles through this many envelopes


def _probe(server: Server, env: DevEnvironment, size: int) -> int:
    """One real Submit (warms the server up); the reply's size in bytes."""
    cert = env.clients["SH"]
    creds = grpc.ssl_channel_credentials(env.ca.cert_pem, cert.key_pem, cert.cert_pem)
    with grpc.secure_channel(server.target, creds, options=OPTIONS) as channel:
        request = _envelope(env, size).SerializeToString()
        return len(channel.unary_unary(server.method)(request, timeout=30))


def _envelope(env: DevEnvironment, size: int):
    return signed_envelope(
        key=env.member_keys["SH"],
        sender=env.member_id("SH"),
        recipient=env.member_id("ZJ"),
        kind="case.status",
        matter="",
        payload=payload(size),
        dialect="yrd-canonical/1",
        content_type="application/json",
    )


def run_load(server: Server, specs: list[LoadSpec]) -> dict:
    """Start the load processes, wait until each has signed and warmed up, run them together
    and read the server's CPU and context switches around the run."""
    ctx = mp.get_context("spawn")
    pipes, procs = [], []
    for spec in specs:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=load_process, args=(spec, child), daemon=True)
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    for conn in pipes:
        if not conn.poll(300):
            raise RuntimeError(f"{server.name}: a load process was never ready")
        message = conn.recv()
        if message != "ready":
            raise RuntimeError(f"{server.name}: load process failed: {message['failed']}")
    cpu0, switches0 = server_counters(server.proc.pid)
    start_at = time.time() + 0.3
    for conn in pipes:
        conn.send(start_at)
    parts = []
    for conn in pipes:
        if not conn.poll(specs[0].seconds + 300):
            raise RuntimeError(f"{server.name}: a load process never finished")
        parts.append(conn.recv())
    time.sleep(SETTLE_S)
    cpu1, switches1 = server_counters(server.proc.pid)
    for proc in procs:
        proc.join(10)
    failed = [p["failed"] for p in parts if "failed" in p]
    if failed:
        raise RuntimeError(f"{server.name}: load process failed: {failed[0]}")
    latencies = sorted(x for p in parts for x in p["latencies_s"])
    ok = len(latencies)
    if not ok:
        raise RuntimeError(f"{server.name}: no request succeeded: {parts[0]['errors']}")
    elapsed = max(p["elapsed_s"] for p in parts)
    errors: dict[str, int] = {}
    for part in parts:
        for code, n in part["errors"].items():
            errors[code] = errors.get(code, 0) + n
    return {
        "ok": ok,
        "errors": errors,
        "per_s": ok / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(ok - 1, int(ok * 0.99))],
        "max_ms": 1000 * latencies[-1],
        "server_cpu_ms": 1000 * (cpu1 - cpu0) / ok,
        "context_switches": (switches1 - switches0) / ok,
        "load_process_busy": sum(p["client_cpu_s"] for p in parts)
        / sum(p["elapsed_s"] for p in parts),
        "exhausted": any(p["exhausted"] for p in parts),
    }


def _specs(server: Server, env: DevEnvironment, size: int, **kw) -> list[LoadSpec]:
    cert = env.clients["SH"]
    base = {
        "target": server.target,
        "method": server.method,
        "tls": (env.ca.cert_pem, cert.key_pem, cert.cert_pem),
        "key_pem": env.member_keys["SH"].to_pem(),
        "sender": env.member_id("SH"),
        "recipient": env.member_id("ZJ"),
        "size": size,
        "cycle": server.method == ECHO_METHOD,
    }
    specs = []
    for i in range(LOAD_PROCESSES):
        extra = dict(kw)
        if extra.get("closed"):
            extra["concurrency"] = max(1, kw["concurrency"] // LOAD_PROCESSES)
        else:
            extra["rate"] = kw["rate"] / LOAD_PROCESSES
            extra["phase"] = i / kw["rate"]
        specs.append(LoadSpec(**base, **extra))
    return specs


def measure(server: Server, env: DevEnvironment, size: int, args, half_rate: float | None):
    """Peak (closed loop) and half load (open loop, scheduled-time latency) of one server."""
    echo = server.method == ECHO_METHOD
    cap = PEAK_CAP[size <= SMALL] * args.seconds / LOAD_PROCESSES
    sign = ECHO_SET if echo else int(cap)
    peak = run_load(
        server,
        _specs(
            server, env, size, sign=sign, closed=True, seconds=args.seconds,
            concurrency=args.concurrency,
        ),
    )  # fmt: skip
    offered = half_rate if half_rate is not None else peak["per_s"] / 2
    half_seconds = max(1.0, args.seconds / 2)
    sign = ECHO_SET if echo else int(offered * half_seconds / LOAD_PROCESSES) + 2
    half = run_load(
        server,
        _specs(server, env, size, sign=sign, closed=False, seconds=half_seconds, rate=offered),
    )
    half["offered_per_s"] = offered
    return {"peak": peak, "half_load": half}


def sm2_verify_ms(env: DevEnvironment, size: int) -> float:
    """SM2 verify of one signed envelope of this size, as the gateway does it (SM3 of the
    envelope bytes included): the part of the floor the echo does not pay."""
    signed = _envelope(env, size)
    public = env.member_keys["SH"].public_key
    return 1000 / rate(lambda: public.verify(signed.envelope, signed.signature), 1.0)


WORKERS = 2
LABELS = {
    "gateway": "gateway (serve, 1 process)",
    "gateway_workers": f"gateway (serve --workers {WORKERS})",
    "gateway_dev": "gateway (serve --dev)",
    "echo": "echo (parses, replies)",
}


def _print_size(size: int, result: dict) -> None:
    rows = result["rows"]
    print(f"\n{size // 1024} KiB: {'':<24}{'ex/s':>8}{'CPU ms/ex':>11}{'ctxsw/ex':>10}"
          f"{'p99 peak':>10}{'p50 half':>10}{'p99 half':>10}{'half at':>10}"
          f"{'CPU half':>10}")  # fmt: skip
    for key, row in rows.items():
        peak, half = row["peak"], row["half_load"]
        print(
            f"  {LABELS[key]:<30}{peak['per_s']:>8.0f}{peak['server_cpu_ms']:>11.3f}"
            f"{peak['context_switches']:>10.1f}{peak['p99_ms']:>10.1f}{half['p50_ms']:>10.1f}"
            f"{half['p99_ms']:>10.1f}{half['offered_per_s']:>8.0f}/s{half['server_cpu_ms']:>10.3f}"
            + (
                f"  errors {peak['errors']} {half['errors']}"
                if peak["errors"] or half["errors"]
                else ""
            )
            + ("  (ran out of envelopes)" if peak["exhausted"] else "")
        )
        if key != "echo":
            r = result["ratios"][key]
            print(
                f"  {'  vs echo':<30}{r['per_s']:>7.2f}x{r['server_cpu_ms']:>10.1f}x"
                f"{r['context_switches']:>9.1f}x{'':>10}{'':>10}{r['p99_half_ms']:>9.1f}x"
            )
    busy = ", ".join(f"{k} {r['peak']['load_process_busy']:.0%}" for k, r in rows.items())
    print(f"  load process CPU busy at peak: {busy}")
    if "gateway_workers" in rows:
        scale = rows["gateway_workers"]["peak"]["per_s"] / rows["gateway"]["peak"]["per_s"]
        print(f"  {WORKERS} workers / 1 process: {scale:.2f}x (issue 16 target >= 1.7x)")
    floor = result["floor"]
    multiples = ", ".join(f"{k} {v:.2f}x" for k, v in floor["vs_floor"].items())
    print(
        f"  floor: SM2 verify {floor['sm2_verify_ms']:.3f} ms + echo CPU "
        f"{floor['echo_cpu_ms']:.3f} ms = {floor['floor_ms']:.3f} ms per exchange; CPU per "
        f"exchange as a multiple of it: {multiples} (issue 16 target <= 1.5x)"
    )


def _ratios(row: dict, echo: dict) -> dict:
    return {
        "per_s": row["peak"]["per_s"] / echo["peak"]["per_s"],
        "server_cpu_ms": row["peak"]["server_cpu_ms"] / echo["peak"]["server_cpu_ms"],
        "context_switches": row["peak"]["context_switches"]
        / max(1e-9, echo["peak"]["context_switches"]),
        "p99_half_ms": row["half_load"]["p99_ms"] / echo["half_load"]["p99_ms"],
    }


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
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "settle_s": SETTLE_S,
        "sizes": {},
    }
    servers: list[Server] = []
    try:
        gateways = {"gateway": start_gateway("gateway", tmp / "gw", dev=False, env=env)}
        servers.append(gateways["gateway"])
        if serve_has_workers():
            extra = ["--workers", str(WORKERS)]
            gateways["gateway_workers"] = start_gateway(
                "gateway_workers", tmp / "workers", dev=False, env=env, extra=extra
            )
            servers.append(gateways["gateway_workers"])
        gateways["gateway_dev"] = start_gateway("gateway_dev", tmp / "dev", dev=True, env=env)
        servers.append(gateways["gateway_dev"])
        replies = [_probe(server, env, sizes[0]) for server in gateways.values()]
        echo_port = free_port()
        echo_argv = [sys.executable, __file__, "--echo-server", str(echo_port)]
        echo_argv += ["--data-dir", str(tmp / "echo"), "--reply-bytes", str(replies[0])]
        echo = Server("echo", echo_argv, {**os.environ, "PYTHONPATH": str(ROOT)}, ECHO_METHOD,
                      echo_port)  # fmt: skip
        echo.wait_ready(lambda: port_open(echo_port))
        servers.append(echo)
        results["rows"] = {k: LABELS[k] for k in (*gateways, "echo")}
        print(
            f"{CORES} cores; load: {LOAD_PROCESSES} load process(es), closed loop at "
            f"{args.concurrency} in flight for {args.seconds:g} s, then open loop at half the "
            f"peak; receipts {replies[0]} B",
            flush=True,
        )
        for size in sizes:
            verify = sm2_verify_ms(env, size)
            rows = {key: measure(server, env, size, args, None) for key, server in gateways.items()}
            half = rows["gateway"]["half_load"]["offered_per_s"]
            rows["echo"] = measure(echo, env, size, args, half)
            echo_cpu = rows["echo"]["peak"]["server_cpu_ms"]
            floor = verify + echo_cpu
            result = {
                "rows": rows,
                "ratios": {k: _ratios(rows[k], rows["echo"]) for k in gateways},
                "floor": {
                    "sm2_verify_ms": verify,
                    "echo_cpu_ms": echo_cpu,
                    "floor_ms": floor,
                    "vs_floor": {k: rows[k]["peak"]["server_cpu_ms"] / floor for k in gateways},
                },
            }
            results["sizes"][str(size)] = result
            _print_size(size, result)
    finally:
        for server in servers:
            server.stop()
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
