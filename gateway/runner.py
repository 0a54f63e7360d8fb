"""``yrdgw serve``: bring the gateway up from settings, print where it listens, run until
SIGINT/SIGTERM, then drain and stop.

With no configuration it runs on embedded defaults: a local environment is made once in the
data directory (SM2 keys, a dev TLS CA, a signed registry), SQLite for the log, the
embedded EVM for anchoring, gRPC and HTTP on loopback. ``--dev`` adds the three province
simulators (push delivery to them), seeded window accounts and sample cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from functools import partial
from typing import Any

from ledger.crypto import PrivateKey, PublicKey
from ledger.errors import KeyFormatError

from .adapters.registry import default_registry
from .devenv import ensure_dev_environment
from .errors import ConfigError
from .registry import RegistryHolder
from .server import Gateway, TlsFiles, load_tls
from .settings import Settings
from .simulators import Simulators
from .supervision import Beat

log = logging.getLogger("gateway.runner")


def _plugins() -> tuple[list[Any], list[Any]]:
    """The optional services of this build: gRPC services and HTTP extensions."""
    grpc_services: list[Any] = []
    http: list[Any] = []
    with contextlib.suppress(ImportError):
        from .matters_grpc import add_matters_service

        grpc_services.append(add_matters_service)
    with contextlib.suppress(ImportError):
        from .identity_grpc import add_identity_service

        grpc_services.append(add_identity_service)
    with contextlib.suppress(ImportError):
        from .web import install

        http.append(install)
    return grpc_services, http


def anchorer_factory(settings: Settings) -> Callable[[Any], Any] | None:
    if settings.anchor_mode == "off":
        return None
    from .anchoring import make_anchorer_factory

    return make_anchorer_factory(settings)


async def build_gateway(settings: Settings, simulators: Simulators | None) -> Gateway:
    env = None
    if settings.registry_path is None:
        endpoints = await simulators.start(default_registry()) if simulators else {}
        pull = tuple(r for r in ("SH", "JS", "ZJ", "AH") if r not in endpoints)
        env = ensure_dev_environment(settings.data_dir, endpoints=endpoints, pull_regions=pull)
        if simulators:
            _give_simulators_their_idp_keys(simulators, env)
        registry_path, governance = env.registry_path, env.governance.public_key
        log_key = env.log_key
        tls = TlsFiles(env.ca.cert_pem, env.server.cert_pem, env.server.key_pem)
    else:
        try:
            governance = PublicKey.from_pem(
                settings.path("governance_public_key", "governance.pub").read_bytes()
            )
            log_key = PrivateKey.from_pem(settings.path("log_key_path", "log.pem").read_bytes())
        except (OSError, KeyFormatError) as exc:
            raise ConfigError(f"cannot load gateway keys: {exc}") from exc
        registry_path = settings.registry_path
        tls = load_tls(
            settings.path("tls_ca", "tls/ca.crt"),
            settings.path("tls_cert", "tls/server.crt"),
            settings.path("tls_key", "tls/server.key"),
        )
    holder = RegistryHolder(registry_path, [governance])
    if not holder.reload():
        raise ConfigError(f"trust registry refused: {holder.last_error}")
    grpc_services, http = _plugins()
    return Gateway(
        settings,
        holder,
        log_key,
        tls,
        anchorer_factory=anchorer_factory(settings),
        dev_env=env,
        grpc_services=grpc_services,
        http_extensions=http,
    )


def _give_simulators_their_idp_keys(simulators: Simulators, env: Any) -> None:
    """The dev simulators issue identity assertions with the keys the registry lists."""
    with contextlib.suppress(ImportError):
        from .identity.idp_simulator import set_identity_provider_key

        for region, app in simulators.apps.items():
            set_identity_provider_key(app, env.idp_keys[region])


async def serve(
    settings: Settings,
    *,
    dev: bool,
    ready: Callable[[Gateway], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    simulators = Simulators(settings.host) if dev else None
    gateway = await build_gateway(settings, simulators)
    if dev:
        with contextlib.suppress(ImportError):
            from .web import seed_dev

            gateway.on_start.append(seed_dev)
    await gateway.start()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    print(f"yrdgw: gRPC (mTLS) listening on {settings.host}:{gateway.grpc_port}", flush=True)
    print(
        f"yrdgw: HTTP listening on http://{settings.host}:{gateway.http_port} "
        "(/healthz, /metrics, /docs)",
        flush=True,
    )
    if simulators:
        for region, url in simulators.urls.items():
            print(f"yrdgw: {region} simulator at {url}", flush=True)
    if gateway.dev_env is not None:
        print(f"yrdgw: trust file for yrd-audit: {gateway.dev_env.trust_path}", flush=True)
    if ready:
        ready(gateway)
    gateway.supervisor.run("registry-reload", partial(_reload_registry, gateway.registry))
    try:
        await stop.wait()
    finally:
        print("yrdgw: stopping (draining in-flight requests)", flush=True)
        await gateway.stop(grace=5)
        if simulators:
            await simulators.stop()


async def _reload_registry(holder: RegistryHolder, beat: Beat, every: float = 60.0) -> None:
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
        elif changed:
            log.info("trust registry reloaded", extra={"serial": holder.current.serial})
