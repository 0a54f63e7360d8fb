"""Shared helpers for the benchmarks: timing loops, results files, machine facts."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def rate(fn: Callable[[], object], seconds: float = 2.0, min_calls: int = 20) -> float:
    """Calls per second of ``fn`` over about ``seconds`` of wall time."""
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(min_calls):
            fn()
        calls += min_calls
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used, from /proc.

    The load generator runs in its own process, so this is the server's cost alone: on a
    shared, noisy machine CPU per operation is steadier than throughput.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15)


def tree_cpu(pid: int, reaped: bool = False) -> dict[int, float]:
    """CPU seconds of ``pid`` and each of its live descendants, by pid. ``reaped`` adds, to
    ``pid``'s own figure, the CPU of its children that have exited and been waited for
    (cutime + cstime): a PostgreSQL backend that ends during a run is still counted."""
    out: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used = int(fields[11]) + int(fields[12])
        if reaped and member == pid:
            used += int(fields[13]) + int(fields[14])
        out[member] = used / ticks
    return out


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot, from /proc/stat: how much of
    the machine a run left idle (other tenants' work included)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal
    return total - values[3] - values[4], total


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants alive now (a server may run workers or simulators as
    child processes: their CPU is the server's too)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def context_switches(pid: int) -> int:
    """Voluntary + involuntary context switches of every thread of a process, from
    /proc/<pid>/task/*/status (/proc/<pid>/status alone counts the main thread only).
    Threads that have exited are not counted: the figure is a lower bound."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            lines = (task / "status").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                total += int(line.split()[1])
    return total


def server_counters(pid: int) -> tuple[float, int]:
    """(CPU seconds, context switches) of a server and its child processes."""
    cpu, switches = 0.0, 0
    for member in process_tree(pid):
        try:
            cpu += process_cpu_seconds(member)
            switches += context_switches(member)
        except OSError:
            continue
    return cpu, switches


def machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_results(name: str, payload: dict[str, object]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2) + "\n")
    return path
