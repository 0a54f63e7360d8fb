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
