"""One server's timed runs for bench/exchange.py: start the load processes, read the server's
(and its database's) CPU and context switches and the machine's idle time around each run.

Counted per run: the server's process tree (``serve --workers``: the parent and each worker,
split by process), the PostgreSQL server's process tree when the server uses one (the
postmaster, its live backends and the backends that ended during the run), the load
processes' own CPU, and the whole machine's busy ticks (/proc/stat: other tenants included).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import time

import grpc

from bench._common import context_switches, machine_ticks, process_tree, tree_cpu
from bench._load import ECHO_METHOD, OPTIONS, LoadSpec, load_process, payload
from bench._servers import Server
from gateway.app.devenv import DevEnvironment
from gateway.exchange.envelopes import signed_envelope

__all__ = [
    "CHANNELS",
    "CORES",
    "IDLE_S",
    "LOAD_PROCESSES",
    "SETTLE_S",
    "idle_cpu",
    "measure",
    "probe",
    "sm2_verify_ms",
]

CORES = os.cpu_count() or 1
LOAD_PROCESSES = max(1, CORES // 2)
CHANNELS = 8  # connections per load process: enough that SO_REUSEPORT reaches every worker
IDLE_S = 3.0  # no load: how much CPU the server burns doing nothing
SETTLE_S = 1.0  # after a run, before the CPU is read again: deferred work is the exchange's
SMALL = 4096
PEAK_CAP = {True: 1500, False: 800}  # envelopes signed per second of peak run (small, large)
ECHO_SET = 400  # the echo has no replay check: it cycles through this many envelopes


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


def probe(server: Server, env: DevEnvironment, size: int) -> int:
    """One real Submit (warms the server up); the reply's size in bytes."""
    cert = env.clients["SH"]
    creds = grpc.ssl_channel_credentials(env.ca.cert_pem, cert.key_pem, cert.cert_pem)
    with grpc.secure_channel(server.target, creds, options=OPTIONS) as channel:
        request = _envelope(env, size).SerializeToString()
        return len(channel.unary_unary(server.method)(request, timeout=30))


def _counters(server: Server) -> dict:
    switches = 0
    for pid in process_tree(server.proc.pid):
        try:
            switches += context_switches(pid)
        except OSError:
            continue
    return {
        "server": tree_cpu(server.proc.pid, reaped=True),
        "database": tree_cpu(server.postmaster, reaped=True) if server.postmaster else {},
        "switches": switches,
    }


def idle_cpu(server: Server, seconds: float = IDLE_S) -> dict[str, float]:
    """The server's and its database's CPU with no load, as a share of one core: what
    pollers, lease renewals and standby sequencers cost whether or not exchanges arrive."""
    before = _counters(server)
    time.sleep(seconds)
    after = _counters(server)
    return {
        key: sum(_delta(before[key], after[key]).values()) / seconds
        for key in ("server", "database")
    }


def _delta(before: dict[int, float], after: dict[int, float]) -> dict[int, float]:
    """CPU used during the run, per process (a process born during the run counts whole)."""
    return {pid: used - before.get(pid, 0.0) for pid, used in after.items()}


def run_load(server: Server, specs: list[LoadSpec]) -> dict:
    """Start the load processes, wait until each has signed and warmed up, run them together
    and read the counters around the run."""
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
    before = _counters(server)
    start_at = time.time() + 0.3
    for conn in pipes:
        conn.send(start_at)
    time.sleep(max(0.0, start_at - time.time()))
    machine0 = machine_ticks()
    parts = []
    for conn in pipes:
        if not conn.poll(specs[0].seconds + 300):
            raise RuntimeError(f"{server.name}: a load process never finished")
        parts.append(conn.recv())
    machine1 = machine_ticks()
    time.sleep(SETTLE_S)
    after = _counters(server)
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
    server_cpu = _delta(before["server"], after["server"])
    database_cpu = sum(_delta(before["database"], after["database"]).values())
    workers = sorted((v for pid, v in server_cpu.items() if pid != server.proc.pid), reverse=True)
    busy, total = machine1[0] - machine0[0], machine1[1] - machine0[1]
    client_cpu = sum(p["client_cpu_s"] for p in parts)
    return {
        "ok": ok,
        "errors": errors,
        "per_s": ok / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(ok - 1, int(ok * 0.99))],
        "max_ms": 1000 * latencies[-1],
        "server_cpu_ms": 1000 * sum(server_cpu.values()) / ok,
        "database_cpu_ms": 1000 * database_cpu / ok,
        "total_cpu_ms": 1000 * (sum(server_cpu.values()) + database_cpu) / ok,
        "client_cpu_ms": 1000 * client_cpu / ok,
        # serve --workers: each worker's share of the server's CPU, largest first
        "worker_cpu_shares": [w / max(1e-9, sum(server_cpu.values())) for w in workers],
        "context_switches": (after["switches"] - before["switches"]) / ok,
        "load_process_busy": client_cpu / sum(p["elapsed_s"] for p in parts),
        # the whole machine during the timed run (every tenant): busy fraction, idle cores
        "machine_busy": busy / max(1, total),
        "machine_idle_cores": CORES * (total - busy) / max(1, total),
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
        "channels": CHANNELS,
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


def sm2_verify_ms(env: DevEnvironment, size: int, seconds: float = 1.0) -> float:
    """CPU ms of one SM2 verify of a signed envelope of this size, as the gateway does it (SM3
    of the envelope bytes included): the part of the floor the echo does not pay. CPU time
    (this thread's), not wall time, like the servers' figures it is compared with: on a
    shared machine wall time per verify swings with the other tenants' load."""
    signed = _envelope(env, size)
    public = env.member_keys["SH"].public_key
    calls, cpu0, deadline = 0, time.thread_time(), time.perf_counter() + seconds
    while calls < 20 or time.perf_counter() < deadline:
        public.verify(signed.envelope, signed.signature)
        calls += 1
    return 1000 * (time.thread_time() - cpu0) / calls
