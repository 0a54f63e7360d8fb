"""Prometheus metrics of one gateway (its own registry, so several can run in one process)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = [
    "DELIVERY_OUTCOMES",
    "Metrics",
]

# Label values are bounded: a kind outside this set (a sender may write any well-formed
# kind before it is refused) is counted as "other", so no caller can grow the series.
_KNOWN_KINDS = frozenset(
    ("matter.lookup", "matter", "case.submit", "case.status", "evidence.request",
     "evidence.response", "error")
)  # fmt: skip
DELIVERY_OUTCOMES = ("delivered", "retry", "refused_by_partner", "undeliverable", "translation")


def _kind(kind: str) -> str:
    return kind if kind in _KNOWN_KINDS else "other"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.exchanges = Counter(
            "yrd_exchanges_total",
            "Submitted exchanges (gRPC, cases, answers) by kind and outcome: accepted, "
            "duplicate (an idempotent retry), refused",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.committed = Counter(
            "yrd_exchanges_committed_total",
            "Exchanges logged, by kind and origin: member (its own signed submission) or "
            "relayed (a push member's HTTP answer, signed by the gateway as its adapter)",
            ["kind", "origin"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "yrd_deliveries_total",
            "Delivery outcomes by mode (pull, push) and outcome: delivered, retry (a failed "
            "attempt that will be retried), refused_by_partner, undeliverable (dead letter), "
            "translation (the recipient's dialect cannot express it)",
            ["mode", "outcome"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "yrd_refusals_total", "Refused exchanges by reason", ["reason"], registry=self.registry
        )
        self.latency = Histogram(
            "yrd_exchange_seconds",
            "Time from request to durable receipt",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.batch_size = Gauge(
            "yrd_log_last_batch_size", "Entries in the last log batch", registry=self.registry
        )
        self.log_size = Gauge("yrd_log_size", "Entries in the Merkle log", registry=self.registry)
        self.sequencer_leader = Gauge(
            "yrd_sequencer_leader",
            "1 while this process sequences the log (always, embedded; the elected one, on a"
            " shared database), else 0",
            registry=self.registry,
        )
        self.outbox_depth = Gauge("yrd_outbox_depth", "Deliveries waiting", registry=self.registry)
        self.push_dead_letters = Counter(
            "yrd_push_dead_letters",
            "Push deliveries given up after push_max_attempts failed attempts",
            registry=self.registry,
        )
        self.anchor_lag_entries = Gauge(
            "yrd_anchor_lag_entries",
            "Log entries not yet covered by a confirmed anchor",
            registry=self.registry,
        )
        self.anchor_lag_seconds = Gauge(
            "yrd_anchor_lag_seconds",
            "Seconds since the last confirmed anchor",
            registry=self.registry,
        )
        self.calendar_provisional = Gauge(
            "yrd_calendar_provisional_deadlines",
            "Open cases whose deadline runs through a year with no holiday calendar loaded",
            registry=self.registry,
        )
        self.worker_up = Gauge(
            "yrd_worker_up",
            "1 while a background worker is up, 0 while it is down (see /healthz for the cause)",
            ["worker"],
            registry=self.registry,
        )
        self.worker_restarts = Counter(
            "yrd_worker_restarts",
            "Restarts of a background worker after an unexpected exception",
            ["worker"],
            registry=self.registry,
        )
        # identity providers' revocation lists (gateway.identity.revocation_watch)
        self.revocation_stale = Gauge(
            "yrd_identity_revocation_list_stale",
            "1 while a region's identity-provider revocation list is missing or past its "
            "next_update + grace (its recognitions are refused UNAVAILABLE), else 0",
            ["region"],
            registry=self.registry,
        )
        self.revocation_ignored = Counter(
            "yrd_identity_revocation_lists_ignored",
            "Fetched revocation lists ignored (unreachable, bad signature, older version, "
            "too large...; the last good list is kept), by region",
            ["region"],
            registry=self.registry,
        )
        self._refreshers: list[Callable[[], None]] = []

    def accepted(self, seconds: float, duplicate: bool, kind: str = "") -> None:
        self.exchanges.labels(_kind(kind), "duplicate" if duplicate else "accepted").inc()
        self.latency.observe(seconds)

    def refused(self, reason: str, kind: str = "") -> None:
        self.exchanges.labels(_kind(kind), "refused").inc()
        self.refusals.labels(reason).inc()

    def logged(self, kind: str, relayed: bool) -> None:
        """One exchange committed to the log (every path: gRPC, cases, relayed answers)."""
        self.committed.labels(_kind(kind), "relayed" if relayed else "member").inc()

    def delivery(self, mode: str, outcome: str) -> None:
        """One delivery outcome; ``outcome`` is one of ``DELIVERY_OUTCOMES``."""
        if outcome not in DELIVERY_OUTCOMES:
            raise ValueError(f"unknown delivery outcome {outcome!r}")
        self.deliveries.labels(mode if mode in ("pull", "push") else "other", outcome).inc()

    def on_scrape(self, refresh: Callable[[], None]) -> None:
        self._refreshers.append(refresh)

    def refresh(self) -> None:
        """Run every refresher; raises the first failure (the supervised refresh reports it)."""
        first: Exception | None = None
        for refresh in self._refreshers:
            try:
                refresh()
            except Exception as exc:
                first = first or exc
        if first is not None:
            raise first

    def render(self) -> bytes:
        try:
            self.refresh()
        except Exception:  # noqa: S110 - a failed gauge must not break the scrape
            pass
        return generate_latest(self.registry)
