"""Composition: the one place the running gateway is built from its parts.

``yrdgw serve`` (``gateway.app.serve``) and the test harness call :func:`compose`; it
returns a :class:`~gateway.app.gateway.Gateway` that holds every part with its type.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health

from gateway.app.backends import Storage, open_storage
from gateway.app.devenv import DevEnvironment
from gateway.app.gateway import Gateway
from gateway.app.settings import Settings
from gateway.app.trust import GatewayKeys
from gateway.app.workers import is_worker
from gateway.cases import CaseService
from gateway.dialects.catalogue import DialectCatalogue, default_dialects
from gateway.dialects.transport import ClientCertificate
from gateway.errors import ConfigError
from gateway.exchange.answers import AnswerRelay
from gateway.exchange.commit import ExchangeCommitter
from gateway.exchange.core import ExchangeCore
from gateway.exchange.delivery import PullHub, PushWorker, StatusBell
from gateway.exchange.logview import GatewayLog
from gateway.exchange.translation import Translator
from gateway.identity.replay_pg import open_replay_guard
from gateway.matters import default_catalogue
from gateway.ops.metrics import Metrics
from gateway.ops.supervision import Supervisor
from gateway.pb.yrd.v1 import audit_pb2, audit_pb2_grpc, exchange_pb2, exchange_pb2_grpc
from gateway.registry import (
    DeliveryMode,
    KeyPurpose,
    RegistryHolder,
    RegistryLookupError,
    TrustRegistry,
)
from gateway.rpc.admission import Admission, AdmissionInterceptor
from gateway.rpc.audit import AuditServicer
from gateway.rpc.exchange import ExchangeServicer, caller_member
from gateway.rpc.guard import GuardInterceptor
from gateway.rpc.identity import (
    IdentityServicer,
    add_identity_service,
    recognizer_for,
    revocation_watch_for,
)
from gateway.rpc.licences import LicencesServicer, add_licences_service
from gateway.rpc.matters import MattersServicer, add_matters_service
from gateway.rpc.standard import add_health, add_reflection
from gateway.tls import TlsFiles
from gateway.web import member_signing_keys
from gateway.witness import WitnessCollector, Witnessing, WitnessReceipts, WitnessStore
from gateway.workdays import WorkdayCalendar
from ledger.crypto import PrivateKey

if TYPE_CHECKING:  # the anchoring extra is imported only when anchoring is configured
    from gateway.app.anchoring import GatewayAnchorer

__all__ = ["AnchorerFactory", "CaseOptions", "compose"]

AnchorerFactory = Callable[[GatewayLog, Callable[[int], "int | None"]], "GatewayAnchorer"]
"""``(log, select) -> anchorer``; ``select`` picks the checkpoint to anchor (witnessed)."""


@dataclass(frozen=True)
class CaseOptions:
    """What a test or demo varies in the case service: its business clock (Beijing time), a
    fixed holiday calendar, the member signing keys (default: the dev environment's, else
    ``<data_dir>/cases-keys/member-<R>.pem``), and whether to seed the dev accounts."""

    clock: Callable[[], datetime] | None = None
    calendar: WorkdayCalendar | None = None
    keys: Mapping[str, PrivateKey] | None = None
    seed: bool = False


async def compose(
    settings: Settings,
    registry: RegistryHolder,
    keys: GatewayKeys,
    tls: TlsFiles,
    *,
    metrics: Metrics | None = None,
    adapters: DialectCatalogue | None = None,
    anchorer_factory: AnchorerFactory | None = None,
    dev_env: DevEnvironment | None = None,
    cases: CaseOptions = CaseOptions(),
    registry_reload_seconds: float | None = None,
) -> Gateway:
    """Build the gateway from its parts; nothing listens until ``await gateway.start()``.

    1. each of the gateway's keys is listed in the registry for its purpose (ConfigError);
    2. the log, the gateway's rows and the unit of work over both
       (``gateway.app.backends``: SQLite files in the data directory, or a shared
       PostgreSQL database with an elected sequencer), the unit of work first finishing
       whatever was staged before the last stop;
    3. the one commit path, and delivery it notifies (pull hub, push worker);
    4. the checks (``ExchangeCore``) and the answer relay, both committing through (3);
    5. the case service (it submits through (4));
    6. witnessing (cosignatures in the gateway's database, receipts carrying them, the
       collector), then the gRPC server with every service: Exchange, Audit, Matters,
       Identity, health and reflection;
    7. the supervisor, the metrics refresh and the anchorer (if configured), which anchors
       the newest checkpoint with the registry's witness quorum (or the latest, if none is
       asked for).

    Whatever was opened is closed again if a later step fails.
    """
    metrics = metrics if metrics is not None else Metrics()
    adapters = adapters if adapters is not None else default_dialects()
    s = settings
    # (1): keys
    _check_keys(registry.require(), keys)
    # (2): log and rows (gateway.app.backends: SQLite files, or a shared PostgreSQL)
    storage = await open_storage(s, keys.log, s.log_origin or registry.require().log_origin)
    merkle_log, store, writer = storage.log, storage.store, storage.writer
    opened: list[Callable[[], object]] = [storage.close]
    try:
        executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="crypto")
        opened.append(executor.shutdown)
        current = registry.require
        # (3): commit path and delivery
        bell = StatusBell()  # rung by commits, acks and push outcomes; status watchers wait
        hub = PullHub(bell)
        push = PushWorker(
            store,
            current,
            adapters,
            base=s.push_backoff_seconds,
            cap=s.push_backoff_max_seconds,
            max_attempts=s.push_max_attempts,
            metrics=metrics,
            client_cert=ClientCertificate(tls.cert, tls.key),
            bell=bell,
        )

        def committed(recipient: str, exchange_id: str) -> None:
            hub.notify(recipient)
            # the push worker reads the outbox only when there is something to push (its
            # 1 s poll still picks up retries that come due)
            if current().delivery(recipient).mode == DeliveryMode.PUSH:
                push.notify()

        committer = ExchangeCommitter(
            log=merkle_log,
            writer=writer,
            store=store,
            delivery_mode=lambda recipient: str(current().delivery(recipient).mode),
            executor=executor,
            on_commit=committed,
            translator=Translator(
                dialects=adapters, registry=current, key=keys.attestation, executor=executor
            ),
            metrics=metrics,
        )
        # (4): checks (matter_ref resolved against the catalogue) and the answer relay
        catalogue = default_catalogue()
        core = ExchangeCore(
            log=merkle_log,
            store=store,
            committer=committer,
            registry=current,
            adapters=adapters,
            catalogue=catalogue,
            executor=executor,
            freshness_seconds=s.freshness_seconds,
            max_payload_bytes=s.max_payload_bytes,
            metrics=metrics,
        )
        relay = AnswerRelay(
            committer=committer, store=store, signer=keys.attestation, executor=executor
        )
        push.answer_hooks.append(relay.on_answer)
        # (5): cases
        case_keys = cases.keys
        if case_keys is None:
            case_keys = dict(dev_env.member_keys) if dev_env else member_signing_keys(s.data_dir)
        case_service = CaseService(
            s.data_dir,
            submit=core.submit,
            registry=current,
            adapters=adapters,
            outbox=store,
            metrics=metrics,
            keys=case_keys,
            clock=cases.clock,
            calendar=cases.calendar,
            catalogue=catalogue,
            warning_workdays=s.case_warning_workdays,
            bell=bell,  # the answer watcher wakes on commits and push outcomes
            # cases in the shared database too (else cases.db in the data directory)
            database=storage.database if storage.shared else None,
        )
        opened.append(case_service.close)
        # (6): witnessing (the cosignatures beside the rows) and gRPC
        witness_store = await asyncio.to_thread(WitnessStore, storage.database)
        opened.append(witness_store.close)
        witnessing = Witnessing(
            witness_store,
            WitnessReceipts(witness_store, current, merkle_log),
            WitnessCollector(
                merkle_log,
                witness_store,
                current,
                lambda: storage.role,  # only the process that signs checkpoints posts them
                metrics,
            ),
        )
        anchorer = (
            anchorer_factory(merkle_log, witnessing.receipts.anchorable_size)
            if anchorer_factory is not None
            else None
        )
        opened.append(lambda: anchorer.stop() if anchorer is not None else None)
        # assertions accepted once, in the gateway's database (SQLite file or PostgreSQL)
        replay = open_replay_guard(storage.database)
        opened.append(replay.close)
        identity = IdentityServicer(
            registry=current,
            adapters=adapters,
            log=merkle_log,
            executor=executor,
            recognizer=recognizer_for(s, keys.identity),
            catalogue=catalogue,
            replay=replay,
            revocations=revocation_watch_for(s, current, adapters, metrics),
        )
        admission = Admission(
            s.admission_max_in_flight,
            s.admission_max_in_flight_per_member,
            s.admission_retry_delay_seconds,
            metrics,
        )
        server, health_servicer, names = _grpc_server(
            s,
            AdmissionInterceptor(admission, lambda context: caller_member(context, current())),
            ExchangeServicer(
                core,
                store,
                current,
                hub,
                metrics,
                anchorer,
                max_send_bytes=_max_send(s),
                admission=admission,
                witnesses=witnessing.receipts,
            ),
            AuditServicer(core, store, current, anchorer.anchor_list if anchorer else _no_anchors),
            MattersServicer(registry=current, catalogue=catalogue, store=store, log=merkle_log),
            identity,
            LicencesServicer(registry=current, clock=cases.clock or _utc_now),
        )
        # (7): supervision and metrics
        supervisor = Supervisor(metrics)
        _refresh_gauges(metrics, storage, anchorer)
    except BaseException:
        for close in reversed(opened):
            with contextlib.suppress(Exception):
                close()
        raise
    return Gateway(
        settings=s,
        registry=registry,
        keys=keys,
        tls=tls,
        metrics=metrics,
        adapters=adapters,
        storage=storage,
        executor=executor,
        hub=hub,
        push=push,
        committer=committer,
        core=core,
        answer_relay=relay,
        cases=case_service,
        recognition=identity.service,
        anchorer=anchorer,
        witnessing=witnessing,
        supervisor=supervisor,
        grpc_server=server,
        health=health_servicer,
        admission=admission,
        service_names=names,
        dev_env=dev_env,
        seed=cases.seed,
        registry_reload_seconds=registry_reload_seconds,
    )


def _check_keys(current: TrustRegistry, keys: GatewayKeys) -> None:
    """Each of the gateway's keys must be listed in the registry for its own purpose."""
    listed = (
        ("log", KeyPurpose.CHECKPOINT, keys.log),
        ("attestation", KeyPurpose.ATTESTATION, keys.attestation),
        ("identity", KeyPurpose.IDENTITY, keys.identity),
    )
    for name, purpose, key in listed:
        try:
            current.gateway_key(key.public_key.key_id, purpose)
        except RegistryLookupError as exc:
            raise ConfigError(
                f"the gateway's {name} key is not listed in the trust registry "
                f"for purpose {purpose}: {exc}"
            ) from exc


