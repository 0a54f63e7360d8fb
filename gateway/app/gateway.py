"""The running gateway, composed in one place from typed parts.

:func:`compose` builds every part -- log, store, commit path, checks, delivery, evidence
relay, case service, gRPC services, supervisor -- and hands each only what it uses; the
:class:`Gateway` it returns holds them, declared with their types, and adds nothing later.
Nothing listens until :meth:`Gateway.start`, which binds the ports and starts the workers
(the parts that need a port or a running server are made there, declared up front);
:meth:`Gateway.stop` drains in-flight requests (grace period) before closing the log.
``docs/architecture.md`` draws the parts and the one exchange path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import grpc
import uvicorn
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.app.devenv import DevEnvironment
from gateway.app.instance import PortInUse, bind_listener
from gateway.app.settings import Settings
from gateway.app.trust import GatewayKeys
from gateway.cases import CaseService
from gateway.dialects.registry import AdapterRegistry, default_registry
from gateway.errors import ConfigError
from gateway.exchange.commit import ExchangeCommitter
from gateway.exchange.core import ExchangeCore
from gateway.exchange.delivery import PullHub, PushWorker
from gateway.exchange.evidence import EvidenceRelay
from gateway.exchange.store import GatewayStore
from gateway.matters import default_catalogue
from gateway.ops.metrics import Metrics
from gateway.ops.supervision import Beat, Supervisor
from gateway.pb.yrd.v1 import audit_pb2, audit_pb2_grpc, exchange_pb2, exchange_pb2_grpc
from gateway.registry import KeyPurpose, RegistryHolder, RegistryLookupError, TrustRegistry
from gateway.rpc.exchange import AuditServicer, ExchangeServicer
from gateway.rpc.guard import GuardInterceptor
from gateway.rpc.identity import IdentityServicer, add_identity_service, recognizer_for
from gateway.rpc.matters import MattersServicer, add_matters_service
from gateway.tls import TlsFiles
from gateway.web import member_signing_keys, mount_web, seed_dev
from gateway.web.http_app import create_app
from gateway.workdays import WorkdayCalendar
from ledger.crypto import PrivateKey
from ledger.log import MerkleLog, SQLiteStore

if TYPE_CHECKING:  # the anchoring extra is imported only when anchoring is configured
    from gateway.app.anchoring import GatewayAnchorer

__all__ = ["AnchorerFactory", "CaseOptions", "Gateway", "compose", "reload_registry"]

log = logging.getLogger("gateway.app.gateway")
_GRPC_BIND_FAILED = "not available (in use by another process?)"

AnchorerFactory = Callable[[MerkleLog], "GatewayAnchorer"]


@dataclass(frozen=True)
class CaseOptions:
    """What a test or demo varies in the case service: its business clock (Beijing time), a
    fixed holiday calendar, the member signing keys (default: the dev environment's, else
    ``<data_dir>/cases-keys/member-<R>.pem``), and whether to seed the dev accounts."""

    clock: Callable[[], datetime] | None = None
    calendar: WorkdayCalendar | None = None
    keys: Mapping[str, PrivateKey] | None = None
    seed: bool = False


class Gateway:
    """The parts of one running gateway (built by :func:`compose`), started and stopped."""

    def __init__(
        self,
        *,
        settings: Settings,
        registry: RegistryHolder,
        keys: GatewayKeys,
        tls: TlsFiles,
        metrics: Metrics,
        adapters: AdapterRegistry,
        log: MerkleLog,
        store: GatewayStore,
        executor: ThreadPoolExecutor,
        hub: PullHub,
        push: PushWorker,
        committer: ExchangeCommitter,
        core: ExchangeCore,
        evidence_relay: EvidenceRelay,
        cases: CaseService,
        anchorer: GatewayAnchorer | None,
        supervisor: Supervisor,
        grpc_server: grpc.aio.Server,
        health: health.aio.HealthServicer,
        service_names: tuple[str, ...],
        dev_env: DevEnvironment | None,
        seed: bool,
        registry_reload_seconds: float | None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.log_key = keys.log
        self.attestation_key = keys.attestation
        self.identity_key = keys.identity
        self.tls = tls
        self.metrics = metrics
        self.adapters = adapters
        self.log = log
        self.store = store
        self.executor = executor
        self.hub = hub
        self.push = push
        self.committer = committer
        self.core = core
        self.evidence_relay = evidence_relay
        self.cases = cases
        self.anchorer = anchorer
        self.supervisor = supervisor
        self.grpc_server = grpc_server
        self.health = health
        self._service_names = service_names
        self.dev_env = dev_env
        self._seed = seed
        self._registry_reload = registry_reload_seconds
        # made by start(): they need a bound port or a running server
        self.http: _HttpServer | None = None
        self.grpc_port = 0
        self.http_port = 0
        self.started_at = 0.0
        self.purge_every_seconds = 60.0
        self.metrics_every_seconds = 5.0
        self._started: list[str] = []

    # -- start ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Bring the gateway up; a failure leaves what did start for :meth:`stop`.

        1. gRPC: bind the port (:class:`PortInUse` if taken), start, health SERVING;
        2. workers under the supervisor: push delivery, nonce purger, metrics refresh,
           registry reload (if configured); the sequencer and anchorer threads watched;
        3. the anchorer thread;
        4. HTTP on the socket bound here (:func:`~gateway.app.instance.bind_listener`);
        5. cases: crash recovery, answer and calendar watchers; the dev seed if asked;
        6. ready: health follows the supervisor from now on.
        """
        # (1): gRPC
        self.grpc_port = self._bind_grpc()
        await self.grpc_server.start()
        self._started.append("grpc")
        for name in self._service_names:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        # (2): workers
        self._supervise()
        # (3): anchoring
        if self.anchorer is not None:
            await asyncio.to_thread(self.anchorer.start)
            self._started.append("anchorer")
        # (4): HTTP
        sock = bind_listener("HTTP", self.settings.host, self.settings.http_port)
        self.http_port = sock.getsockname()[1]
        app = create_app(self)
        mount_web(app, self.cases, self)
        self.http = _HttpServer(app, self.settings.host)
        await self.http.start(sock)
        # (5): cases
        await self.cases.start()
        self._started.append("cases")
        if self._seed:
            await seed_dev(self)
        # (6): ready
        self.started_at = time.time()
        await self.supervisor.start()

    def _bind_grpc(self) -> int:
        s = self.settings
        credentials = grpc.ssl_server_credentials(
            [(self.tls.key, self.tls.cert)],
            root_certificates=self.tls.ca,
            require_client_auth=True,
        )
        try:
            port = self.grpc_server.add_secure_port(f"{s.host}:{s.grpc_port}", credentials)
        except RuntimeError as exc:  # grpc: "Failed to bind to address ..."
            raise PortInUse("gRPC", s.host, s.grpc_port, _GRPC_BIND_FAILED) from exc
        if not port:
            raise PortInUse("gRPC", s.host, s.grpc_port, _GRPC_BIND_FAILED)
        return port

    def _supervise(self) -> None:
        """Every background worker runs under (or is watched by) the supervisor."""
        sup = self.supervisor
        sup.watch("sequencer", lambda: self.log.failure)
        anchorer = self.anchorer
        if anchorer is not None:
            sup.watch("anchorer", lambda: anchorer.failure)
        sup.run("push-delivery", self.push.run)
        sup.run("nonce-purger", self._purge_nonces)
        sup.run("metrics-refresh", self._refresh_metrics)
        every = self._registry_reload
        if every is not None:
            sup.run("registry-reload", lambda beat: reload_registry(self.registry, beat, every))
        sup.on_change(self._set_serving)

    async def _set_serving(self, healthy: bool) -> None:
        """gRPC health follows the supervisor: NOT_SERVING (overall and per service) while
        any worker is down, so load balancers and partners stop sending."""
        if self.started_at == 0.0 and healthy:  # stopping: graceful shutdown owns health
            return
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if healthy
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in self._service_names:
            await self.health.set(name, status)

    async def _purge_nonces(self, beat: Beat) -> None:
        while True:
            await asyncio.sleep(self.purge_every_seconds)
            cutoff = time.time() - 2 * self.settings.freshness_seconds
            await asyncio.to_thread(self.store.purge_nonces, cutoff)
            beat()

    async def _refresh_metrics(self, beat: Beat) -> None:
        """Refresh the gauges now and then, so a failing source shows as a down worker
        rather than as a silently stale gauge."""
        while True:
            await asyncio.to_thread(self.metrics.refresh)
            beat()
            await asyncio.sleep(self.metrics_every_seconds)

    @property
    def ready(self) -> bool:
        return self.started_at > 0 and self.registry.healthy and self.supervisor.healthy

    # -- stop -----------------------------------------------------------------------------
    async def stop(self, grace: float = 5.0) -> None:
        """Stop taking requests, let in-flight ones finish (``grace`` s), then close.
        Safe after a failed or partial :meth:`start`."""
        self.started_at = 0.0
        await self.supervisor.stop()
        await self.health.enter_graceful_shutdown()
        if "grpc" in self._started:
            await self.grpc_server.stop(grace)
        if "cases" in self._started:
            await self.cases.stop()
        else:
            self.cases.close()
        if self.http is not None:
            await self.http.stop()
        await self.push.stop()
        if "anchorer" in self._started and self.anchorer is not None:
            await asyncio.to_thread(self.anchorer.stop)
        await asyncio.to_thread(self.log.close)
        self.store.close()
        self.executor.shutdown(wait=True)


