"""The HTTP side of the gateway (FastAPI): health, metrics and ``/docs`` (served with no
network, ``gateway.web.apidocs``); ``gateway.web.mount_web`` adds the web app's routers."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import FastAPI, Response

from gateway.errors import Error
from gateway.exchange.logview import GatewayLog

if TYPE_CHECKING:
    from gateway.app.backends import Storage
from gateway.ops.metrics import Metrics
from gateway.ops.supervision import Supervisor
from gateway.registry import RegistryHolder
from gateway.web.apidocs import install_docs
from gateway.web.limits import BodyLimitMiddleware, BodyLimits

__all__ = [
    "GatewayStatus",
    "create_app",
]


class GatewayStatus(Protocol):
    """What ``/healthz`` and ``/metrics`` show (``gateway.app.gateway.Gateway``)."""

    @property
    def ready(self) -> bool: ...

    @property
    def started_at(self) -> float: ...

    @property
    def supervisor(self) -> Supervisor: ...

    @property
    def registry(self) -> RegistryHolder: ...

    @property
    def log(self) -> GatewayLog: ...

    @property
    def storage(self) -> Storage: ...

    @property
    def metrics(self) -> Metrics: ...


def _witnesses(gateway: GatewayStatus) -> dict[str, Any] | None:
    """The collector's view (quorum, witnessed size, each witness), None without one or
    while the registry is unusable."""
    witnessing = getattr(gateway, "witnessing", None)
    if witnessing is None or gateway.registry.current is None:
        return None
    try:
        status: dict[str, Any] = witnessing.collector.status()
    except Error:  # a registry past its grace, a store that cannot answer: shown, not raised
        return None
    return status


def create_app(gateway: GatewayStatus, *, body_limits: BodyLimits | None = None) -> FastAPI:
    """The HTTP app; every route's body is bounded (``gateway.web.limits``, docs/web.md)."""
    app = FastAPI(
        title="YRD Gateway",
        version="0.1.0",
        description="G60 windows, auditors and operations for the YRD Gateway.",
        docs_url=None,  # install_docs: /docs from local assets, works with no network
        redoc_url=None,
    )
    install_docs(app)
    app.state.gateway = gateway
    app.add_middleware(BodyLimitMiddleware, limits=body_limits)

    @app.get("/healthz", tags=["operations"])
    def healthz(response: Response) -> dict[str, Any]:
        """200 while serving; 503 while starting, stopping, or while any background worker
        is down (``down`` names each one and its cause; docs/operations.md)."""
        ready = gateway.ready
        response.status_code = 200 if ready else 503
        supervisor = gateway.supervisor
        down = supervisor.down()
        if ready:
            status = "ok"
        elif down:
            status = "down"
        elif gateway.started_at > 0 and not gateway.registry.healthy:
            status = "registry_unhealthy"
        else:
            status = "starting"
        registry = gateway.registry
        return {
            "status": status,
            "down": down,
            "workers": {n: w.as_dict() for n, w in supervisor.workers.items()},
            "log_size": gateway.log.size,
            "sequencer": gateway.storage.role,
            "pid": os.getpid(),  # which process answered (serve --workers: one of several)
            "registry_serial": registry.current.serial if registry.current else None,
            "registry_error": str(registry.last_error) if registry.last_error else None,
            # degraded, never down: an unreachable witness does not stop exchanges
            "witnesses": _witnesses(gateway),
        }

    @app.get("/metrics", tags=["operations"])
    def metrics() -> Response:
        return Response(gateway.metrics.render(), media_type="text/plain; version=0.0.4")

    return app
