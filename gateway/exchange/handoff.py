"""Results from worker threads back into the event loop, one wake-up per burst.

``asyncio.wrap_future`` (and ``run_in_executor``) wake the loop once per future: a write to
its self-pipe and a pass of the selector each. The log's sequencer resolves a whole batch
of appends at once, and the verify jobs finish in bursts too, so :class:`LoopHandoff`
queues finished futures and wakes the loop only when the queue was empty: one call into
the loop resolves every future that finished meanwhile.

Cancelling the awaiting task does not cancel the work (an append may already be durable;
the log answers a cancelled future as given up, ``ledger.log``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

__all__ = ["LoopHandoff"]

T = TypeVar("T")


class LoopHandoff:
    """Awaitable results of concurrent futures for one event loop (see the module)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._ready: list[tuple[asyncio.Future[Any], Future[Any]]] = []
        self.wakeups = 0
        """Calls into the loop so far (each resolved every future ready by then)."""

    @classmethod
    def current(cls) -> LoopHandoff:
        """The running loop's hand-off (one per loop)."""
        loop = asyncio.get_running_loop()
        handoff = getattr(loop, "_yrd_handoff", None)
        if handoff is None:
            handoff = cls(loop)
            loop._yrd_handoff = handoff  # type: ignore[attr-defined]
        return handoff

    def wrap(self, done: Future[T]) -> asyncio.Future[T]:
        """An asyncio future with the outcome of ``done`` (a concurrent future)."""
        waiting: asyncio.Future[T] = self._loop.create_future()
        done.add_done_callback(lambda finished: self._finished(waiting, finished))
        return waiting

    def run(self, executor: Executor, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """``fn(*args)`` in ``executor``, awaited through :meth:`wrap`."""
        return self.wrap(executor.submit(fn, *args))

    def _finished(self, waiting: asyncio.Future[Any], finished: Future[Any]) -> None:
        with self._lock:
            self._ready.append((waiting, finished))
            first = len(self._ready) == 1
        if first:
            self.wakeups += 1
            try:
                self._loop.call_soon_threadsafe(self._resolve)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

    def _resolve(self) -> None:
        with self._lock:
            ready, self._ready = self._ready, []
        for waiting, finished in ready:
            if waiting.cancelled():
                continue
            if finished.cancelled():
                waiting.cancel()
                continue
            error = finished.exception()
            if error is not None:
                waiting.set_exception(error)
            else:
                waiting.set_result(finished.result())
