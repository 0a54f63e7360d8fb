"""When the anchorer starts an anchor, and how long it waits after a failure.

The policy is kept apart from the thread and the chain so it reads (and can be checked) on
its own: pure functions of the clock reading and the counters `Anchorer` holds.

Schedule. A new anchor is due when the log has grown past the last anchored size and either
``interval`` seconds have passed since the last anchor was started, or ``every`` new entries
have arrived, whichever comes first. Only one transaction is ever in flight: the next anchor
starts after the last is confirmed or given up, so at full load an anchor covers everything
appended while the previous one was on its way (one transaction per interval, or per
``every`` entries, regardless of the append rate).

Backoff. A failed attempt waits ``backoff_initial`` seconds, doubling with each consecutive
failure up to ``backoff_max``.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["backoff_delay", "check_options", "is_due", "sleep_time"]


def check_options(
    interval: float, every: int | None, backoff_initial: float, backoff_max: float
) -> None:
    """Raise ValueError naming the first option out of range."""
    if interval <= 0:
        raise ValueError(f"interval must be positive: got {interval}")
    if every is not None and every < 1:
        raise ValueError(f"every must be at least 1 or None: got {every}")
    if not 0 < backoff_initial <= backoff_max:
        raise ValueError("backoff must satisfy 0 < backoff_initial <= backoff_max")


def is_due(
    *,
    now: float,
    last_started: float,
    grown: int,
    interval: float,
    every: int | None,
    force: bool,
) -> bool:
    """Whether an anchor is due, the log having ``grown`` (> 0) entries past the anchored size."""
    return force or now - last_started >= interval or (every is not None and grown >= every)


def backoff_delay(failures: int, initial: float, maximum: float) -> float:
    """Seconds to wait after ``failures`` (>= 1) consecutive failed attempts."""
    delay: float = initial * 2 ** (failures - 1)
    return min(maximum, delay)


def sleep_time(now: float, retry_at: float, has_pending: Callable[[], bool], poll: float) -> float:
    """How long the thread sleeps between steps: until the retry is due (at most 1 s), not at
    all while rows are pending, else ``poll``."""
    if now < retry_at:
        return min(retry_at - now, 1.0)
    if has_pending():
        return 0.0
    return poll
