"""The web side of the gateway: REST API and pages for G60 windows, handlers and auditors.

``mount_web(app, cases, gateway)`` adds the API routers (``/api/...``, documented at
``/docs``) and the pages (``/web/``) for the case service that ``gateway.app.compose.compose``
built (the gateway starts and stops that service itself). ``seed_dev(gateway)`` (run by
``yrdgw serve --dev``) adds window accounts for the nine G60 cities, handler and auditor
accounts, and two sample cases. See ``docs/web.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from gateway.cases import CaseService
from gateway.exchange.logview import GatewayLog
from gateway.regions import REGIONS
from gateway.web.api import build_router, install_errors
from gateway.web.routes_applicant import build_applicant_router
from gateway.web.routes_audit import build_audit_router
from gateway.web.routes_identity import build_identity_router
from gateway.web.routes_licences import build_licences_router
from gateway.web.routes_session import session_router
from gateway.web.routes_shared import build_shared_router
from gateway.web.routes_supplement import build_supplement_router
from gateway.web.seed import seed_dev
from ledger.crypto import PrivateKey

__all__ = ["STATIC_DIR", "ReceiptSource", "member_signing_keys", "mount_web", "seed_dev"]

STATIC_DIR = Path(__file__).parent / "static"


class ReceiptSource(Protocol):
    """What the audit pages verify receipts against: the log, its key, and the anchorer
    (``None`` when anchoring is off)."""

    @property
    def log(self) -> GatewayLog: ...

    @property
    def log_key(self) -> PrivateKey: ...

    @property
    def anchorer(self) -> object | None: ...


def member_signing_keys(data_dir: Path) -> dict[str, PrivateKey]:
    """Member keys a deployment signs case exchanges with: ``<data_dir>/cases-keys/member-<R>.pem``
    for each region R whose key it holds (a window's region, and a handling province that
    lets the gateway sign on its behalf). The dev environment passes its own keys instead."""
    keys: dict[str, PrivateKey] = {}
    for region in REGIONS:
        path = Path(data_dir) / "cases-keys" / f"member-{region}.pem"
        if path.exists():
            keys[str(region)] = PrivateKey.from_pem(path.read_bytes())
    return keys


def mount_web(app: FastAPI, cases: CaseService, gateway: ReceiptSource) -> None:
    """Add the API routers, the pages and ``/`` (a redirect to them) to ``app``."""
    app.state.cases = cases
    install_errors(app)
    app.include_router(build_router(gateway, cases))
    app.include_router(build_applicant_router(cases))
    app.include_router(build_supplement_router(cases))
    app.include_router(build_shared_router(cases))  # 可共享免交 (gateway.cases.evidence)
    app.include_router(build_audit_router(gateway, cases))
    app.include_router(session_router(cases))  # a bookmarked page: the cookie's session
    app.include_router(build_licences_router(gateway, cases))
    if getattr(gateway, "recognition", None) is not None:  # 身份核验 (docs/web.md)
        app.include_router(build_identity_router(gateway, cases, dev_keys=_dev_idp_keys(gateway)))  # type: ignore[arg-type]
    app.mount("/web", StaticFiles(directory=STATIC_DIR, html=True), name="web")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/web/")


def _dev_idp_keys(gateway: object) -> Callable[[], dict[str, PrivateKey] | None]:
    """The dev identity-provider keys by region while ``--dev`` is on (``settings.dev`` and a
    dev environment), else None: what the window page's sample assertions are signed with."""

    def keys() -> dict[str, PrivateKey] | None:
        settings = getattr(gateway, "settings", None)
        env = getattr(gateway, "dev_env", None)
        if settings is None or not getattr(settings, "dev", False) or env is None:
            return None
        return dict(env.idp_keys)

    return keys
