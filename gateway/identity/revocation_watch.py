"""The gateway's side of revocation: fetch each provider's list, keep the last good one,
and refuse revoked or unverifiable recognitions.

:class:`RevocationWatch` polls, every ``poll_seconds``, the ``revocation_url`` of every
identity provider in the trust registry (aiohttp, ``timeout_seconds`` per fetch, at most
``max_bytes`` read). A list that fails a check of :func:`~gateway.identity.revocation.
verify_list` is ignored with a WARNING line naming the check: the last good list stays.
A revocation published by a provider therefore takes effect within ``poll_seconds +
timeout_seconds``.

:meth:`RevocationWatch.check` runs in every recognition (fail closed): for each provider of
the assertion's region that publishes a list, no accepted list, or one past its
``next_update + grace_seconds``, refuses ``unavailable`` naming the stale list; a revoked
assertion id or verifying key refuses ``revoked``. The gauge
``yrd_identity_revocation_list_stale{region}`` is 1 while a list is stale, and the
transition is logged: WARNING when it goes stale after a fetch (a failed one, or a list past
its update), INFO while the gateway starts and waits for the first list, INFO when it is
current (again).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp

from gateway.encoding import format_time
from gateway.errors import Refusal
from gateway.identity.province import AssertionFormat
from gateway.identity.revocation import RevocationList, RevocationListError, verify_list
from gateway.ops.metrics import Metrics
from gateway.registry import IdentityProvider, TrustRegistry

__all__ = ["ProviderState", "RevocationWatch"]

log = logging.getLogger("gateway.identity.revocation")


@dataclass
class ProviderState:
    """What the gateway knows of one provider's list."""

    region: str
    name: str
    url: str
    last: RevocationList | None = None
    last_error: str = ""
    fetched_at: float = 0.0
    stale: bool = False
    warned: bool = False  # the WARNING for this stale spell was written


