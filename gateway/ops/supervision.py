"""Supervision of the gateway's background workers, and the one health table they feed.

A worker that dies silently leaves a gateway that looks up and is not (issue 11, finding 2),
so every background worker is either run or watched here:

- **run** (asyncio tasks: push delivery, nonce purger, registry reload, metrics refresh): an
  unexpected exception is logged once with its cause, the worker is marked down, and it is
  restarted after a capped, jittered exponential backoff. It is up again once it calls its
  ``beat()`` (one round of work done), so a cause that persists (disk full) keeps it down.
- **watched** (threads: the log sequencer, the anchorer): a check returns the cause while
  the worker cannot do its job, ``None`` when it can; it is polled every ``poll`` seconds.

While any worker is down :attr:`Supervisor.healthy` is false; the gateway then answers
``/healthz`` with 503 naming each down worker, sets gRPC health to NOT_SERVING, and the
metrics ``yrd_worker_up{worker}`` and ``yrd_worker_restarts_total{worker}`` say so.
When the cause is gone it recovers by itself; nothing needs a restart.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Beat", "Supervisor", "WorkerState", "describe"]

log = logging.getLogger("gateway.ops.supervision")

Beat = Callable[[], None]
"""Called by a run worker after each round of work that succeeded: marks it up."""


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception on one bounded line (it is shown in /healthz)."""
    text = " ".join(str(exc).split())
    text = text if len(text) <= 200 else text[:199] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class WorkerState:
    """One row of the health table."""

    name: str
    up: bool = True
    cause: str | None = None
    restarts: int = 0
    since: float = 0.0
    """Wall-clock time of the last change between up and down."""

    def as_dict(self) -> dict[str, Any]:
        return {"up": self.up, "cause": self.cause, "restarts": self.restarts}


class Supervisor:
    """Runs and watches named workers; keeps the health table; calls ``on_change(healthy)``."""

    def __init__(
        self,
        metrics: Any = None,
        *,
        base: float = 0.5,
        cap: float = 30.0,
        poll: float = 0.2,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.metrics = metrics
        self.base, self.cap, self.poll = base, cap, poll
        self._jitter = jitter
        self.workers: dict[str, WorkerState] = {}
        self._checks: dict[str, Callable[[], str | None]] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self._attempts: dict[str, int] = {}
        self._listeners: list[Callable[[bool], Awaitable[None]]] = []
        self._changed: asyncio.Event | None = None
        self._monitor: asyncio.Task | None = None
        self._reported: bool | None = None

    # -- registering -------------------------------------------------------------------
    def run(self, name: str, work: Callable[[Beat], Awaitable[None]]) -> None:
        """Run ``work(beat)`` as a supervised task: restarted with backoff when it raises."""
        self._add(name)
        self._tasks[name] = asyncio.get_running_loop().create_task(
            self._keep(name, work), name=f"worker:{name}"
        )

    def watch(self, name: str, check: Callable[[], str | None]) -> None:
        """Watch a thread through ``check()``: its cause while down, ``None`` while up."""
        self._add(name)
        self._checks[name] = check

    def on_change(self, listener: Callable[[bool], Awaitable[None]]) -> None:
        """``await listener(healthy)`` whenever the overall health flips (and once at start)."""
        self._listeners.append(listener)

    def _add(self, name: str) -> None:
        if name in self.workers:
            raise ValueError(f"worker {name!r} is already supervised")
        self.workers[name] = WorkerState(name, since=time.time())
        self._attempts[name] = 0
        if self.metrics is not None:
            self.metrics.worker_up.labels(name).set(1)
            self.metrics.worker_restarts.labels(name).inc(0)

    # -- state -------------------------------------------------------------------------
    @property
    def healthy(self) -> bool:
        return all(state.up for state in self.workers.values())

    def down(self) -> dict[str, str]:
        """Each down worker and its cause."""
        return {name: state.cause or "down" for name, state in self.workers.items() if not state.up}

    def _set(self, name: str, up: bool, cause: str | None) -> None:
        state = self.workers[name]
        if state.up == up and state.cause == cause:
            return
        if state.up != up:
            state.since = time.time()
            if up:
                log.warning("worker %s recovered", name, extra={"worker": name})
        state.up, state.cause = up, cause
        if self.metrics is not None:
            self.metrics.worker_up.labels(name).set(1 if up else 0)
        if self._changed is not None:
            self._changed.set()

    def _beat(self, name: str) -> None:
        self._attempts[name] = 0
        self._set(name, True, None)

    # -- running -----------------------------------------------------------------------
    async def _keep(self, name: str, work: Callable[[Beat], Awaitable[None]]) -> None:
        """Run ``work`` forever; on an exception log it once, mark down, back off, restart."""

        def beat() -> None:
            self._beat(name)

        while True:
            try:
                await work(beat)
                raise RuntimeError("worker returned; workers must run until cancelled")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                cause = describe(exc)
                state = self.workers[name]
                if state.up or state.cause != cause:  # once per cause, not once per retry
                    log.error(
                        "worker %s failed: %s", name, cause, exc_info=exc, extra={"worker": name}
                    )
                self._set(name, False, cause)
            delay = self._delay(self._attempts[name])
            self._attempts[name] += 1
            await asyncio.sleep(delay)
            self.workers[name].restarts += 1
            if self.metrics is not None:
                self.metrics.worker_restarts.labels(name).inc()

    def _delay(self, attempts: int) -> float:
        """Capped exponential backoff with jitter in [half, full] so restarts do not align."""
        full = min(self.cap, self.base * (2 ** min(attempts, 30)))
        return full * (0.5 + 0.5 * self._jitter())

    async def start(self) -> None:
        """Start polling the watched threads and telling listeners about changes."""
        self._changed = asyncio.Event()
        await self._check_now()
        self._monitor = asyncio.get_running_loop().create_task(
            self._watch_loop(), name="worker:supervisor"
        )

    async def _check_now(self) -> None:
        for name, check in self._checks.items():
            try:
                cause = check()
            except Exception as exc:  # a check that fails is itself a reason to be down
                cause = f"health check failed: {describe(exc)}"
            self._set(name, cause is None, cause)
        healthy = self.healthy
        if healthy != self._reported:
            first, self._reported = self._reported is None, healthy
            if healthy:
                log.log(logging.INFO if first else logging.WARNING, "all workers up: serving")
            else:
                log.error("workers down, not serving: %s", self.down())
            for listener in self._listeners:
                await listener(healthy)

    async def _watch_loop(self) -> None:
        assert self._changed is not None
        while True:
            try:
                await asyncio.wait_for(self._changed.wait(), self.poll)
            except TimeoutError:
                pass
            self._changed.clear()
            try:
                await self._check_now()
            except Exception:  # the monitor itself must not die: log and keep polling
                log.exception("supervisor health update failed")

    async def stop(self) -> None:
        """Cancel every run worker and the monitor; wait until they have ended.

        Cancelling again until each task is done: before Python 3.12 ``asyncio.wait_for``
        can swallow a cancellation that lands as its inner wait completes, and a worker
        that loops would then never end.
        """
        pending = {*self._tasks.values(), *([self._monitor] if self._monitor else [])}
        while pending:
            for task in pending:
                task.cancel()
            done, pending = await asyncio.wait(pending, timeout=0.5)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("worker %s ended with %s", task.get_name(), task.exception())
        self._tasks.clear()
        self._monitor = None
