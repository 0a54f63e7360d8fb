"""The web side of the gateway: REST API and pages for G60 windows, handlers and auditors.

``install(app, gateway)`` is the HTTP extension the gateway calls (``Gateway.http_extensions``):
it opens the case service (``gateway.cases``), adds the API routers (``/api/...``, documented
at ``/docs``), the pages (``/web/``) and the start/stop hooks of the case watcher.
``seed_dev(gateway)`` (an ``on_start`` hook for ``yrdgw serve --dev``) adds window accounts for
the nine G60 cities, handler and auditor accounts, and two sample cases. See ``docs/web.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from gateway.cases import CaseService
from gateway.regions import REGIONS
from gateway.web.api import build_router, install_errors
from gateway.web.seed import seed_dev
from gateway.workdays import WorkdayCalendar
from ledger.crypto import PrivateKey

__all__ = ["STATIC_DIR", "install", "make_install", "seed_dev"]

STATIC_DIR = Path(__file__).parent / "static"


def _signing_keys(gateway: Any) -> dict[str, PrivateKey]:
    """Member keys the gateway signs case exchanges with: dev keys, or key files.

    In dev, ``gateway.dev_env.member_keys``; otherwise ``<data_dir>/cases-keys/member-<R>.pem``
    for each region R whose key this deployment holds (a window's region, and a handling
    province that lets the gateway sign on its behalf).
    """
    env = getattr(gateway, "dev_env", None)
    if env is not None:
        return dict(env.member_keys)
    keys: dict[str, PrivateKey] = {}
    for region in REGIONS:
        path = gateway.settings.data_dir / "cases-keys" / f"member-{region}.pem"
        if path.exists():
            keys[region] = PrivateKey.from_pem(path.read_bytes())
    return keys


def make_install(
    *,
    clock: Callable[[], datetime] | None = None,
    calendar: WorkdayCalendar | None = None,
    keys: Mapping[str, PrivateKey] | None = None,
) -> Callable[[FastAPI, Any], None]:
    """An ``install`` with a business clock, calendar or keys of its own (tests, demos)."""

    def install(app: FastAPI, gateway: Any) -> None:
        options: dict[str, Any] = {}
        if clock is not None:
            options["clock"] = clock
        service = CaseService(
            gateway,
            gateway.settings.data_dir,
            keys=keys if keys is not None else _signing_keys(gateway),
            calendar=calendar,
            **options,
        )
        gateway.cases = service
        app.state.cases = service
        install_errors(app)
        app.include_router(build_router(gateway, service))
        app.mount("/web", StaticFiles(directory=STATIC_DIR, html=True), name="web")

        @app.get("/", include_in_schema=False)
        def root() -> RedirectResponse:
            return RedirectResponse("/web/")

        async def start(_gateway: Any) -> None:
            await service.start()

        async def stop(_gateway: Any) -> None:
            await service.stop()

        gateway.on_start.append(start)
        gateway.on_stop.append(stop)

    return install


install = make_install()