class RevocationWatch:
    """Revocation lists of the trust registry's identity providers (module docstring)."""

    def __init__(
        self,
        *,
        registry: Callable[[], TrustRegistry],
        formats: Callable[[str], AssertionFormat | None],
        metrics: Metrics | None = None,
        poll_seconds: float = 30.0,
        timeout_seconds: float = 10.0,
        grace_seconds: float = 60.0,
        max_bytes: int = 1 << 20,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.registry = registry
        self.formats = formats
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.grace = timedelta(seconds=grace_seconds)
        self.max_bytes = max_bytes
        self.clock = clock
        self.states: dict[tuple[str, str], ProviderState] = {}
        if metrics is not None:
            metrics.on_scrape(self.refresh)

    # -- fetching -------------------------------------------------------------------------
    async def run(self, beat: Callable[[], None]) -> None:
        """Poll forever (a supervised worker): one round, a beat, a pause."""
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                await self.poll(session)
                beat()
                await asyncio.sleep(self.poll_seconds)

    async def poll(self, session: aiohttp.ClientSession) -> None:
        """Fetch every published list once (concurrently), then update staleness."""
        providers = [p for p in self.registry().identity_providers() if p.revocation_url]
        results = await asyncio.gather(
            *(self._fetch(session, p) for p in providers), return_exceptions=True
        )
        for provider, result in zip(providers, results, strict=True):
            if isinstance(result, Exception):  # one provider's fault never stops the others
                self._failed(self._state(provider), f"fetch failed: {result!r}"[:300])
            elif isinstance(result, BaseException):
                raise result
        self.refresh()

    def _state(self, provider: IdentityProvider) -> ProviderState:
        key = (str(provider.region), provider.name)
        state = self.states.get(key)
        if state is None or state.url != provider.revocation_url:
            state = ProviderState(str(provider.region), provider.name, provider.revocation_url)
            self.states[key] = state
        return state

    async def _fetch(self, session: aiohttp.ClientSession, provider: IdentityProvider) -> None:
        state = self._state(provider)
        try:
            async with session.get(state.url, allow_redirects=False) as resp:
                status, data = resp.status, bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > self.max_bytes:  # enough to refuse it: stop reading
                        break
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._failed(state, f"fetch failed: {type(exc).__name__}: {exc}"[:300])
            return
        if status != 200:
            self._failed(state, f"fetch failed: HTTP {status}")
            return
        now = self.clock()
        fmt = self.formats(state.region)
        keys = [
            (k.key_id, k.public_key) for k in provider.keys if k.valid_at(now)
        ]  # this provider's keys only: one province cannot sign another's list
        try:
            accepted = await asyncio.to_thread(
                verify_list,
                bytes(data),
                keys=keys,
                issuer=fmt.issuer if fmt is not None else provider.name,
                region=state.region,
                last=state.last,
                max_bytes=self.max_bytes,
            )
        except RevocationListError as exc:
            self._failed(state, f"list ignored: {exc}")
            return
        if state.last is None or accepted.version != state.last.version:
            log.info(
                "identity revocation list accepted",
                extra={"region": state.region, "version": accepted.version},
            )
        state.last, state.last_error, state.fetched_at = accepted, "", time.time()

    def _failed(self, state: ProviderState, error: str) -> None:
        state.last_error = error
        if self.metrics is not None:
            self.metrics.revocation_ignored.labels(state.region).inc()
        kept = state.last.version if state.last else None
        log.warning(
            "identity revocation list of %s (%s): %s; keeping version %s",
            state.region,
            state.url,
            error,
            kept,
        )

    # -- state ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute staleness (and the gauge); log each transition once."""
        now = self.clock()
        for state in list(self.states.values()):  # scrapes run in other threads
            reason = self._stale_reason(state, now)
            stale = reason is not None
            tried = state.last is not None or bool(state.last_error)
            if stale and tried and not state.warned:
                log.warning(
                    "identity revocation list of %s is stale: %s; recognitions for %s are "
                    "refused until a valid list is fetched",
                    state.region,
                    reason,
                    state.region,
                )
                state.warned = True
            elif stale and not tried and not state.stale:  # starting: refused, but no fault yet
                log.info(
                    "waiting for the first identity revocation list of %s from %s; "
                    "recognitions for %s are refused until it is fetched",
                    state.region,
                    state.url,
                    state.region,
                )
            elif state.stale and not stale:
                again = " again" if state.warned else ""  # after a fault, or the first one
                log.info("identity revocation list of %s is current%s", state.region, again)
            if not stale:
                state.warned = False
            state.stale = stale
        if self.metrics is not None:
            regions: dict[str, bool] = {}
            for state in list(self.states.values()):  # scrapes run in other threads
                regions[state.region] = regions.get(state.region, False) or state.stale
            for region, stale in regions.items():
                self.metrics.revocation_stale.labels(region).set(1 if stale else 0)

    def _stale_reason(self, state: ProviderState, now: datetime) -> str | None:
        if state.last is None:
            why = f"; last error: {state.last_error}" if state.last_error else ""
            return f"no valid revocation list from {state.url} yet{why}"
        if now > state.last.next_update + self.grace:
            return (
                f"revocation list version {state.last.version} was due for update at "
                f"{format_time(state.last.next_update)} (grace {int(self.grace.total_seconds())}"
                f" s)"
            )
        return None

    def check(self, region: str, *, assertion_id: str, key_id: str, now: datetime) -> None:
        """Refuse (``unavailable`` or ``revoked``, see the module docstring) or return."""
        registry = self.registry()
        for provider in registry.identity_providers(region):
            if not provider.revocation_url:
                continue
            state = self._state(provider)
            stale = self._stale_reason(state, now)
            if stale is not None:
                raise Refusal("unavailable", f"revocation list of {region}: {stale}")
            listed = state.last
            assert listed is not None
            if assertion_id in listed.revoked_assertions:
                raise Refusal(
                    "revoked",
                    f"revocation: assertion {assertion_id[:64]} was revoked by {region} at "
                    f"{format_time(listed.revoked_assertions[assertion_id])} (list version "
                    f"{listed.version})",
                )
            if key_id and key_id in listed.revoked_keys:
                raise Refusal(
                    "revoked",
                    f"revocation: identity-provider key {key_id} was revoked by {region} at "
                    f"{format_time(listed.revoked_keys[key_id])} (list version {listed.version})",
                )