def _no_anchors(request: audit_pb2.GetAnchorsRequest) -> audit_pb2.AnchorList:
    return audit_pb2.AnchorList()


def _max_send(s: Settings) -> int:
    """The largest message the gRPC server sends: a pull delivery above it is given up
    (``undeliverable``) instead of ending the member's stream. A delivery carries the
    payload twice (the sender's original and the recipient's dialect), plus a receipt."""
    return 2 * s.max_payload_bytes + 128 * 1024


#: gRPC core drops calls the event loop has not picked up yet: past 1,000 waiting it starts
#: cancelling new ones at random, all of them past 3,000 (``CANCELLED``, no reason, no log
#: line). Admission control refuses a picked-up call cheaply (before decoding or SM2), so
#: the backlog is let grow instead (bounded per connection by MAX_CONCURRENT_STREAMS: past it a
#: client queues its calls itself) and every call is answered (docs/operations.md, Overload).
OVERLOAD_OPTIONS = (
    ("grpc.server.max_pending_requests", 50_000),
    ("grpc.server.max_pending_requests_hard_limit", 100_000),
    ("grpc.max_concurrent_streams", 2_000),
)


def _grpc_server(
    s: Settings,
    admission: AdmissionInterceptor,
    exchange: ExchangeServicer,
    audit: AuditServicer,
    matters: MattersServicer,
    identity: IdentityServicer,
    licences: LicencesServicer,
) -> tuple[grpc.aio.Server, health.aio.HealthServicer, tuple[str, ...]]:
    """The gRPC server with every service; the names whose health follows the gateway's
    (each service, and "" for the server as a whole)."""
    # A SignedEnvelope is at most the payload limit + 8 KiB (gateway.exchange.limits). A
    # Delivery carries it, its receipt (a few KiB: every logged field is bounded) and the
    # payload again in the recipient's dialect, hence twice the payload limit on the way out.
    limit = s.max_payload_bytes + 64 * 1024
    server = grpc.aio.server(
        # every refusal (e.g. registry_expired from require()) as its own status,
        # undecodable requests as malformed, anything else INTERNAL: never UNKNOWN
        # admission first (outermost): an overloaded call is refused before it is decoded
        interceptors=[admission, GuardInterceptor()],
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", _max_send(s)),
            # a second gateway on this port must fail to bind, not share the port; only the
            # workers of one ``serve --workers`` share it (gateway/app/workers.py)
            ("grpc.so_reuseport", 1 if is_worker() else 0),
            *OVERLOAD_OPTIONS,
        ],
    )
    exchange_pb2_grpc.add_ExchangeServicer_to_server(exchange, server)
    audit_pb2_grpc.add_AuditServicer_to_server(audit, server)
    services = (
        exchange_pb2.DESCRIPTOR.services_by_name["Exchange"].full_name,
        audit_pb2.DESCRIPTOR.services_by_name["Audit"].full_name,
        add_matters_service(server, matters),
        add_identity_service(server, identity),
        add_licences_service(server, licences),
    )
    health_servicer = add_health(server)
    add_reflection(server, (*services, health.SERVICE_NAME))
    return server, health_servicer, (*services, "")


def _refresh_gauges(metrics: Metrics, storage: Storage, anchorer: GatewayAnchorer | None) -> None:
    merkle_log, store = storage.log, storage.store

    def refresh() -> None:
        metrics.log_size.set(merkle_log.size)
        metrics.sequencer_leader.set(1 if storage.role in ("embedded", "leader") else 0)
        batch_sizes = getattr(merkle_log, "batch_sizes", None)  # the embedded log's
        if batch_sizes:
            metrics.batch_size.set(batch_sizes[-1])
        metrics.outbox_depth.set(store.outbox_depth())
        if anchorer is not None:
            lag = anchorer.lag()
            metrics.anchor_lag_entries.set(lag.entries)
            if lag.seconds is not None:
                metrics.anchor_lag_seconds.set(lag.seconds)

    metrics.on_scrape(refresh)


def _utc_now() -> datetime:
    """The licence service's clock when the case options give none."""
    return datetime.now(UTC)
