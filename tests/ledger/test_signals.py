"""``ledger.signals``: SIGTERM/SIGINT set a stop event wherever the main thread was.

The handler it replaced called ``Event.set()``; arriving while the main thread held the
event's lock (inside ``Event.wait()``, or inside that same handler's ``set()`` when a second
signal followed the first) it waited forever on its own thread's lock. A dev witness hung
that way, orphaned, after two SIGTERMs. The first test recreates that moment exactly: the
handler runs while the main thread holds the lock.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HOLDING_THE_LOCK = textwrap.dedent(
    """
    import signal
    from ledger.signals import stop_event_on_signals

    stop = stop_event_on_signals()
    handler = signal.getsignal(signal.SIGTERM)
    with stop._cond:  # where Event.wait() and Event.set() hold it
        handler(signal.SIGTERM, None)
        handler(signal.SIGTERM, None)
    print("set" if stop.wait(10) else "not set", flush=True)
    """
)


def test_the_handler_never_waits_for_the_events_lock():
    done = subprocess.run(
        [sys.executable, "-c", HOLDING_THE_LOCK],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "set"


def test_a_burst_of_sigterms_stops_a_waiting_process_cleanly(tmp_path):
    script = tmp_path / "waits.py"
    script.write_text(
        textwrap.dedent(
            """
            from ledger.signals import stop_event_on_signals

            stop = stop_event_on_signals()
            print("ready", flush=True)
            while not stop.wait(0.0005):  # in and out of the event's lock all the time
                pass
            print("stopped", flush=True)
            """
        )
    )
    for _ in range(5):
        proc = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        for _ in range(200):
            if proc.poll() is not None:
                break
            proc.send_signal(15)
        try:
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        # the event was set and the process ended; a SIGTERM of the burst that lands after
        # the interpreter restored the default handlers at exit ends it with -15 instead of 0
        assert out.strip() == "stopped"
        assert proc.returncode in (0, -15)
