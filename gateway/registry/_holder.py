"""``RegistryHolder``: the running gateway's copy of the registry, reloaded from a file.

A reload that fails (unreadable file, bad signature, expired, older serial) never replaces
the copy in use: the holder keeps the last good registry and records the error, which the
server reports as an alarm (log line, metric, health detail).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from ledger.crypto import PublicKey

from ._registry import TrustRegistry
from ._signing import load_registry
from .errors import RegistryError, RegistryRollbackError, RegistrySourceError

__all__ = ["RegistryHolder"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RegistryHolder:
    """Holds the last good TrustRegistry loaded from ``path``.

    ``reload()`` never raises a RegistryError: it returns whether the registry in use
    changed, and a failure is kept in ``last_error`` (cleared by the next good load).
    A new copy must advance ``serial``; the same bytes again are "unchanged", not an error.
    Thread-safe: readers take ``current`` (one attribute read), reloads are serialised.
    """

    def __init__(
        self,
        path: str | Path,
        trusted_governance_keys: Iterable[PublicKey],
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.path = Path(path)
        self.trusted_governance_keys = tuple(trusted_governance_keys)
        self.clock = clock
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
                fresh = load_registry(data, self.trusted_governance_keys, now)
                if current is not None and fresh.serial <= current.serial:
                    raise RegistryRollbackError(
                        f"registry serial must increase: in use {current.serial}, "
                        f"got {fresh.serial}"
                    )
            except RegistryError as exc:
                self.last_error = exc
                self.last_error_at = now
                self.failures += 1
                return False
            self.current = fresh
            self.loaded_at = now
            self._ok()
            return True

    def _ok(self) -> None:
        self.last_error = None
        self.last_error_at = None
        self.failures = 0

    def require(self) -> TrustRegistry:
        """The registry in use; raises the last error (or RegistryError) if there is none."""
        current = self.current
        if current is None:
            if self.last_error is not None:
                raise self.last_error
            raise RegistryError(f"no trust registry loaded from {self.path}")
        return current

    @property
    def healthy(self) -> bool:
        """A registry is in use and the last reload succeeded."""
        return self.current is not None and self.last_error is None
