"""The rule "no blocking store call on the event loop", and the guard that catches a breach.

A SQLite call can wait for a lock (``busy_timeout`` up to 10 s) or an fsync; on the event
loop that wait stalls every RPC of the process. So async code reaches a store only through
its ``run`` facade (:class:`OffLoop`: one hand-off into a worker thread per operation, or
per batch of calls made by one function), and the stores' connection accessors call
:func:`assert_off_loop`.

The check costs nothing until a loop is guarded. Tests guard the gateway's loop
(:func:`guard`; ``tests/gateway/harness.py`` with ``off_loop_guard=True``, or every harness
gateway with ``YRD_ASSERT_OFF_LOOP=1``): a store call made on that loop's thread then raises
:class:`OnLoopError` naming the call, and is kept in :func:`violations` (a background task
that swallows the error still fails the test that looks there). Constructors open their
connection unchecked: they run once, before the gateway serves.
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from gateway.errors import Code, Error

__all__ = ["OffLoop", "OnLoopError", "assert_off_loop", "guard", "unguard", "violations"]

T = TypeVar("T")

_guarded: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
_violations: list[str] = []


class OnLoopError(Error):
    """A blocking store call ran on a guarded event loop's thread."""

    code = Code.STORE_ON_LOOP


def guard(loop: asyncio.AbstractEventLoop) -> None:
    """From now on a store call on ``loop``'s thread raises :class:`OnLoopError`."""
    _guarded.add(loop)


def unguard(loop: asyncio.AbstractEventLoop) -> None:
    _guarded.discard(loop)


def violations() -> list[str]:
    """Every store call caught on a guarded loop so far (``store.method <- caller``)."""
    return list(_violations)


def assert_off_loop(store: str) -> None:
    """Raise :class:`OnLoopError` if this thread runs a guarded event loop."""
    if not _guarded:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # a worker thread: blocking is what it is for
    if loop not in _guarded:
        return
    what = f"{store}.{_caller()}"
    _violations.append(what)
    raise OnLoopError(f"blocking store call on the event loop: {what} (use 'await store.run')")


class OffLoop:
    """``await run(fn, *args)``: ``fn(*args)`` in a worker thread (the loop's default
    executor, as ``asyncio.to_thread``), the result back on the loop. A store mixes this in
    as its async facade: ``fn`` may be one of its methods or a function that makes several
    calls in one hand-off."""

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)


_PLUMBING = ("store.py", "errors.py", "contextlib.py", "loopguard.py", "storage/pool.py")


def _caller() -> str:
    """``method <- file:line`` of the store method called and the code that called it."""
    frame, method = sys._getframe(1), "?"
    while frame.f_back is not None and frame.f_code.co_filename.endswith(_PLUMBING):
        if frame.f_code.co_filename.endswith("store.py"):
            method = frame.f_code.co_name
        frame = frame.f_back
    return f"{method} <- {frame.f_code.co_filename}:{frame.f_lineno}"
