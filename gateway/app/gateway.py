"""The running gateway: log, store, gRPC (mTLS), HTTP, delivery and anchoring, wired once.

``Gateway.start()`` brings everything up on the event loop it is awaited in and
``Gateway.stop()`` drains in-flight requests (grace period) before closing the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gateway.app.instance import PortInUse, bind_listener
from gateway.app.settings import Settings
from gateway.dialects.catalogue import DialectCatalogue, default_dialects
from gateway.errors import ConfigError
from gateway.exchange.core import ExchangeCore
from gateway.exchange.delivery import PullHub, PushWorker
from gateway.ops.metrics import Metrics
from gateway.ops.supervision import Beat, Supervisor
from gateway.pb.yrd.v1 import audit_pb2, audit_pb2_grpc, exchange_pb2, exchange_pb2_grpc
from gateway.registry import KeyPurpose, RegistryHolder, RegistryLookupError, TrustRegistry
from gateway.rpc.exchange import AuditServicer, ExchangeServicer
from gateway.rpc.guard import GuardInterceptor
from gateway.tls import TlsFiles
from ledger.crypto import PrivateKey
from ledger.log import MerkleLog, SQLiteStore

__all__ = [
    "Gateway",
]

log = logging.getLogger("gateway.app.gateway")
_GRPC_BIND_FAILED = "not available (in use by another process?)"


@dataclass
class Gateway:
    settings: Settings
    registry: RegistryHolder
    log_key: PrivateKey
    tls: TlsFiles
    adapters: DialectCatalogue = field(default_factory=default_dialects)
    anchorer_factory: Any = None  # callable(log) -> anchorer with start()/stop(), optional
    metrics: Metrics = field(default_factory=Metrics)
    dev_env: Any = None  # gateway.app.devenv.DevEnvironment when running with --dev
    grpc_services: list[Any] = field(default_factory=list)
    """Extra gRPC services: callables ``(server, gateway) -> full service name``."""
    http_extensions: list[Any] = field(default_factory=list)
    """Extra HTTP routes: callables ``(app: FastAPI, gateway) -> None``; they may also
    define ``async startup(gateway)``/``shutdown`` via ``gateway.on_start``/``on_stop``."""
    on_start: list[Any] = field(default_factory=list)
    on_stop: list[Any] = field(default_factory=list)
    attestation_key: PrivateKey = field(kw_only=True)
    """Signs envelopes the gateway vouches for as a member's adapter (relayed evidence);
    listed in the registry's ``gateway_keys`` with purpose ``attestation``."""
    identity_key: PrivateKey = field(kw_only=True)
    """Signs canonical identity assertions; purpose ``identity`` in ``gateway_keys``."""

    grpc_port: int = 0
    http_port: int = 0
    started_at: float = 0.0
    purge_every_seconds: float = 60.0
    metrics_every_seconds: float = 5.0

    async def start(self) -> None:
        s = self.settings
        current = self.registry.require()
        origin = s.log_origin or current.log_origin
        self._check_keys(current)
        s.data_dir.mkdir(parents=True, exist_ok=True)
        db = s.data_dir / "gateway.db"
        self.log = await asyncio.to_thread(
            MerkleLog,
            SQLiteStore(db),
            self.log_key,
            origin,
            batch_max=s.batch_max,
            batch_wait=s.batch_wait_seconds,
            anchors=s.data_dir / "anchors.db",
        )
        from gateway.exchange.store import GatewayStore

        self.store = GatewayStore(db)
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="crypto")
        self.hub = PullHub()
        self.push = PushWorker(
            self.store,
            self._registry,
            self.adapters,
            base=s.push_backoff_seconds,
            cap=s.push_backoff_max_seconds,
            max_attempts=s.push_max_attempts,
            metrics=self.metrics,
        )
        self.core = ExchangeCore(
            log=self.log,
            store=self.store,
            registry=self._registry,
            adapters=self.adapters,
            executor=self.executor,
            freshness_seconds=s.freshness_seconds,
            max_payload_bytes=s.max_payload_bytes,
            on_accept=self._on_accept,
        )
        self.anchorer = self.anchorer_factory(self.log) if self.anchorer_factory else None
        self.supervisor = Supervisor(self.metrics)
        self._metrics_refresh()
        await self._start_grpc()
        self._supervise()
        if self.anchorer is not None:
            await asyncio.to_thread(self.anchorer.start)
        self.http = None
        await self._start_http()
        for hook in self.on_start:
            await hook(self)
        self.started_at = time.time()
        await self.supervisor.start()

    def _supervise(self) -> None:
        """Every background worker runs under (or is watched by) the supervisor."""
        sup = self.supervisor
        sup.watch("sequencer", lambda: self.log.failure)
        if self.anchorer is not None:
            sup.watch("anchorer", lambda: getattr(self.anchorer, "failure", None))
        sup.run("push-delivery", self.push.run)
        sup.run("nonce-purger", self._purge_nonces)
        sup.run("metrics-refresh", self._refresh_metrics)
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
        for name in self._health_names:
            await self.health.set(name, status)

    def _check_keys(self, current: TrustRegistry) -> None:
        """Each of the gateway's keys must be listed in the registry for its own purpose."""
        keys = (
            ("log", KeyPurpose.CHECKPOINT, self.log_key),
            ("attestation", KeyPurpose.ATTESTATION, self.attestation_key),
            ("identity", KeyPurpose.IDENTITY, self.identity_key),
        )
        for name, purpose, key in keys:
            try:
                current.gateway_key(key.public_key.key_id, purpose)
            except RegistryLookupError as exc:
                raise ConfigError(
                    f"the gateway's {name} key is not listed in the trust registry "
                    f"for purpose {purpose}: {exc}"
                ) from exc

    def _registry(self) -> TrustRegistry:
        return self.registry.require()

    def _on_accept(self, recipient: str, exchange_id: str) -> None:
        self.hub.notify(recipient)
        self.push.notify()

    async def _start_grpc(self) -> None:
        s = self.settings
        limit = s.max_payload_bytes + 64 * 1024
        self.grpc_server = grpc.aio.server(
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
        exchange_pb2_grpc.add_ExchangeServicer_to_server(
            ExchangeServicer(
                self.core, self.store, self._registry, self.hub, self.metrics, self.anchorer
            ),
            self.grpc_server,
        )
        audit_pb2_grpc.add_AuditServicer_to_server(
            AuditServicer(self.core, self.store, self._anchor_list), self.grpc_server
        )
        extra = tuple(add(self.grpc_server, self) for add in self.grpc_services)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.grpc_server)
        names = (
            exchange_pb2.DESCRIPTOR.services_by_name["Exchange"].full_name,
            audit_pb2.DESCRIPTOR.services_by_name["Audit"].full_name,
            *extra,
            health.SERVICE_NAME,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(names, self.grpc_server)
        credentials = grpc.ssl_server_credentials(
            [(self.tls.key, self.tls.cert)],
            root_certificates=self.tls.ca,
            require_client_auth=True,
        )
        try:
            self.grpc_port = self.grpc_server.add_secure_port(
                f"{s.host}:{s.grpc_port}", credentials
            )
        except RuntimeError as exc:  # grpc: "Failed to bind to address ..."
            raise PortInUse("gRPC", s.host, s.grpc_port, _GRPC_BIND_FAILED) from exc
        if not self.grpc_port:
            raise PortInUse("gRPC", s.host, s.grpc_port, _GRPC_BIND_FAILED)
        await self.grpc_server.start()
        self._health_names = (*names[: 2 + len(extra)], "")
        for name in self._health_names:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def _start_http(self) -> None:
        import uvicorn

        from gateway.web.http_app import create_app

        app = create_app(self, self.http_extensions)
        # Bound here, not by uvicorn: a taken port is a PortInUse, not uvicorn's own exit.
        sock = bind_listener("HTTP", self.settings.host, self.settings.http_port)
        config = uvicorn.Config(
            app,
            host=self.settings.host,
            port=self.settings.http_port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        self.http = uvicorn.Server(config)
        self.http.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._http_task = asyncio.get_running_loop().create_task(self.http.serve([sock]))
        while not self.http.started:
            if self._http_task.done():
                self._http_task.result()
                raise ConfigError("http server stopped during start")
            await asyncio.sleep(0.01)
        sockets = [sock for server in self.http.servers for sock in server.sockets]
        self.http_port = sockets[0].getsockname()[1]

    def _anchor_list(self, request: Any) -> Any:
        if self.anchorer is None or not hasattr(self.anchorer, "anchor_list"):
            return audit_pb2.AnchorList()
        return self.anchorer.anchor_list(request)

    def _metrics_refresh(self) -> None:
        def refresh() -> None:
            self.metrics.log_size.set(self.log.size)
            if self.log.batch_sizes:
                self.metrics.batch_size.set(self.log.batch_sizes[-1])
            self.metrics.outbox_depth.set(self.store.outbox_depth())
            if self.anchorer is not None and hasattr(self.anchorer, "lag"):
                lag = self.anchorer.lag()
                self.metrics.anchor_lag_entries.set(lag.entries)
                if lag.seconds is not None:
                    self.metrics.anchor_lag_seconds.set(lag.seconds)

        self.metrics.on_scrape(refresh)

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

    async def stop(self, grace: float = 5.0) -> None:
        """Stop taking requests, let in-flight ones finish (``grace`` s), then close."""
        self.started_at = 0.0
        if getattr(self, "supervisor", None):
            await self.supervisor.stop()
        if getattr(self, "health", None):
            await self.health.enter_graceful_shutdown()
        if getattr(self, "grpc_server", None):
            await self.grpc_server.stop(grace)
        for hook in self.on_stop:
            await hook(self)
        if self.http is not None:
            self.http.should_exit = True
            await self._http_task
        await self.push.stop()
        if self.anchorer is not None:
            await asyncio.to_thread(self.anchorer.stop)
        await asyncio.to_thread(self.log.close)
        self.store.close()
        self.executor.shutdown(wait=True)
