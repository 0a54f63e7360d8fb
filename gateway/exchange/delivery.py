"""Delivery from the durable outbox: pull streams with acks, and push through adapters.

At-least-once: a row leaves ``pending`` only when the recipient acknowledged it (pull) or
its system answered 2xx (push); recipients deduplicate by exchange id. A recipient that is
down loses nothing: its rows wait, retried with capped exponential backoff and jitter, up to
``push_max_attempts`` failed attempts; then the row is given up (``rejected`` with the last
error, counted in ``yrd_push_dead_letters_total`` and logged once).

Nothing is dropped silently: a row that will never be delivered is ``rejected`` with its
``failure`` -- ``translation`` (the recipient's dialect cannot express it),
``refused_by_partner`` (a 4xx, a REJECTED ack, or an answer that does not decode or is not
this request's answer), ``undeliverable`` (given up). A push-mode member's answer to a
request kind (``RESPONSE_KIND``) goes to the answer hooks (``gateway.exchange.answers``),
which log it as an exchange before the request is marked delivered. Every change of a row
rings the :class:`StatusBell` that status watchers wait on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

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
from gateway.dialects.transport import CHANNEL_HTTP_DEV, CHANNEL_HTTPS_PINNED, ClientCertificate
from gateway.errors import Refusal, clip
from gateway.exchange.answers import AnswerMismatch
from gateway.exchange.store import (
    DELIVERED,
    FAILURE_REFUSED,
    FAILURE_TRANSLATION,
    FAILURE_UNDELIVERABLE,
    PENDING,
    REJECTED,
    ExchangeRow,
    GatewayStore,
)
from gateway.ops.metrics import Metrics
from gateway.registry import Delivery as RegistryDelivery
from gateway.registry import TrustRegistry

if TYPE_CHECKING:
    from gateway.dialects.base import Codec
    from gateway.dialects.transport import Delivery as PushAnswer

# (request row, answer kind, canonical answer, channel it came over)
AnswerHook = Callable[[ExchangeRow, str, dict[str, Any], str], Awaitable[None]]

__all__ = ["AnswerHook", "PullHub", "PushWorker", "RetryPolicy", "StatusBell"]

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


class StatusBell:
    """Rung whenever an exchange's status may have changed (commit, ack, push outcome);
    status watchers wait on it, with a slow poll as a safety net. A generation counter, so
    a watcher that was busy when it rang still sees that it did."""

    def __init__(self) -> None:
        self.generation = 0
        self._event = asyncio.Event()

    def ring(self) -> None:
        self.generation += 1
        self._event.set()
        self._event = asyncio.Event()

    # A wake-up-or-poll interval that returns normally when it lapses, not a cancel scope.
    async def wait(self, seen: int, timeout: float) -> int:  # noqa: ASYNC109
        """Wait until the generation passes ``seen`` (or ``timeout``); the generation."""
        if self.generation == seen:
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except TimeoutError:
                pass
        return self.generation


class PullHub:
    """Wakes pull streams when something arrives for their member; tracks what is in flight.
    Each wake-up (a commit, an ack) also rings ``status``."""

    def __init__(self, status: StatusBell | None = None) -> None:
        self.status = status if status is not None else StatusBell()
        self._events: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.in_flight: dict[str, set[str]] = defaultdict(set)
        """Per member, the exchange ids one of its pull streams has taken and not yet settled:
        added before a row is claimed, removed only once its ack is stored or its stream
        ended, so no stream of the member (the same one included) sends it meanwhile."""

    def notify(self, member: str) -> None:
        self._events[member].set()
        self.status.ring()

    # A wake-up-or-poll interval that returns normally when it lapses, not a cancel scope.
    async def wait(self, member: str, timeout: float) -> None:  # noqa: ASYNC109
        event = self._events[member]
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        event.clear()


PUSH_LEASE_SECONDS = 120.0
"""How long a push row is leased to the process pushing it (longer than a push's timeout
and its answer's commit); if that process dies, another pushes the row after this."""


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
        client_cert: ClientCertificate | None = None,
        bell: StatusBell | None = None,
    ) -> None:
        self.store = store
        self.client_cert = client_cert
        """What the gateway presents to https push endpoints (its TLS certificate and key)."""
        self.bell = bell
        self.registry = registry
        self.adapters = adapters
        self.policy = RetryPolicy(max_attempts, base, cap)
        self.metrics = metrics
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._leased: dict[str, float] = {}  # rows this process claimed, not yet marked
        self._transports: dict[str, object] = {}
        self._task: asyncio.Task | None = None
        self.answer_hooks: list[AnswerHook] = []
        """Awaited with (request row, answer kind, canonical answer, channel) before a push
        that got an answer is marked delivered; :class:`AnswerMismatch` fails the request,
        anything else retries the push (hooks must be idempotent)."""
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
        if self._leased:  # a failed round's leases: due again now (restarted after a fault)
            await self.store.run(self.store.release_push, dict(self._leased))
            self._leased.clear()
        while True:
            rows = await self.store.run(self.store.due, None, "push", 64)
            if rows:  # leased to this process: other front ends skip them meanwhile
                until = time.time() + PUSH_LEASE_SECONDS
                claimed = await self.store.run(
                    self.store.claim_push, [r.exchange_id for r in rows], until
                )
                rows = [r for r in rows if r.exchange_id in claimed]
                self._leased.update(dict.fromkeys(claimed, until))
            if rows:
                # A registry past its grace refuses here: the worker is reported down with
                # that cause and no row spends an attempt on it (docs/registry.md).
                self.registry()
                sem = asyncio.Semaphore(self.concurrency)

                async def one(row, sem=sem):
                    async with sem:
                        await self._push(row.exchange_id, row.recipient, row.attempts)
                        self._leased.pop(row.exchange_id, None)  # marked: the lease is spent

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

    def _transport(self, dialect: str, delivery: RegistryDelivery):
        """The member's transport for its registered dialect: for ``https``, pinned to the
        registry's server certificate and presenting the gateway's client certificate (a new
        pin is a new transport)."""
        endpoint = delivery.endpoint or ""
        pin = delivery.server_cert_sha256
        key = f"{dialect}|{endpoint}|{pin or ''}"
        if key not in self._transports:
            options: dict[str, Any] = {"timeout": 10.0}
            if endpoint.startswith("https:"):
                options.update(server_cert_sha256=pin, client_cert=self.client_cert)
            self._transports[key] = self.adapters.by_dialect(dialect).transport(endpoint, **options)
        return self._transports[key]

    def _attested_channel(self, channel: str) -> bool:
        """An answer is the member's only over the pinned channel, or plain http in a dev
        registry (where the attestation's channel ``http-dev`` says there is no assurance)."""
        if channel == CHANNEL_HTTPS_PINNED:
            return True
        return channel == CHANNEL_HTTP_DEV and self.registry().allow_plain_http_push

    async def _push(self, exchange_id: str, recipient: str, attempts: int) -> None:
        row = await self.store.run(self.store.exchange, exchange_id)
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
            answer = await self._transport(dialect, delivery).deliver(
                row.kind, payload, exchange_id=row.exchange_id, in_reply_to=row.in_reply_to
            )
        except DeliveryError as exc:
            await self._retry(exchange_id, attempts, f"push failed: {exc}")
            return
        except AdapterError as exc:  # a row stored before translation at commit
            await self._mark(
                exchange_id, REJECTED, f"cannot express in dialect: {exc}", FAILURE_TRANSLATION
            )
            return
        except Refusal:  # the gateway's own refusal (registry past its grace): not the partner's
            raise
        except Exception as exc:  # the partner must never take the worker down
            log.exception("push of %s failed", exchange_id)
            await self._retry(exchange_id, attempts, f"push failed: {type(exc).__name__}")
            return
        if answer.ok:
            await self._answered(row, adapter, answer, attempts)
        elif 400 <= answer.status < 500 and answer.status not in (408, 429):
            why = _partner_error(adapter, answer.body)
            await self._mark(
                exchange_id,
                REJECTED,
                f"partner refused: http {answer.status}{why}",
                FAILURE_REFUSED,
            )
        else:
            await self._retry(exchange_id, attempts, f"partner answered http {answer.status}")

    async def _answered(
        self, row: ExchangeRow, adapter: Codec, answer: PushAnswer, attempts: int
    ) -> None:
        """A 2xx: the request is delivered. For a request kind (not itself an answer) the
        body is the member's answer: decoded and handed to the hooks first; an answer that
        is missing, does not decode or is not this request's fails the request."""
        exchange_id = row.exchange_id
        answer_kind = None if row.in_reply_to else RESPONSE_KIND.get(row.kind)
        if answer_kind is None:
            await self._mark(exchange_id, DELIVERED)
            return
        channel = getattr(answer, "channel", CHANNEL_HTTP_DEV)
        if not self._attested_channel(channel):
            # nothing a channel without assurance said is relayed as the member's
            log.warning("answer to %s over channel %s not relayed", exchange_id, channel)
            response = json.dumps({"unrelayed_answer": f"channel {channel}"})
            await self._mark(exchange_id, DELIVERED, response=response)
            return
        try:
            if not answer.body:
                raise AdapterError("<body>", "the partner answered without a body")
            decoded = adapter.to_canonical(answer_kind, answer.body)
            for hook in self.answer_hooks:
                await hook(row, answer_kind, decoded, channel)
        except (AdapterError, AnswerMismatch) as exc:
            error = f"partner answer unusable: {exc}"
            await self._mark(exchange_id, REJECTED, error, FAILURE_REFUSED)
            log.warning("answer to %s unusable: %s", exchange_id, type(exc).__name__)
            return
        except Exception as exc:
            log.exception("answer hook for %s failed", exchange_id)
            await self._retry(exchange_id, attempts, f"answer not recorded: {exc!r}")
            return
        response = json.dumps(decoded, ensure_ascii=False, sort_keys=True)
        await self._mark(exchange_id, DELIVERED, response=response)

    async def _mark(
        self,
        exchange_id: str,
        status: str,
        error: str | None = None,
        failure: str | None = None,
        *,
        response: str | None = None,
        retry_at: float | None = None,
    ) -> None:
        await self.store.run(
            self.store.mark,
            exchange_id,
            status,
            error=error,
            failure=failure,
            response=response,
            retry_at=retry_at,
        )
        if status == DELIVERED:
            self.delivered += 1
        outcome = {DELIVERED: "delivered", PENDING: "retry"}.get(status, failure or "")
        if self.metrics is not None and outcome:
            self.metrics.delivery("push", outcome)
        if status == REJECTED and failure == FAILURE_REFUSED:
            # the partner's words are clipped (and ID numbers masked by the log filter)
            log.warning("push of %s refused by the partner: %s", exchange_id, clip(error or ""))
        if self.bell is not None:
            self.bell.ring()

    async def _retry(self, exchange_id: str, attempts: int, error: str) -> None:
        """Record a failed attempt (``attempts`` failed before it): due again later, or
        given up after ``max_attempts`` -- a terminal ``rejected`` row keeping the error."""
        self.failures += 1
        failed = attempts + 1
        delay = self.policy.next_delay(failed)
        if delay is not None:
            await self._mark(exchange_id, PENDING, error, retry_at=time.time() + delay)
            log.warning(
                "push of %s failed (attempt %d), retried in %.1f s: %s",
                exchange_id,
                failed,
                delay,
                clip(error),
            )
            return
        await self._mark(
            exchange_id,
            REJECTED,
            f"gave up after {failed} attempts: {error}",
            FAILURE_UNDELIVERABLE,
        )
        self.given_up += 1
        if self.metrics is not None:
            self.metrics.push_dead_letters.inc()
        log.error("push of %s given up after %d attempts: %s", exchange_id, failed, error)


def _partner_error(adapter: Codec, body: bytes) -> str:
    """The partner's own reason from its error body (``: code: message``), '' if unreadable."""
    try:
        err = adapter.to_canonical("error", body)
    except AdapterError:
        return ""
    return f": {err.get('code')}: {err.get('message')}"
