"""Delivery from the durable outbox: pull streams with acks, and push through adapters.

At-least-once: a row leaves ``pending`` only when the recipient acknowledged it (pull) or
its system answered 2xx (push); recipients deduplicate by exchange id. A recipient that is
down loses nothing: its rows wait, retried with capped exponential backoff and jitter, up to
``push_max_attempts`` failed attempts; then the row is given up (``rejected`` with the last
error, counted in ``yrd_push_dead_letters_total`` and logged once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from tenacity import (
    RetryCallState,
    Retrying,
    stop_after_attempt,
    wait_exponential,
    wait_random_exponential,
)

from gateway.dialects.base import RESPONSE_KIND
from gateway.dialects.catalogue import DialectCatalogue
from gateway.dialects.errors import AdapterError, DeliveryError
from gateway.errors import Refusal
from gateway.exchange.store import (
    DELIVERED,
    PENDING,
    REJECTED,
    TRANSLATION_FAILURE,
    ExchangeRow,
    GatewayStore,
)
from gateway.ops.metrics import Metrics
from gateway.registry import TrustRegistry

__all__ = [
    "PullHub",
    "PushWorker",
    "RetryPolicy",
]


class AnswerHook(Protocol):
    """Awaited with (request row, answer kind, canonical answer) and ``channel``, how the
    answer arrived ("https-pinned" or "http-dev", the transport's ``Delivery.channel``)."""

    def __call__(
        self, row: ExchangeRow, kind: str, answer: dict[str, Any], *, channel: str
    ) -> Awaitable[None]: ...


__all__ = ["AnswerHook", "PullHub", "PushWorker", "RetryPolicy"]

log = logging.getLogger("gateway.exchange.delivery")


class RetryPolicy:
    """When a failed push is tried again, and when it is given up: tenacity's strategies.

    The outbox is durable, so nothing sleeps per row: after a failure the worker stores the
    due time ``now + next_delay(failed)`` and moves on. The delay is "equal jitter"
    (exponential backoff, half fixed and half random): with ``e = min(cap, base * 2**(n-1))``
    after ``n`` failed attempts, the delay is uniform in ``[e/2, e]`` -- it grows with ``n``,
    never exceeds ``cap``, and rows that failed together (a partner outage) spread out even
    at the cap. After ``max_attempts`` failed attempts ``next_delay`` is ``None``: give up.
    """

    def __init__(self, max_attempts: int, base: float, cap: float) -> None:
        if max_attempts < 1 or base <= 0 or cap < base:
            raise ValueError(f"bad retry policy: {max_attempts=}, {base=}, {cap=}")
        self.max_attempts, self.base, self.cap = max_attempts, base, cap
        self._retrying = Retrying(
            stop=stop_after_attempt(max_attempts),
            wait=wait_exponential(multiplier=base / 2, max=cap / 2)
            + wait_random_exponential(multiplier=base / 2, max=cap / 2),
        )

    def next_delay(self, failed: int) -> float | None:
        """Seconds until the next attempt after ``failed`` (>= 1) failed attempts, or
        ``None`` once ``max_attempts`` have failed."""
        state = RetryCallState(self._retrying, fn=None, args=(), kwargs={})
        state.attempt_number = failed
        if self._retrying.stop(state):
            return None
        return self._retrying.wait(state)


class PullHub:
    """Wakes pull streams when something arrives for their member; tracks what is in flight."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.in_flight: dict[str, set[str]] = defaultdict(set)
        """Per member, the exchange ids one of its pull streams has taken and not yet settled:
        added before a row is claimed, removed only once its ack is stored or its stream
        ended, so no stream of the member (the same one included) sends it meanwhile."""

    def notify(self, member: str) -> None:
        self._events[member].set()

    # A wake-up-or-poll interval that returns normally when it lapses, not a cancel scope.
    async def wait(self, member: str, timeout: float) -> None:  # noqa: ASYNC109
        event = self._events[member]
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        event.clear()


class PushWorker:
    """Pushes due outbox rows of push-mode recipients through their adapters' transports."""

    def __init__(
        self,
        store: GatewayStore,
        registry: Callable[[], TrustRegistry],
        adapters: DialectCatalogue,
        *,
        base: float = 0.5,
        cap: float = 60.0,
        max_attempts: int = 12,
        metrics: Metrics | None = None,
        concurrency: int = 8,
    ) -> None:
        self.store = store
        self.registry = registry
        self.adapters = adapters
        self.policy = RetryPolicy(max_attempts, base, cap)
        self.metrics = metrics
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._transports: dict[str, object] = {}
        self._task: asyncio.Task | None = None
        self.answer_hooks: list[AnswerHook] = []
        """Awaited with (request row, answer kind, canonical answer) before a push that got
        an answer is marked delivered; if one raises, the push is retried (hooks must be
        idempotent)."""
        self.delivered = 0
        self.failures = 0
        self.given_up = 0

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        """Run unsupervised (tests of the worker alone); the gateway uses :meth:`run`."""
        self._task = asyncio.get_running_loop().create_task(
            self.run(lambda: None), name="push-worker"
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for transport in self._transports.values():
            await transport.close()  # type: ignore[attr-defined]
        self._transports.clear()

    async def run(self, beat: Callable[[], None]) -> None:
        """Push due rows until cancelled; ``beat()`` after each round the outbox took.

        A storage error (e.g. "database or disk is full" while marking a row) ends the round
        only after every push of it has finished, then propagates: the supervisor reports
        the worker down and restarts it, and rows not marked are simply pushed again
        (recipients deduplicate by exchange id).
        """
        while True:
            rows = await asyncio.to_thread(self.store.due, None, "push", 64)
            if rows:
                # A registry past its grace refuses here: the worker is reported down with
                # that cause and no row spends an attempt on it (docs/registry.md).
                self.registry()
                sem = asyncio.Semaphore(self.concurrency)

                async def one(row, sem=sem):
                    async with sem:
                        await self._push(row.exchange_id, row.recipient, row.attempts)

                outcomes = await asyncio.gather(*(one(r) for r in rows), return_exceptions=True)
                for outcome in outcomes:
                    if isinstance(outcome, BaseException):
                        raise outcome
                beat()
                continue
            beat()
            try:
                await asyncio.wait_for(self._wake.wait(), 1.0)
            except TimeoutError:
                pass
            self._wake.clear()

    def _transport(self, dialect: str, endpoint: str):
        key = f"{dialect}|{endpoint}"
        if key not in self._transports:
            transport = self.adapters.by_dialect(dialect).transport(endpoint, timeout=10.0)
            self._transports[key] = transport
        return self._transports[key]

    async def _push(self, exchange_id: str, recipient: str, attempts: int) -> None:
        row = self.store.exchange(exchange_id)
        if row is None:
            return
        try:
            delivery = self.registry().delivery(recipient)
            # the recipient's registered dialect; the bytes were made (and attested) once,
            # at commit; only a row stored before that has none and is encoded here
            dialect = row.delivered_dialect or delivery.dialect
            adapter = self.adapters.by_dialect(dialect).codec
            payload = row.delivered
            if payload is None:
                payload = adapter.from_canonical(row.kind, json.loads(row.canonical))
            if not delivery.endpoint:
                raise DeliveryError("endpoint", f"recipient {recipient} has no push endpoint")
            answer = await self._transport(dialect, delivery.endpoint).deliver(row.kind, payload)
        except DeliveryError as exc:
            self._retry(exchange_id, attempts, f"push failed: {exc}")
            return
        except AdapterError as exc:  # a row stored before translation at commit
            self.store.reject(exchange_id, TRANSLATION_FAILURE, f"cannot express in dialect: {exc}")
            return
        except Refusal:  # the gateway's own refusal (registry past its grace): not the partner's
            raise
        except Exception as exc:  # the partner must never take the worker down
            log.exception("push of %s failed", exchange_id)
            self._retry(exchange_id, attempts, f"push failed: {type(exc).__name__}")
            return
        if answer.ok:
            response = None
            answer_kind = RESPONSE_KIND.get(row.kind)
            if answer_kind and answer.body:
                try:
                    decoded = adapter.to_canonical(answer_kind, answer.body)
                except AdapterError as exc:
                    response = json.dumps({"undecodable_answer": str(exc)})
                else:
                    response = json.dumps(decoded, ensure_ascii=False, sort_keys=True)
                    try:
                        for hook in self.answer_hooks:
                            channel = getattr(answer, "channel", "http-dev")
                            await hook(row, answer_kind, decoded, channel=channel)
                    except Exception as exc:
                        log.exception("answer hook for %s failed", exchange_id)
                        self._retry(exchange_id, attempts, f"answer not recorded: {exc!r}")
                        return
            self.store.mark(exchange_id, DELIVERED, response=response)
            self.delivered += 1
        elif 400 <= answer.status < 500 and answer.status not in (408, 429):
            self.store.mark(exchange_id, REJECTED, error=f"partner refused: http {answer.status}")
        else:
            self._retry(exchange_id, attempts, f"partner answered http {answer.status}")

    def _retry(self, exchange_id: str, attempts: int, error: str) -> None:
        """Record a failed attempt (``attempts`` failed before it): due again later, or
        given up after ``max_attempts`` -- a terminal ``rejected`` row keeping the error."""
        self.failures += 1
        failed = attempts + 1
        delay = self.policy.next_delay(failed)
        if delay is not None:
            self.store.mark(exchange_id, PENDING, error=error, retry_at=time.time() + delay)
            return
        self.store.mark(exchange_id, REJECTED, error=f"gave up after {failed} attempts: {error}")
        self.given_up += 1
        if self.metrics is not None:
            self.metrics.push_dead_letters.inc()
        log.error("push of %s given up after %d attempts: %s", exchange_id, failed, error)