class _HttpServer:
    """uvicorn through its public API: ``Server(config)`` and ``serve(sockets=...)`` on the
    socket the gateway bound, as a task of the gateway's loop."""

    def __init__(self, app: ASGIApp, host: str) -> None:
        self._started = asyncio.Event()
        config = uvicorn.Config(
            _setting_on_startup(app, self._started),
            host=host,
            log_level="warning",
            lifespan="on",
            access_log=False,
        )
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self, sock: socket.socket, timeout: float = 30.0) -> None:
        """Serve on ``sock``; return once the app's lifespan startup ran.

        uvicorn has no public "listening" event; the lifespan startup handler is the last
        hook it runs before it adds the socket to the loop. The socket is already listening
        (bound by the gateway), so a client that connects in between waits in the kernel's
        backlog rather than being refused. A serve task that ends first (startup failed)
        raises here instead of hanging; ``timeout`` bounds the wait.
        """
        self._task = asyncio.get_running_loop().create_task(
            self._server.serve(sockets=[sock]), name="http"
        )
        started = asyncio.get_running_loop().create_task(self._started.wait())
        done, _ = await asyncio.wait({self._task, started}, timeout=timeout)
        if started not in done:
            started.cancel()
            if self._task in done:
                self._task.result()  # uvicorn's own error, if it raised one
                raise ConfigError("http server stopped during start")
            raise ConfigError(f"http server did not start within {timeout:.0f}s")

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task


