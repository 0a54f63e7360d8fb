"""Admission control: overload is answered at once, never dropped.

Without it, a burst of thousands of Submits saturates the event loop and gRPC core cancels
the calls it could not hand over in time (``CANCELLED``, no reason, no log line). Here each
exchange-path request takes a slot before any expensive work (decoding, SM2, the log): at
most ``max_in_flight`` per process and ``max_per_member`` per calling member (its fair
share, so one greedy partner cannot starve the others). Past either, the request is refused
straight away with ``RESOURCE_EXHAUSTED`` / ``OVERLOADED`` and a ``google.rpc.RetryInfo``
delay (plus the ``grpc-retry-pushback-ms`` trailer the gRPC retry policy honours, see
docs/grpc-service-config.json); nothing was read, written or burnt. Shedding is counted
(``yrd_admission_refused_total{scope}``) and logged at most once per interval.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from prometheus_client import Counter, Gauge

from gateway.errors import Reason, Refusal
from gateway.ops.metrics import Metrics
from gateway.rpc.status import abort

__all__ = [
    "ADMITTED_METHODS",
    "Admission",
    "AdmissionInterceptor",
    "Overloaded",
]

log = logging.getLogger("gateway.admission")

#: Unary methods admitted per call (``SubmitStream`` is admitted per item, in its servicer).
ADMITTED_METHODS = frozenset(
    (
        "/yrd.v1.Exchange/Submit",
        "/yrd.v1.Identity/Recognize",
        "/yrd.v1.Licences/Verify",
    )
)
_ANONYMOUS = "-"  # no client certificate (or none bound): one shared share, refused later


class Overloaded(Refusal):
    """``OVERLOADED``: the process, or this member's share of it, is full; retry later."""

    def __init__(self, scope: str, limit: int, retry_delay: float) -> None:
        what = "the gateway" if scope == "process" else "this member's share of the gateway"
        super().__init__(
            Reason.OVERLOADED,
            f"admission: {what} has {limit} requests in flight, its limit; nothing was done,"
            f" retry after {retry_delay:g} s",
            scope=scope,
        )
        self.scope = scope
        self.retry_delay = retry_delay
        """Seconds the client should wait (sent as RetryInfo and grpc-retry-pushback-ms)."""


class Admission:
    """Counts requests in flight per process and per member; :meth:`slot` admits or refuses."""

    def __init__(
        self,
        max_in_flight: int,
        max_per_member: int,
        retry_delay: float,
        metrics: Metrics | None = None,
        *,
        log_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_in_flight = max_in_flight
        self.max_per_member = max_per_member
        self.retry_delay = retry_delay
        self.in_flight = 0
        self.by_member: Tally[str] = Tally()
        self._log_interval = log_interval
        self._clock = clock
        self._last_log: float | None = None
        self._shed: Tally[str] = Tally()  # refusals by scope since the last log line
        self._refused: Counter | None = None
        if metrics is not None:
            self._refused = Counter(
                "yrd_admission_refused",
                "Requests refused OVERLOADED by admission control, by scope: process (the "
                "gateway's limit) or member (the caller's fair share)",
                ["scope"],
                registry=metrics.registry,
            )
            gauge = Gauge(
                "yrd_admission_in_flight",
                "Exchange-path requests admitted and not yet finished",
                registry=metrics.registry,
            )
            gauge.set_function(lambda: self.in_flight)

    def enter(self, member: str | None) -> None:
        """Take a slot for ``member`` or raise :class:`Overloaded` (nothing else is done)."""
        key = member or _ANONYMOUS
        # the member's own share first: a member over it is told so, whatever the others do
        if self.by_member[key] >= self.max_per_member:
            self._refuse("member")
            raise Overloaded("member", self.max_per_member, self._delay())
        if self.in_flight >= self.max_in_flight:
            self._refuse("process")
            raise Overloaded("process", self.max_in_flight, self._delay())
        self.in_flight += 1
        self.by_member[key] += 1

    def _delay(self) -> float:
        """The retry delay, jittered to 0.5-1.5x (a gRPC retry follows the server's pushback
        exactly: without jitter a refused burst would all come back at the same instant)."""
        return round(self.retry_delay * (0.5 + random.random()), 3)  # noqa: S311

    def leave(self, member: str | None) -> None:
        key = member or _ANONYMOUS
        self.in_flight -= 1
        self.by_member[key] -= 1
        if self.by_member[key] <= 0:
            del self.by_member[key]

    @contextmanager
    def slot(self, member: str | None) -> Iterator[None]:
        self.enter(member)
        try:
            yield
        finally:
            self.leave(member)

    def _refuse(self, scope: str) -> None:
        if self._refused is not None:
            self._refused.labels(scope).inc()
        self._shed[scope] += 1
        now = self._clock()
        if self._last_log is None or now - self._last_log >= self._log_interval:
            # one line per interval, whatever the rate: the counter has every refusal
            log.warning(
                "admission: shedding load, refused %d (process limit %d) and %d (member"
                " share %d) since the last line; %d in flight",
                self._shed["process"],
                self.max_in_flight,
                self._shed["member"],
                self.max_per_member,
                self.in_flight,
            )
            self._shed.clear()
            self._last_log = now


class AdmissionInterceptor(grpc.aio.ServerInterceptor):
    """Admits each unary call of ``methods`` before its handler runs (so before the request
    bytes are decoded): give it to ``grpc.aio.server`` *before* the guard, outermost."""

    def __init__(
        self,
        admission: Admission,
        member_of: Callable[[grpc.aio.ServicerContext], str | None],
        methods: frozenset[str] = ADMITTED_METHODS,
    ) -> None:
        self.admission = admission
        self.member_of = member_of
        self.methods = methods

    def _member(self, context: grpc.aio.ServicerContext) -> str | None:
        try:
            return self.member_of(context)
        except Exception:  # e.g. registry_expired: the handler refuses it precisely
            return None

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if (
            handler is None
            or handler.unary_unary is None
            or handler_call_details.method not in self.methods
        ):
            return handler
        behaviour = handler.unary_unary
        admission = self.admission

        async def admitted(request: Any, context: grpc.aio.ServicerContext) -> Any:
            member = self._member(context)
            try:
                admission.enter(member)
            except Overloaded as refusal:
                await abort(context, refusal)
            try:
                return await behaviour(request, context)
            finally:
                admission.leave(member)

        return handler._replace(unary_unary=admitted)
