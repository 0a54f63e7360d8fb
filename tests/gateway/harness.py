"""A real gateway on loopback for integration tests, on its own event loop thread.

Tests talk to it over real mTLS gRPC connections from their own loop; nothing is mocked.
With ``off_loop_guard`` (default: ``YRD_ASSERT_OFF_LOOP=1`` in the environment) a blocking
store call on the gateway's loop raises (``gateway.exchange.loopguard``).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.app.compose import AnchorerFactory, CaseOptions, compose
from gateway.app.devenv import DevEnvironment, ensure_dev_environment
from gateway.app.gateway import Gateway
from gateway.app.settings import Settings
from gateway.app.trust import GatewayKeys, install_registry_alarm
from gateway.client import GatewayClient
from gateway.dialects.catalogue import DialectCatalogue
from gateway.exchange import loopguard
from gateway.ops.metrics import Metrics
from gateway.registry import RegistryHolder
from gateway.tls import TlsFiles
from ledger.trust import TrustStore
from tests.pg import database_for_tests


class GatewayThread:
    def __init__(
        self,
        data_dir: Path,
        *,
        pull_regions: tuple[str, ...] = ("SH", "JS", "ZJ", "AH"),
        endpoints: dict[str, str] | None = None,
        anchorer_factory: AnchorerFactory | None = None,
        mutate: Callable[[dict], None] | None = None,
        cases: CaseOptions | None = None,
        adapters: DialectCatalogue | None = None,
        off_loop_guard: bool | None = None,
        **settings: Any,
    ) -> None:
        self.data_dir = data_dir
        self.env: DevEnvironment = ensure_dev_environment(
            data_dir, endpoints=endpoints, pull_regions=pull_regions, mutate=mutate
        )
        if "database" not in settings:  # YRD_TEST_DATABASE=postgresql: the suite on PG
            database = database_for_tests()
            if database is not None:
                settings["database"] = database
        self.settings = Settings.load(
            env={}, data_dir=data_dir, grpc_port=0, http_port=0, anchor_mode="off", **settings
        )
        self.anchorer_factory = anchorer_factory
        self.adapters = adapters
        self.cases = cases or CaseOptions()
        self.loop = asyncio.new_event_loop()
        if off_loop_guard is None:
            off_loop_guard = os.environ.get("YRD_ASSERT_OFF_LOOP") == "1"
        if off_loop_guard:
            loopguard.guard(self.loop)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.gateway: Gateway | None = None

    def start(self, clock: Callable[[], datetime] | None = None) -> GatewayThread:
        """Compose and start the gateway; ``clock`` (UTC datetimes) is the registry
        holder's, for expiry tests."""
        gateway = self.compose(clock)
        self.call(gateway.start())
        return self

    def compose(self, clock: Callable[[], datetime] | None = None) -> Gateway:
        """Start the loop thread and compose the gateway as ``yrdgw serve`` does (nothing
        listens yet)."""
        self.thread.start()
        holder = RegistryHolder(
            self.env.registry_path,
            [self.env.governance.public_key],
            grace=timedelta(seconds=self.settings.registry_expiry_grace_seconds),
            **({"clock": clock} if clock else {}),
        )
        assert holder.reload(), holder.last_error
        tls = TlsFiles(self.env.ca.cert_pem, self.env.server.cert_pem, self.env.server.key_pem)
        metrics = Metrics()
        install_registry_alarm(metrics, holder)  # as gateway.app.serve.build_gateway does
        keys = GatewayKeys(self.env.log_key, self.env.attestation_key, self.env.identity_key)
        self.gateway = self.call(
            compose(
                self.settings,
                holder,
                keys,
                tls,
                metrics=metrics,
                anchorer_factory=self.anchorer_factory,
                adapters=self.adapters,
                dev_env=self.env,
                cases=self.cases,
            )
        )
        return self.gateway

    def call(self, coro, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.gateway is not None:
            self.call(self.gateway.stop(grace=2))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        loopguard.unguard(self.loop)

    @property
    def http_url(self) -> str:
        assert self.gateway is not None
        return f"http://127.0.0.1:{self.gateway.http_port}"

    @property
    def target(self) -> str:
        assert self.gateway is not None
        return f"127.0.0.1:{self.gateway.grpc_port}"

    @property
    def trust(self) -> TrustStore:
        return TrustStore.load(self.env.trust_path.read_bytes())

    def client(
        self,
        region: str,
        *,
        as_region: str | None = None,
        key_region: str | None = None,
        **kwargs: Any,
    ) -> GatewayClient:
        """A client with ``region``'s certificate, claiming ``as_region``, signing with
        ``key_region``'s key (defaults: all the same region)."""
        cert = self.env.clients[region]
        tls = TlsFiles(self.env.ca.cert_pem, cert.cert_pem, cert.key_pem)
        return GatewayClient(
            self.target,
            member=self.env.member_id(as_region or region),
            key=self.env.member_keys[key_region or region],
            tls=tls,
            trust=self.trust,
            **kwargs,
        )
