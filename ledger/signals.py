"""SIGTERM and SIGINT as a :class:`threading.Event`, set without a lock in the handler.

A Python signal handler runs in the main thread between two bytecodes, wherever that
thread is: also inside ``Event.wait()`` or inside the handler's own ``Event.set()``, with
the event's lock held. A handler that calls ``Event.set()`` then waits forever on a lock
its own thread holds. Two SIGTERMs close together (the parent-death signal and the
parent's own stop) did exactly that to a dev witness: it stayed behind, orphaned, holding
its data directory. Here the handler only writes a byte to a pipe; a small thread reads
it and sets the event.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterable

__all__ = ["STOP_SIGNALS", "stop_event_on_signals"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stop_event_on_signals(signals: Iterable[signal.Signals] = STOP_SIGNALS) -> threading.Event:
    """An event set once any of ``signals`` arrives; call from the main thread, once."""
    stop = threading.Event()
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)

    def relay() -> None:
        try:
            os.read(read_end, 1)
        finally:
            stop.set()

    threading.Thread(target=relay, name="stop-signal", daemon=True).start()

    def on_signal(signum: int, frame: object) -> None:
        # takes no lock: safe wherever the main thread was when the signal came
        with contextlib.suppress(BlockingIOError):  # full pipe: a stop is on its way
            os.write(write_end, b"\0")

    for signum in signals:
        signal.signal(signum, on_signal)
    return stop
