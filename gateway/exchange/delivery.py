"""Delivery from the durable outbox: pull streams with acks, and push through adapters.

At-least-once: a row leaves ``pending`` only when the recipient acknowledged it (pull) or
its system answered 2xx (push); recipients deduplicate by exchange id. A recipient that is
down loses nothing: its rows wait, retried with capped exponential backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.dialects.base import RESPONSE_KIND
from gateway.dialects.errors import AdapterError, DeliveryError
from gateway.dialects.registry import AdapterRegistry
from gateway.exchange.store import DELIVERED, PENDING, REJECTED, ExchangeRow, GatewayStore
from gateway.registry import TrustRegistry

__all__ = [
    "PullHub",
    "PushWorker",
    "backoff",
]

AnswerHook = Callable[[ExchangeRow, str, dict[str, Any]], Awaitable[None]]

log = logging.getLogger("gateway.exchange.delivery")


def backoff(attempts: int, base: float, cap: float) -> float:
    return min(cap, base * (2 ** max(0, attempts)))


class PullHub:
    """Wakes pull streams when something arrives for their member; tracks what is in flight."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.in_flight: dict[str, set[str]] = defaultdict(set)

    def notify(self, member: str) -> None:
        self._events[member].set()

    async def wait(self, member: str, timeout: float) -> None:
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
        adapters: AdapterRegistry,
        *,
        base: float = 0.5,
        cap: float = 60.0,
        concurrency: int = 8,
    ) -> None:
        self.store = store
        self.registry = registry
        self.adapters = adapters
        self.base, self.cap = base, cap
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

    def _transport(self, region: str, endpoint: str):
        key = f"{region}|{endpoint}"
        if key not in self._transports:
            self._transports[key] = self.adapters.get(region).transport(endpoint, timeout=10.0)
        return self._transports[key]

    async def _push(self, exchange_id: str, recipient: str, attempts: int) -> None:
        row = self.store.exchange(exchange_id)
        if row is None:
            return
        region = recipient.split("/", 1)[0]
        try:
            delivery = self.registry().delivery(recipient)
            adapter = self.adapters.get(region)
            payload = adapter.from_canonical(row.kind, json.loads(row.canonical))
            if not delivery.endpoint:
                raise DeliveryError("endpoint", f"recipient {recipient} has no push endpoint")
            answer = await self._transport(region, delivery.endpoint).deliver(row.kind, payload)
        except DeliveryError as exc:
            self._retry(exchange_id, attempts, f"push failed: {exc}")
            return
        except AdapterError as exc:
            self.store.mark(exchange_id, REJECTED, error=f"cannot express in dialect: {exc}")
            return
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
                            await hook(row, answer_kind, decoded)
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
        self.failures += 1
        retry_at = time.time() + backoff(attempts, self.base, self.cap)
        self.store.mark(exchange_id, PENDING, error=error, retry_at=retry_at)
