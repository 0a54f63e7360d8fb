"""The running gateway: its parts, held with their types, started and stopped.

:func:`gateway.app.compose.compose` builds every part and hands each only what it uses; the
:class:`Gateway` it returns holds them and adds nothing later. Nothing listens until
:meth:`Gateway.start`, which binds the ports and starts the workers (the parts that need a
port or a running server are made there, declared up front); :meth:`Gateway.stop` drains
in-flight requests (grace period) before closing the log. ``docs/architecture.md`` draws the
parts and the one exchange path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health, health_pb2

from gateway.app.backends import Storage
from gateway.app.devenv import DevEnvironment
from gateway.app.http_server import HttpServer
from gateway.app.instance import PortInUse, bind_listener
from gateway.app.settings import Settings
from gateway.app.trust import GatewayKeys
from gateway.app.workers import is_worker
from gateway.cases import CaseService
from gateway.dialects.catalogue import DialectCatalogue
from gateway.exchange.answers import AnswerRelay
from gateway.exchange.commit import ExchangeCommitter
from gateway.exchange.core import ExchangeCore
from gateway.exchange.delivery import PullHub, PushWorker
from gateway.exchange.logview import GatewayLog
from gateway.exchange.store import GatewayStore
from gateway.exchange.unit import ExchangeWriter
from gateway.identity.service import RecognitionService
from gateway.ops.metrics import Metrics
from gateway.ops.supervision import Beat, Supervisor
from gateway.registry import RegistryHolder
from gateway.rpc.admission import Admission
from gateway.tls import TlsFiles
from gateway.web import mount_web, seed_dev
from gateway.web.http_app import create_app
from gateway.witness import Witnessing

if TYPE_CHECKING:  # the anchoring extra is imported only when anchoring is configured
    from gateway.app.anchoring import GatewayAnchorer

__all__ = [
    "Gateway",
    "reload_registry",
]


log = logging.getLogger("gateway.app.gateway")
_GRPC_BIND_FAILED = "not available (in use by another process?)"


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
        adapters: DialectCatalogue,
        storage: Storage,
        executor: ThreadPoolExecutor,
        hub: PullHub,
        push: PushWorker,
        committer: ExchangeCommitter,
        core: ExchangeCore,
        answer_relay: AnswerRelay,
        cases: CaseService,
        recognition: RecognitionService,
        anchorer: GatewayAnchorer | None,
        supervisor: Supervisor,
        witnessing: Witnessing | None = None,
        grpc_server: grpc.aio.Server,
        health: health.aio.HealthServicer,
        service_names: tuple[str, ...],
        dev_env: DevEnvironment | None,
        seed: bool,
        registry_reload_seconds: float | None,
        admission: Admission | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.log_key = keys.log
        self.attestation_key = keys.attestation
        self.identity_key = keys.identity
        self.tls = tls
        self.metrics = metrics
        self.adapters = adapters
        self.storage = storage  # the log and the rows, embedded or shared (app/backends.py)
        self.log: GatewayLog = storage.log
        self.store: GatewayStore = storage.store
        self.writer: ExchangeWriter = storage.writer  # the unit of work (exchange/unit.py)
        self.executor = executor
        self.hub = hub
        self.push = push
        self.committer = committer
        self.core = core
        self.answer_relay = answer_relay
        self.cases = cases
        self.recognition = recognition  # identity recognition, for gRPC and the windows
        self.anchorer = anchorer
        self.witnessing = witnessing  # cosignatures of the log's checkpoints (gateway.witness)
        self.supervisor = supervisor
        self.grpc_server = grpc_server
        self.admission = admission  # exchange-path requests in flight (gateway.rpc.admission)
        self.health = health
        self._service_names = service_names
        self.dev_env = dev_env
        self._seed = seed
        self._registry_reload = registry_reload_seconds
        # made by start(): they need a bound port or a running server
        self.http: HttpServer | None = None
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
        sock = bind_listener(
            "HTTP", self.settings.host, self.settings.http_port, reuse_port=is_worker()
        )
        self.http_port = sock.getsockname()[1]
        app = create_app(self)
        mount_web(app, self.cases, self)
        self.http = HttpServer(app, self.settings.host)
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
        sup.watch("sequencer", lambda: self.storage.failure)
        sup.watch("exchange-writer", lambda: self.writer.failure)
        anchorer = self.anchorer
        if anchorer is not None:
            sup.watch("anchorer", lambda: anchorer.failure)
        sup.run("push-delivery", self.push.run)
        sup.run("nonce-purger", self._purge_nonces)
        sup.run("metrics-refresh", self._refresh_metrics)
        if self.witnessing is not None:
            sup.run("witness-collector", self.witnessing.collector.run)
        every = self._registry_reload
        if every is not None:
            sup.run("registry-reload", lambda beat: reload_registry(self.registry, beat, every))
        revocations = self.recognition.revocations
        if revocations is not None:
            sup.run("identity-revocations", revocations.run)
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
            replay = self.recognition.replay  # assertions past not_after + leeway
            if replay is not None:
                await asyncio.to_thread(replay.purge, time.time())
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
        await asyncio.to_thread(self.storage.close)
        if self.witnessing is not None:
            self.witnessing.store.close()
        if self.recognition.replay is not None:
            self.recognition.replay.close()
        self.executor.shutdown(wait=True)


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
