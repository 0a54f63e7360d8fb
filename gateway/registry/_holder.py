"""``RegistryHolder``: the running gateway's copy of the registry, reloaded from a file.

A reload that fails (unreadable file, bad signature, expired, older serial) never replaces
the copy in use: the holder keeps the last good registry and records the error, which the
server reports as an alarm (log line, metric, health detail).

Expiry has one policy (docs/registry.md, "Expiry"): a copy is used until ``expires_at``;
from then on, for ``grace`` more, it is still used but every reload (once a minute) logs an
error and ``expired_seconds`` feeds the ``yrd_registry_expired`` alarm; past
``expires_at + grace``, ``require()`` refuses with :class:`RegistryExpiredRefusal`
(``registry_expired``, FAILED_PRECONDITION), so no exchange is checked against it. A copy
already past the grace is refused at load, so the gateway does not start on it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.registry._model import format_time
from gateway.registry._registry import TrustRegistry
from gateway.registry._signing import load_registry
from gateway.registry.errors import (
    RegistryError,
    RegistryExpired,
    RegistryExpiredRefusal,
    RegistryRollbackError,
    RegistrySourceError,
)
from ledger.crypto import PublicKey

__all__ = ["DEFAULT_EXPIRY_GRACE", "RegistryHolder"]

DEFAULT_EXPIRY_GRACE = timedelta(hours=1)

log = logging.getLogger("gateway.registry")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RegistryHolder:
    """Holds the last good TrustRegistry loaded from ``path``.

    ``reload()`` never raises a RegistryError: it returns whether the registry in use
    changed, and a failure is kept in ``last_error`` (cleared by the next good load).
    A new copy must advance ``serial``; the same bytes again are "unchanged", not an error.
    ``grace`` is how long past its expiry a copy stays usable (see the module docstring).
    Thread-safe: readers take ``current`` (one attribute read), reloads are serialised.
    """

    def __init__(
        self,
        path: str | Path,
        trusted_governance_keys: Iterable[PublicKey],
        clock: Callable[[], datetime] = _utc_now,
        grace: timedelta = DEFAULT_EXPIRY_GRACE,
    ) -> None:
        self.path = Path(path)
        self.trusted_governance_keys = tuple(trusted_governance_keys)
        self.clock = clock
        self.grace = grace
        self.current: TrustRegistry | None = None
        self.last_error: RegistryError | None = None
        self.last_error_at: datetime | None = None
        self.loaded_at: datetime | None = None
        self.failures = 0
        self._lock = threading.Lock()

    def reload(self) -> bool:
        """Load ``path`` again; True if a new registry is now in use."""
        with self._lock:
            now = self.clock()
            try:
                try:
                    data = self.path.read_bytes()
                except OSError as exc:
                    raise RegistrySourceError(
                        f"cannot read registry file {self.path}: {exc.strerror or exc}"
                    ) from exc
                current = self.current
                if current is not None and data == current.signed:
                    # Unchanged file: still say so if the copy in use has run out.
                    current.check_valid(now)
                    self._ok()
                    return False
                fresh = load_registry(data, self.trusted_governance_keys, now, grace=self.grace)
                if current is not None and fresh.serial <= current.serial:
                    raise RegistryRollbackError(
                        f"registry serial must increase: in use {current.serial}, "
                        f"got {fresh.serial}"
                    )
            except RegistryError as exc:
                self._failed(exc, now)
                return False
            self.current = fresh
            self.loaded_at = now
            self._ok()
            try:
                fresh.check_valid(now)  # loaded within the grace period: raise the alarm
            except RegistryExpired as exc:
                self._failed(exc, now)
            return True

    def _failed(self, exc: RegistryError, now: datetime) -> None:
        self.last_error = exc
        self.last_error_at = now
        self.failures += 1
        if isinstance(exc, RegistryExpired) and self.current is not None:
            left = (self.current.expires_at + self.grace - now).total_seconds()
            log.error(
                "trust registry serial %s expired at %s, %d s ago; %s",
                self.current.serial,
                format_time(self.current.expires_at),
                self.expired_seconds(now),
                f"exchanges are refused from now on ({exc})"
                if left <= 0
                else f"exchanges are refused in {left:.0f} s unless a new registry arrives",
            )

    def _ok(self) -> None:
        self.last_error = None
        self.last_error_at = None
        self.failures = 0

    def expired_seconds(self, now: datetime | None = None) -> float:
        """Seconds the copy in use is past its ``expires_at`` (0 if not expired or none)."""
        current = self.current
        if current is None:
            return 0.0
        now = now or self.clock()
        return max(0.0, (now - current.expires_at).total_seconds())

    def require(self) -> TrustRegistry:
        """The registry in use; raises the last error (or RegistryError) if there is none,
        and RegistryExpiredRefusal once it is past its expiry plus the grace period."""
        current = self.current
        if current is None:
            if self.last_error is not None:
                raise self.last_error
            raise RegistryError(f"no trust registry loaded from {self.path}")
        now = self.clock()
        if now >= current.expires_at + self.grace:
            raise RegistryExpiredRefusal(
                f"trust registry expired: serial {current.serial} expired at "
                f"{format_time(current.expires_at)}, beyond the grace period of "
                f"{self.grace.total_seconds():.0f} s (now {format_time(now)})",
                now,
                current.issued_at,
                current.expires_at,
            )
        return current

    @property
    def healthy(self) -> bool:
        """A registry is in use, the last reload succeeded and it has not expired."""
        return self.current is not None and self.last_error is None
