"""Sign-in throttling: temporary lockout per account and per client address.

Policy (docs/web.md, "Sign-in limits"): failures are counted per key in a sliding window of
``WINDOW`` seconds (15 minutes). From the ``threshold``-th failure in the window (5 for an
account name, 20 for a client address) the key is locked for ``BASE_LOCK`` seconds (1 minute),
doubling with every further failure in the window up to ``MAX_LOCK`` (1 hour). While a key is
locked, sign-in is refused with :class:`SignInThrottled` (HTTP 429 with ``Retry-After``)
*before* any password is checked, so guessing stops. Each attempt counts as a failure from
the moment it starts (so concurrent guesses are all counted); a success takes its own
attempt back and clears the account name's record. Unknown account names are throttled
exactly like known ones, so the answer never tells whether an account exists.

State is per process and in memory, bounded to ``MAX_KEYS`` keys (the oldest are forgotten
first); a restart clears it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.cases.errors import CaseForbidden

__all__ = ["SignInThrottle", "SignInThrottled", "ThrottlePolicy"]

WINDOW = 15 * 60.0
BASE_LOCK = 60.0
MAX_LOCK = 3600.0
MAX_KEYS = 100_000


_WHAT_ZH = {"account": "账号", "address": "地址"}


class SignInThrottled(CaseForbidden):
    """Too many failed sign-ins for an account or an address; ``retry_after`` in seconds."""

    def __init__(self, what: str, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            "too_many_attempts",
            f"登录失败次数过多，该{_WHAT_ZH.get(what, what)}已暂时锁定，"
            f"请 {self.retry_after} 秒后再试",
        )


@dataclass(frozen=True)
class ThrottlePolicy:
    """When a key locks and for how long (see the module docstring)."""

    threshold: int
    window: float = WINDOW
    base_lock: float = BASE_LOCK
    max_lock: float = MAX_LOCK

    def lock_seconds(self, failures: int) -> float:
        """Lock length after ``failures`` in the window (0 below the threshold)."""
        if failures < self.threshold:
            return 0.0
        return min(self.base_lock * 2 ** min(failures - self.threshold, 32), self.max_lock)


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class _Counter:
    """Failures and lock of each key under one policy; bounded in size."""

    def __init__(self, policy: ThrottlePolicy, max_keys: int) -> None:
        self.policy = policy
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._max_keys = max_keys

    def locked_for(self, key: str, now: float) -> float:
        record = self._records.get(key)
        return max(0.0, record.locked_until - now) if record else 0.0

    def fail(self, key: str, now: float) -> None:
        record = self._records.pop(key, None) or _Record()
        self._records[key] = record  # most recent last
        while record.failures and record.failures[0] <= now - self.policy.window:
            record.failures.popleft()
        record.failures.append(now)
        lock = self.policy.lock_seconds(len(record.failures))
        if lock:
            record.locked_until = max(record.locked_until, now + lock)
        while len(self._records) > self._max_keys:
            self._records.popitem(last=False)

    def clear(self, key: str) -> None:
        self._records.pop(key, None)

    def forgive_one(self, key: str) -> None:
        """Take back the latest failure (an attempt that succeeded); the lock is recomputed."""
        record = self._records.get(key)
        if record is None or not record.failures:
            return
        record.failures.pop()
        lock = self.policy.lock_seconds(len(record.failures))
        record.locked_until = record.failures[-1] + lock if lock else 0.0


class SignInThrottle:
    """Per-account and per-address lockout for :meth:`Accounts.sign_in`.

    ``begin`` raises :class:`SignInThrottled` while either key is locked, and otherwise
    counts the attempt as a failure at once (atomically), so concurrent guesses cannot slip
    past the threshold while their passwords are being checked; ``succeeded`` takes a
    successful attempt back off the address and clears the account name. Thread-safe
    (sign-in runs in worker threads).
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        account: ThrottlePolicy | None = None,
        address: ThrottlePolicy | None = None,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._accounts = _Counter(account or ThrottlePolicy(threshold=5), max_keys)
        self._addresses = _Counter(address or ThrottlePolicy(threshold=20), max_keys)

    def begin(self, username: str, address: str | None) -> None:
        now = self._clock()
        with self._lock:
            wait = self._accounts.locked_for(username, now)
            if wait > 0:
                raise SignInThrottled("account", wait)
            wait = self._addresses.locked_for(address, now) if address else 0.0
            if wait > 0:
                raise SignInThrottled("address", wait)
            self._accounts.fail(username, now)
            if address:
                self._addresses.fail(address, now)

    def succeeded(self, username: str, address: str | None) -> None:
        with self._lock:
            self._accounts.clear(username)
            if address:
                self._addresses.forgive_one(address)
