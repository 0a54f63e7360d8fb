"""Overload: offer 4x the measured peak and see every call answered, none dropped.

    .venv/bin/python bench/overload.py [--seconds 4] [--factor 4] [--compare]

One run: the gateway (``yrdgw serve``, 1 KiB envelopes, mTLS, anchoring off) in its own
process; the load generators in their OWN processes (the bench process only coordinates).
(1) closed-loop peak: 32 calls in flight from one member for ``--seconds``; (2) open loop at
``--factor`` x that peak for ``--seconds``: a greedy member (SH, two processes) offers all
but 0.3x peak of it, a polite member (AH) 0.3x peak, below its fair share. Retries are off
in the generators so every status is counted as the server gave it. Reported: counts by
status, accepted throughput vs peak (target >= 0.9), p99 of accepted calls (from the
scheduled send time) vs p99 at peak (target < 4x), each member's admitted fraction, server
CPU per accepted exchange, /healthz afterwards. (3) ``--burst`` Submits (default: factor x
peak/s) offered at once from two processes: the shape that saw a third CANCELLED (4,000).
``--compare`` runs the same with admission effectively off first (limits of 10^6): today's
behaviour, side by side. Writes bench/results/overload.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from bench._common import process_cpu_seconds, write_results  # noqa: E402
from bench._servers import free_port, healthz, wait  # noqa: E402
from gateway.app.devenv import ensure_dev_environment  # noqa: E402
from gateway.client import GatewayClient  # noqa: E402
from gateway.tls import TlsFiles  # noqa: E402

CHANNELS = 4
POLITE_RATE = 0.3  # x peak: the polite member's offer, well under its share


def _canonical_ah(document: dict) -> None:
    """AH sends the same canonical 1 KiB updates as SH."""
    for member in document["members"]:
        if member["id"]["region"] == "AH":
            member["delivery"]["dialect"] = "yrd-canonical/1"


def _payload() -> bytes:
    note = "x" * (1024 - 120)
    body = {"case_id": "B-1", "status": "received", "time": "2026-11-28T10:00:00+08:00"}
    return json.dumps({**body, "note": note}).encode()


# -- a load generator process ---------------------------------------------------------------
async def _load(args) -> dict:
    env = ensure_dev_environment(Path(args.data_dir), mutate=_canonical_ah)
    cert = env.clients[args.member]
    tls = TlsFiles(env.ca.cert_pem, cert.cert_pem, cert.key_pem)
    clients = [
        GatewayClient(
            args.target,
            member=env.member_id(args.member),
            key=env.member_keys[args.member],
            tls=tls,
            options=[("grpc.enable_retries", 0)],
        )
        for _ in range(CHANNELS)
    ]
    count = int(args.count)
    payload = _payload()
    envelopes = [
        clients[0].build(
            recipient=env.member_id("ZJ"), kind="case.status", payload=payload,
            dialect="yrd-canonical/1",
        )
        for _ in range(count)
    ]  # fmt: skip
    for client in clients:  # connect (and warm up) before the clock starts
        await client.channel.channel_ready()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # "go"
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    start = time.perf_counter()

    async def one(i: int, scheduled: float) -> None:
        try:
            await clients[i % CHANNELS].exchange.Submit(envelopes[i], timeout=120)
        except grpc.aio.AioRpcError as error:
            statuses[error.code().name] += 1
            return
        statuses["OK"] += 1
        latencies.append(time.perf_counter() - scheduled)

    if args.rate:  # open loop: latency from the scheduled send time
        interval = 1.0 / args.rate
        tasks = []
        for i in range(count):
            scheduled = start + i * interval
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(i, scheduled)))
        await asyncio.gather(*tasks)
    else:  # closed loop, args.concurrency in flight, for args.seconds
        position = 0
        deadline = start + args.seconds

        async def worker() -> None:
            nonlocal position
            while time.perf_counter() < deadline and position < count:
                i = position
                position += 1
                await one(i, time.perf_counter())

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - start
    for client in clients:
        await client.close()
    return {"statuses": dict(statuses), "latencies": latencies, "elapsed": elapsed}


# -- coordination -----------------------------------------------------------------------------
def _spawn(data_dir: Path, target: str, member: str, count: int, **how: float) -> subprocess.Popen:
    argv = [sys.executable, __file__, "--load", member, "--data-dir", str(data_dir)]
    argv += ["--target", target, "--count", str(count)]
    for name, value in how.items():
        argv += [f"--{name}", str(value)]
    return subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_child_env()
    )


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _run_together(loads: list[subprocess.Popen], server_pid: int) -> tuple[list[dict], float]:
    """Wait until every generator has signed and connected, start them at once; their
    results and the server's CPU seconds meanwhile."""
    for load in loads:
        assert load.stdout is not None and load.stdout.readline().strip() == "ready"
    cpu = process_cpu_seconds(server_pid)
    for load in loads:
        assert load.stdin is not None
        load.stdin.write("go\n")
        load.stdin.flush()
    results = []
    for load in loads:
        out, _ = load.communicate(timeout=600)
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results, process_cpu_seconds(server_pid) - cpu


