"""``yrdgw serve --workers N``: N gateway processes of one deployment on one host.

Python runs one core's worth of exchange checks per process (the GIL); a host with more
cores runs more processes. They need a shared ``database`` (PostgreSQL): each worker is a
front end of the one log and a candidate for its sequencer (``gateway.app.backends``).

The parent process does what one deployment must do once: it takes the data directory's
lock and checks both ports are free (``gateway.app.instance``: a second deployment is still
refused), then starts the workers and watches them. Each worker is ``yrdgw serve`` with the
same arguments and ``YRD_WORKER_OF`` set to the parent's pid: it skips the lock and the port
check and binds both ports with ``SO_REUSEPORT``, so the kernel spreads new connections over
the workers. A worker that exits is logged (ERROR) and started again after a capped backoff;
SIGTERM or SIGINT to the parent stops every worker (SIGTERM, then SIGKILL after
``STOP_SECONDS``).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.app.instance import InstanceLock, check_port_free
from gateway.app.settings import Settings
from gateway.errors import ConfigError
from ledger.signals import stop_event_on_signals

__all__ = ["WORKER_ENV", "check_workers", "is_worker", "run_workers", "worker_argv"]

log = logging.getLogger("gateway.app.workers")

WORKER_ENV = "YRD_WORKER_OF"
"""Set (to the parent's pid) in a worker's environment; not a setting."""
STOP_SECONDS = 30.0
RESTART_BACKOFF = (1.0, 30.0)  # first delay, cap (doubling)


def is_worker() -> bool:
    """True in a worker process of ``serve --workers``: share the ports, skip the lock."""
    return bool(os.environ.get(WORKER_ENV))


def check_workers(settings: Settings) -> None:
    """``workers`` > 1 needs a shared database, fixed ports and no dev simulators."""
    if settings.workers <= 1:
        return
    if not settings.database:
        raise ConfigError(
            "workers > 1 needs a shared database (database = postgresql://...): with SQLite "
            "one process owns the data directory"
        )
    if settings.grpc_port == 0 or settings.http_port == 0:
        raise ConfigError("workers > 1 needs fixed grpc_port and http_port (not 0)")
    if settings.dev:
        raise ConfigError("workers > 1 cannot run the dev simulators (their ports are fixed)")


def worker_argv(argv: Sequence[str]) -> list[str]:
    """The command line of a worker: the parent's ``serve`` arguments without ``--workers``."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers="):
            continue
        out.append(arg)
    return [sys.executable, "-m", "gateway.cli", *out]


@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes]
    started: float
    restarts: int = 0


def run_workers(settings: Settings, argv: Sequence[str]) -> int:
    """Run ``settings.workers`` workers until SIGTERM/SIGINT (module docstring); 0 on a
    clean stop. ``argv`` is the parent's own ``serve`` arguments."""
    check_workers(settings)
    lock = InstanceLock(settings.data_dir)
    try:
        check_port_free("gRPC", settings.host, settings.grpc_port)
        check_port_free("HTTP", settings.host, settings.http_port)
        stop = stop_event_on_signals()  # never Event.set() in a handler
        command = worker_argv(argv)
        workers = [_spawn(command, i) for i in range(settings.workers)]
        print(
            f"yrdgw: {settings.workers} workers (pids "
            f"{', '.join(str(w.proc.pid) for w in workers)}) on gRPC {settings.host}:"
            f"{settings.grpc_port} and HTTP {settings.host}:{settings.http_port}",
            flush=True,
        )
        _watch(workers, command, stop)
        _stop_all(workers)
        return 0
    finally:
        lock.release()


def _spawn(command: list[str], index: int, restarts: int = 0) -> _Worker:
    env = {**os.environ, WORKER_ENV: str(os.getpid()), "YRD_WORKERS": "1"}
    proc = subprocess.Popen(command, env=env)
    return _Worker(index, proc, time.monotonic(), restarts)


def _watch(workers: list[_Worker], command: list[str], stop: threading.Event) -> None:
    """Restart a worker that exits, after a backoff that doubles while it keeps dying."""
    due: dict[int, float] = {}
    while not stop.wait(0.5):
        now = time.monotonic()
        for i, worker in enumerate(workers):
            code = worker.proc.poll()
            if code is None:
                continue
            if i not in due:
                first, cap = RESTART_BACKOFF
                quick = now - worker.started < 60  # died soon after its start: back off
                delay = min(cap, first * 2**worker.restarts) if quick else first
                due[i] = now + delay
                log.error(
                    "worker %d (pid %d) exited with code %s; starting it again in %.0f s",
                    worker.index,
                    worker.proc.pid,
                    code,
                    delay,
                )
            elif now >= due[i]:
                del due[i]
                restarts = worker.restarts + 1 if now - worker.started < 60 else 0
                workers[i] = _spawn(command, worker.index, restarts)


def _stop_all(workers: list[_Worker]) -> None:
    for worker in workers:
        if worker.proc.poll() is None:
            worker.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for worker in workers:
        try:
            worker.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.error("worker %d did not stop in %.0f s: killed", worker.index, STOP_SECONDS)
            worker.proc.kill()
            worker.proc.wait(10)
