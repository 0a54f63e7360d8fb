"""Exchange throughput and latency, side by side with a bare gRPC echo server.

    .venv/bin/python bench/exchange.py [--seconds 8] [--concurrency 32]

Both servers run in their own process with the same mTLS credentials; the load generator
(this process) sends the same request bytes to both: a signed envelope carrying a 1 KiB or
64 KiB payload. For each size: closed-loop peak throughput at the given concurrency, then an
open-loop run at half of the gateway's peak rate for p50/p99 latency. Envelopes are signed
before the timed runs (signing is the sender's cost, not the gateway's). Anchoring is off
(it never sits on the exchange path). Prints ratios and writes bench/results/exchange.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from bench._common import process_cpu_seconds, write_results  # noqa: E402
from gateway.app.devenv import ensure_dev_environment  # noqa: E402
from gateway.client import GatewayClient  # noqa: E402
from gateway.tls import TlsFiles  # noqa: E402

ECHO_METHOD = "/bench.Echo/Echo"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the baseline: a bare echo server on the same transport -------------------------------
async def _echo_server(port: int, data_dir: Path) -> None:
    env = ensure_dev_environment(data_dir)

    async def echo(request: bytes, context) -> bytes:
        return request

    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 4 << 20)])
    server.add_generic_rpc_handlers((handler,))
    creds = grpc.ssl_server_credentials(
        [(env.server.key_pem, env.server.cert_pem)],
        root_certificates=env.ca.cert_pem,
        require_client_auth=True,
    )
    server.add_secure_port(f"127.0.0.1:{port}", creds)
    await server.start()
    await server.wait_for_termination()


def _wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} never opened")


def _wait_http(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gateway never became healthy")


# -- load ---------------------------------------------------------------------------------
async def closed_loop(
    call, requests: list, concurrency: int, seconds: float, server_pid: int
) -> dict:
    latencies: list[float] = []
    cpu_before = process_cpu_seconds(server_pid)
    position = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal position
        while time.perf_counter() < deadline and position < len(requests):
            request = requests[position]
            position += 1
            start = time.perf_counter()
            await call(request)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    summary = _summary(latencies, elapsed)
    cpu = process_cpu_seconds(server_pid) - cpu_before
    summary["server_cpu_ms_per_op"] = 1000 * cpu / max(1, summary["requests"])
    return summary


async def open_loop(call, requests: list, rate: float, seconds: float) -> dict:
    latencies: list[float] = []
    tasks = []
    interval = 1.0 / rate
    count = min(len(requests), int(rate * seconds))
    start = time.perf_counter()

    async def one(request) -> None:
        t0 = time.perf_counter()
        await call(request)
        latencies.append(time.perf_counter() - t0)

    for i in range(count):
        target = start + i * interval
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(requests[i])))
    await asyncio.gather(*tasks)
    return {**_summary(latencies, time.perf_counter() - start), "offered_rate": rate}


def _summary(latencies: list[float], elapsed: float) -> dict:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "per_s": len(ordered) / elapsed,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
    }


async def run(args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="yrd-bench-"))
    env = ensure_dev_environment(tmp, pull_regions=("SH", "JS", "ZJ", "AH"))
    grpc_port, http_port, echo_port = _port(), _port(), _port()
    child_env = {**os.environ, "YRD_ANCHOR_MODE": "off", "PYTHONPATH": str(ROOT)}
    trust = {f"YRD_{name.upper()}": path for name, path in env.trust_settings().items()}
    # Starting and waiting on the children block, so they run off the event loop.
    gateway = await asyncio.to_thread(
        subprocess.Popen,
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "serve",
            "--data-dir",
            str(tmp),
            "--grpc-port",
            str(grpc_port),
            "--http-port",
            str(http_port),
        ],
        env={**child_env, **trust},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    echo = await asyncio.to_thread(
        subprocess.Popen,
        [sys.executable, __file__, "--echo-server", str(echo_port), "--data-dir", str(tmp)],
        env=child_env,
    )
    results: dict = {"concurrency": args.concurrency, "seconds": args.seconds, "sizes": {}}
    try:
        await asyncio.to_thread(_wait_http, http_port)
        await asyncio.to_thread(_wait_port, echo_port)
        cert = env.clients["SH"]
        tls = TlsFiles(env.ca.cert_pem, cert.cert_pem, cert.key_pem)
        options = [("grpc.max_receive_message_length", 4 << 20)]
        client = GatewayClient(
            f"127.0.0.1:{grpc_port}",
            member=env.member_id("SH"),
            key=env.member_keys["SH"],
            tls=tls,
            options=options,
        )
        creds = grpc.ssl_channel_credentials(tls.ca, tls.key, tls.cert)
        echo_channel = grpc.aio.secure_channel(f"127.0.0.1:{echo_port}", creds, options=options)
        echo_call = echo_channel.unary_unary(ECHO_METHOD)
        for size in (1024, 64 * 1024):
            note = "x" * max(0, size - 120)
            payload = json.dumps(
                {
                    "case_id": "BENCH-1",
                    "status": "received",
                    "time": "2026-11-28T10:00:00+08:00",
                    "note": note,
                }
            ).encode()
            count = int(args.max_rate * args.seconds * 1.2)
            print(f"signing {count} envelopes of {len(payload)} B ...", flush=True)
            envelopes = [
                client.build(
                    recipient=env.member_id("ZJ"),
                    kind="case.status",
                    payload=payload,
                    dialect="yrd-canonical/1",
                )
                for _ in range(count)
            ]
            raw = [e.SerializeToString() for e in envelopes]
            await echo_call(raw[0])  # warm up both connections
            await client.exchange.Submit(envelopes[0])
            echo_peak = await closed_loop(
                echo_call, raw[1:], args.concurrency, args.seconds, echo.pid
            )
            gw_peak = await closed_loop(
                client.exchange.Submit, envelopes[1:], args.concurrency, args.seconds, gateway.pid
            )
            half = gw_peak["per_s"] / 2
            used = 1 + gw_peak["requests"]
            gw_half = await open_loop(
                client.exchange.Submit, envelopes[used:], half, args.seconds / 2
            )
            echo_half = await open_loop(echo_call, raw[used:], half, args.seconds / 2)
            ratio = gw_peak["per_s"] / echo_peak["per_s"]
            results["sizes"][str(size)] = {
                "echo_peak": echo_peak,
                "gateway_peak": gw_peak,
                "gateway_half_load": gw_half,
                "echo_half_load": echo_half,
                "ratio": ratio,
            }
            print(
                f"{size // 1024:>3} KiB  echo {echo_peak['per_s']:>7.0f}/s "
                f"(p50 {echo_peak['p50_ms']:.1f} ms, p99 {echo_peak['p99_ms']:.1f} ms)  "
                f"gateway {gw_peak['per_s']:>7.0f}/s (p50 {gw_peak['p50_ms']:.1f} ms, "
                f"p99 {gw_peak['p99_ms']:.1f} ms)  ratio {ratio:.2f}x"
            )
            print(
                f"         server CPU per op: gateway {gw_peak['server_cpu_ms_per_op']:.2f} ms, "
                f"echo {echo_peak['server_cpu_ms_per_op']:.2f} ms"
            )
            print(
                f"         at half of the gateway's peak ({half:.0f}/s offered): gateway p50 "
                f"{gw_half['p50_ms']:.1f} ms p99 {gw_half['p99_ms']:.1f} ms; echo p50 "
                f"{echo_half['p50_ms']:.1f} ms p99 {echo_half['p99_ms']:.1f} ms"
            )
        await client.close()
        await echo_channel.close()
    finally:
        gateway.terminate()
        echo.terminate()
        await asyncio.to_thread(gateway.wait, 30)
        await asyncio.to_thread(echo.wait, 30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--max-rate",
        type=float,
        default=1500,
        help="envelopes to pre-sign per second of run (upper bound on rate)",
    )
    parser.add_argument("--echo-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_server:
        asyncio.run(_echo_server(args.echo_server, Path(args.data_dir)))
        return
    results = asyncio.run(run(args))
    print(f"wrote {write_results('exchange', results)}")


if __name__ == "__main__":
    main()