def _healthy(http_port: int) -> str:
    """/healthz right after the load: its answer and how long it took."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=60) as r:
            answer = str(r.status)
    except OSError as exc:
        answer = type(exc).__name__
    return f"{answer} in {time.perf_counter() - start:.1f} s"


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def _one_gateway(args, limits: tuple[int, int] | None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="yrd-overload-"))
    env = ensure_dev_environment(tmp, pull_regions=("SH", "JS", "ZJ", "AH"), mutate=_canonical_ah)
    grpc_port, http_port = free_port(), free_port()
    settings = {f"YRD_{k.upper()}": v for k, v in env.trust_settings().items()}
    settings["YRD_ANCHOR_MODE"] = "off"
    if limits is None:  # admission effectively off: today's behaviour
        limits = (10**6, 10**6)
    settings["YRD_ADMISSION_MAX_IN_FLIGHT"] = str(limits[0])
    settings["YRD_ADMISSION_MAX_IN_FLIGHT_PER_MEMBER"] = str(limits[1])
    serve = [sys.executable, "-m", "gateway.cli", "serve", "--data-dir", str(tmp)]
    serve += ["--grpc-port", str(grpc_port), "--http-port", str(http_port)]
    gateway = subprocess.Popen(
        serve, env={**_child_env(), **settings}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    target = f"127.0.0.1:{grpc_port}"
    try:
        wait(lambda: healthz(http_port), "the gateway")
        count = int(args.max_rate * args.seconds)
        peak_load = _spawn(tmp, target, "SH", count, concurrency=32, seconds=args.seconds)
        [peak], peak_cpu = _run_together([peak_load], gateway.pid)
        peak_ok = peak["statuses"].get("OK", 0)
        peak_rate = peak_ok / peak["elapsed"]
        offered = args.factor * peak_rate
        polite_rate = POLITE_RATE * peak_rate
        greedy_rate = (offered - polite_rate) / 2
        loads = [
            _spawn(tmp, target, "SH", int(greedy_rate * args.seconds), rate=greedy_rate),
            _spawn(tmp, target, "SH", int(greedy_rate * args.seconds), rate=greedy_rate),
            _spawn(tmp, target, "AH", int(polite_rate * args.seconds), rate=polite_rate),
        ]
        results, cpu = _run_together(loads, gateway.pid)
        burst: dict[str, int] = {}
        # the shape: Submits offered at the same instant (default: factor x peak/s)
        offered_at_once = args.burst or int(args.factor * peak_rate)
        if offered_at_once:
            half = offered_at_once // 2
            fired, _ = _run_together(
                [_spawn(tmp, target, "SH", half, rate=1e9) for _ in range(2)], gateway.pid
            )
            burst = dict(sum((Counter(r["statuses"]) for r in fired), Counter()))
        healthy = _healthy(http_port)
    finally:
        gateway.terminate()
        _, err = gateway.communicate(timeout=60)
    statuses: Counter[str] = Counter()
    for result in results:
        statuses.update(result["statuses"])
    accepted = statuses.get("OK", 0)
    elapsed = max(r["elapsed"] for r in results)
    latencies = [x for r in results for x in r["latencies"]]
    greedy = Counter(results[0]["statuses"]) + Counter(results[1]["statuses"])
    polite = Counter(results[2]["statuses"])
    shed_lines = sum("admission: shedding load" in line for line in err.decode().splitlines())
    return {
        "limits": None if limits[0] >= 10**6 else {"process": limits[0], "member": limits[1]},
        "peak": {
            "per_s": peak_rate,
            "p50_ms": 1000 * statistics.median(peak["latencies"]),
            "p99_ms": _p99(peak["latencies"]),
            "server_cpu_ms_per_exchange": 1000 * peak_cpu / max(1, peak_ok),
            "statuses": peak["statuses"],
        },
        "overload": {
            "offered_per_s": offered,
            "offered": sum(statuses.values()),
            "statuses": dict(statuses),
            "accepted_per_s": accepted / elapsed,
            "accepted_vs_peak": accepted / elapsed / peak_rate,
            "p99_ms": _p99(latencies),
            "p99_vs_peak": _p99(latencies) / max(1e-9, _p99(peak["latencies"])),
            "greedy": {"offered": sum(greedy.values()), "ok": greedy.get("OK", 0)},
            "polite": {"offered": sum(polite.values()), "ok": polite.get("OK", 0)},
            "server_cpu_ms_per_accepted": 1000 * cpu / max(1, accepted),
            "healthy_after": healthy,
            "shedding_log_lines": shed_lines,
        },
        "burst": {"offered": offered_at_once, "statuses": burst},
    }


def _print(name: str, row: dict) -> None:
    peak, over = row["peak"], row["overload"]
    print(
        f"{name}: peak {peak['per_s']:.0f}/s p99 {peak['p99_ms']:.1f} ms, CPU"
        f" {peak['server_cpu_ms_per_exchange']:.2f} ms/exchange; offered"
        f" {over['offered']} at {over['offered_per_s']:.0f}/s: {over['statuses']}"
    )
    print(
        f"    accepted {over['accepted_per_s']:.0f}/s = {over['accepted_vs_peak']:.2f}x peak;"
        f" p99 {over['p99_ms']:.0f} ms = {over['p99_vs_peak']:.1f}x peak's; greedy"
        f" {over['greedy']['ok']}/{over['greedy']['offered']} admitted, polite"
        f" {over['polite']['ok']}/{over['polite']['offered']}; CPU"
        f" {over['server_cpu_ms_per_accepted']:.2f} ms/accepted; healthy"
        f" {over['healthy_after']}; {over['shedding_log_lines']} shedding log lines"
    )
    if row["burst"]["offered"]:
        print(f"    {row['burst']['offered']} at once: {row['burst']['statuses']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--factor", type=float, default=4.0)
    parser.add_argument("--max-rate", type=float, default=1500, help="envelopes per second to sign")
    parser.add_argument("--max-in-flight", type=int, default=128)
    parser.add_argument("--per-member", type=int, default=48)
    parser.add_argument("--burst", type=int, default=0, help="at once (0: factor x peak/s)")
    parser.add_argument("--compare", action="store_true", help="also run with admission off")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    for hidden in ("--data-dir", "--target", "--count"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=32, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        args.member = args.load
        print(json.dumps(asyncio.run(_load(args))), flush=True)
        return
    rows = {}
    if args.compare:
        rows["admission_off"] = _one_gateway(args, None)
        _print("admission off", rows["admission_off"])
    rows["admission_on"] = _one_gateway(args, (args.max_in_flight, args.per_member))
    _print("admission on ", rows["admission_on"])
    payload = {"seconds": args.seconds, "factor": args.factor, "channels": CHANNELS, **rows}
    print(f"wrote {write_results('overload', payload)}")


if __name__ == "__main__":
    main()