class _QuietServer(uvicorn.Server):
    """SIGINT/SIGTERM belong to ``yrdgw serve`` (it drains the whole gateway), so uvicorn
    must not capture them. ``Server.capture_signals`` is where uvicorn takes them since
    0.29 (before, ``install_signal_handlers``); ``pyproject.toml`` requires 0.30 or later."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _setting_on_startup(app: ASGIApp, started: asyncio.Event) -> ASGIApp:
    """``app``, with ``started`` set once its lifespan startup completed."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def send_and_mark(message: Message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                started.set()

        await app(scope, receive, send_and_mark)

    return asgi


# -- composition -------------------------------------------------------------------------
async def compose(
    settings: Settings,
    registry: RegistryHolder,
    keys: GatewayKeys,
    tls: TlsFiles,
    *,
    metrics: Metrics | None = None,
    adapters: AdapterRegistry | None = None,
    anchorer_factory: AnchorerFactory | None = None,
    dev_env: DevEnvironment | None = None,
    cases: CaseOptions = CaseOptions(),
    registry_reload_seconds: float | None = None,
) -> Gateway:
    """Build the gateway from its parts; nothing listens until ``await gateway.start()``.

    1. each of the gateway's keys is listed in the registry for its purpose (ConfigError);
    2. the log (opened and verified in a thread) and the gateway's rows;
    3. the one commit path, and delivery it notifies (pull hub, push worker);
    4. the checks (``ExchangeCore``) and the evidence relay, both committing through (3);
    5. the case service (it submits through (4));
    6. the gRPC server with every service: Exchange, Audit, Matters, Identity, health and
       reflection;
    7. the supervisor, the metrics refresh and the anchorer (if configured).

    Whatever was opened is closed again if a later step fails.
    """
    metrics = metrics if metrics is not None else Metrics()
    adapters = adapters if adapters is not None else default_registry()
    s = settings
    # (1): keys
    _check_keys(registry.require(), keys)
    # (2): log and rows
    s.data_dir.mkdir(parents=True, exist_ok=True)
    db = s.data_dir / "gateway.db"
    merkle_log = await asyncio.to_thread(
        MerkleLog,
        SQLiteStore(db),
        keys.log,
        s.log_origin or registry.require().log_origin,
        batch_max=s.batch_max,
        batch_wait=s.batch_wait_seconds,
        anchors=s.data_dir / "anchors.db",
    )
    opened: list[Callable[[], object]] = [merkle_log.close]
    try:
        store = GatewayStore(db)
        opened.append(store.close)
        executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="crypto")
        opened.append(executor.shutdown)
        current = registry.require
        # (3): commit path and delivery
        hub = PullHub()
        push = PushWorker(
            store, current, adapters, base=s.push_backoff_seconds, cap=s.push_backoff_max_seconds
        )

        def committed(recipient: str, exchange_id: str) -> None:
            hub.notify(recipient)
            push.notify()

        committer = ExchangeCommitter(
            log=merkle_log,
            store=store,
            delivery_mode=lambda recipient: str(current().delivery(recipient).mode),
            executor=executor,
            on_commit=committed,
        )
        # (4): checks and the evidence relay
        core = ExchangeCore(
            log=merkle_log,
            store=store,
            committer=committer,
            registry=current,
            adapters=adapters,
            executor=executor,
            freshness_seconds=s.freshness_seconds,
            max_payload_bytes=s.max_payload_bytes,
        )
        relay = EvidenceRelay(
            committer=committer, store=store, signer=keys.attestation, executor=executor
        )
        push.answer_hooks.append(relay.on_answer)
        # (5): cases
        case_keys = cases.keys
        if case_keys is None:
            case_keys = dict(dev_env.member_keys) if dev_env else member_signing_keys(s.data_dir)
        catalogue = default_catalogue()
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
        )
        opened.append(case_service.close)
        # (6): gRPC
        anchorer = anchorer_factory(merkle_log) if anchorer_factory is not None else None
        opened.append(lambda: anchorer.stop() if anchorer is not None else None)
        server, health_servicer, names = _grpc_server(
            s,
            ExchangeServicer(core, store, current, hub, metrics, anchorer),
            AuditServicer(core, store, anchorer.anchor_list if anchorer else _no_anchors),
            MattersServicer(registry=current, catalogue=catalogue, store=store, log=merkle_log),
            IdentityServicer(
                registry=current,
                adapters=adapters,
                log=merkle_log,
                executor=executor,
                recognizer=recognizer_for(s, keys.identity),
                catalogue=catalogue,
            ),
        )
        # (7): supervision and metrics
        supervisor = Supervisor(metrics)
        _refresh_gauges(metrics, merkle_log, store, anchorer)
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
        log=merkle_log,
        store=store,
        executor=executor,
        hub=hub,
        push=push,
        committer=committer,
        core=core,
        evidence_relay=relay,
        cases=case_service,
        anchorer=anchorer,
        supervisor=supervisor,
        grpc_server=server,
        health=health_servicer,
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


