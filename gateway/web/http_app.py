"""The HTTP side of the gateway (FastAPI): health, metrics, and the web app's routers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Response

from gateway.web.limits import BodyLimitMiddleware, BodyLimits

__all__ = [
    "create_app",
]


def create_app(
    gateway: Any, extensions: list | None = None, *, body_limits: BodyLimits | None = None
) -> FastAPI:
    """The HTTP app; every route's body is bounded (``gateway.web.limits``, docs/web.md)."""
    app = FastAPI(
        title="YRD Gateway",
        version="0.1.0",
        description="G60 windows, auditors and operations for the YRD Gateway.",
    )
    app.state.gateway = gateway
    app.add_middleware(BodyLimitMiddleware, limits=body_limits)

    @app.get("/healthz", tags=["operations"])
    def healthz(response: Response) -> dict[str, Any]:
        """200 while serving; 503 while starting, stopping, or while any background worker
        is down (``down`` names each one and its cause; docs/operations.md)."""
        ready = gateway.ready
        response.status_code = 200 if ready else 503
        supervisor = getattr(gateway, "supervisor", None)
        down = supervisor.down() if supervisor is not None else {}
        if ready:
            status = "ok"
        elif down:
            status = "down"
        elif gateway.started_at > 0 and not gateway.registry.healthy:
            status = "registry_unhealthy"
        else:
            status = "starting"
        return {
            "status": status,
            "down": down,
            "workers": {n: w.as_dict() for n, w in supervisor.workers.items()}
            if supervisor is not None
            else {},
            "log_size": gateway.log.size,
            "registry_serial": gateway.registry.current.serial
            if gateway.registry.current
            else None,
            "registry_error": str(gateway.registry.last_error)
            if gateway.registry.last_error
            else None,
        }

    @app.get("/metrics", tags=["operations"])
    def metrics() -> Response:
        return Response(gateway.metrics.render(), media_type="text/plain; version=0.0.4")

    for extend in extensions or ():
        extend(app, gateway)
    return app