def _grpc_server(
    s: Settings,
    exchange: ExchangeServicer,
    audit: AuditServicer,
    matters: MattersServicer,
    identity: IdentityServicer,
) -> tuple[grpc.aio.Server, health.aio.HealthServicer, tuple[str, ...]]:
    """The gRPC server with every service; the names whose health follows the gateway's
    (each service, and "" for the server as a whole)."""
    limit = s.max_payload_bytes + 64 * 1024
    server = grpc.aio.server(
        # every refusal (e.g. registry_expired from require()) as its own status,
        # undecodable requests as malformed, anything else INTERNAL: never UNKNOWN
        interceptors=[GuardInterceptor()],
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit + 64 * 1024),
            # a second gateway on this port must fail to bind, not share the port
            ("grpc.so_reuseport", 0),
        ],
    )
    exchange_pb2_grpc.add_ExchangeServicer_to_server(exchange, server)
    audit_pb2_grpc.add_AuditServicer_to_server(audit, server)
    services = (
        exchange_pb2.DESCRIPTOR.services_by_name["Exchange"].full_name,
        audit_pb2.DESCRIPTOR.services_by_name["Audit"].full_name,
        add_matters_service(server, matters),
        add_identity_service(server, identity),
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*services, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    return server, health_servicer, (*services, "")


def _refresh_gauges(
    metrics: Metrics, merkle_log: MerkleLog, store: GatewayStore, anchorer: GatewayAnchorer | None
) -> None:
    def refresh() -> None:
        metrics.log_size.set(merkle_log.size)
        if merkle_log.batch_sizes:
            metrics.batch_size.set(merkle_log.batch_sizes[-1])
        metrics.outbox_depth.set(store.outbox_depth())
        if anchorer is not None:
            lag = anchorer.lag()
            metrics.anchor_lag_entries.set(lag.entries)
            if lag.seconds is not None:
                metrics.anchor_lag_seconds.set(lag.seconds)

    metrics.on_scrape(refresh)


async def reload_registry(holder: RegistryHolder, beat: Beat, every: float = 60.0) -> None:
    """Reload the registry periodically; a bad copy is refused and the last good one kept.

    Runs under the gateway's supervisor: an unexpected exception (not a refused copy, which
    ``reload`` reports in ``last_error``) marks it down and restarts it with backoff."""
    while True:
        await asyncio.sleep(every)
        changed = await asyncio.to_thread(holder.reload)
        beat()
        if holder.last_error is not None:
            log.error(
                "trust registry reload refused; keeping serial %s: %s",
                holder.current.serial if holder.current else None,
                holder.last_error,
            )
        elif changed and holder.current is not None:
            log.info("trust registry reloaded", extra={"serial": holder.current.serial})
