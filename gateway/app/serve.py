"""``yrdgw serve``: bring the gateway up from settings, print where it listens, run until
SIGINT/SIGTERM, then drain and stop.

It starts only from configured trust material (``registry_path`` and the keys and TLS files
next to it, made once by ``yrdgw init``) and refuses to start without it. ``--dev`` makes a
local environment once in the data directory instead (SM2 keys, a dev TLS CA, a signed
registry) and adds the three province simulators (push delivery to them), seeded window
accounts and sample cases. SQLite holds the log, the embedded EVM anchors it, gRPC and
HTTP listen on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from gateway.app.compose import AnchorerFactory, CaseOptions, compose
from gateway.app.dev_witnesses import DEV_WITNESS_QUORUM
from gateway.app.devenv import DevEnvironment, dev_log_key, ensure_dev_environment
from gateway.app.gateway import Gateway
from gateway.app.instance import InstanceLock, check_port_free
from gateway.app.settings import Settings
from gateway.app.simulators import Simulators
from gateway.app.trust import (
    GatewayKeys,
    install_registry_alarm,
    load_configured_trust,
    registry_holder,
)
from gateway.app.workers import is_worker
from gateway.dialects.catalogue import default_dialects
from gateway.identity.idp_revocations import REVOCATIONS
from gateway.identity.idp_simulator import set_identity_provider_key
from gateway.licences.issuing import set_dev_licence_issuer
from gateway.ops.metrics import Metrics
from gateway.regions import REGIONS
from gateway.registry import DEV_LOG_ORIGIN
from gateway.rpc.identity import load_person_key_secret
from gateway.storage.pool import redacted_url
from gateway.tls import TlsFiles

__all__ = [
    "anchorer_factory",
    "build_gateway",
    "dev_banner",
    "serve",
]

log = logging.getLogger("gateway.app.serve")

REGISTRY_RELOAD_SECONDS = 60.0


def anchorer_factory(settings: Settings) -> AnchorerFactory | None:
    """The configured anchorer, or None with ``anchor_mode = "off"``. Anchoring needs an
    extra (``embedded-chain`` or ``jsonrpc``): configured but missing, its import fails here,
    loudly, before anything is opened."""
    if settings.anchor_mode == "off":
        return None
    from gateway.app.anchoring import make_anchorer_factory

    return make_anchorer_factory(settings)


async def build_gateway(
    settings: Settings, simulators: Simulators | None, *, seed: bool = False
) -> Gateway:
    """The gateway (composed, not started) from configured trust material, or
    (``settings.dev`` with no registry configured) from the dev environment made under the
    data directory; ``seed`` adds the dev accounts and sample cases at start. Without ``--dev``
    nothing is ever generated: missing material is a ConfigError saying what to configure.
    """
    env = None
    if settings.dev and settings.registry_path is None:
        endpoints = await simulators.start(default_dialects()) if simulators else {}
        if simulators:
            await simulators.start_identity_providers(default_dialects())
        pull = tuple(r for r in REGIONS if r not in endpoints)
        witnesses = []
        if simulators:  # the partner members' witnesses, each its own yrd-witness process
            log_key = dev_log_key(settings.data_dir).public_key
            root = Path(settings.data_dir) / "dev"
            witnesses = await simulators.start_witnesses(root, DEV_LOG_ORIGIN, log_key)
        env = ensure_dev_environment(
            settings.data_dir,
            endpoints=endpoints,
            pull_regions=pull,
            revocation_urls=_revocation_urls(simulators) if simulators else None,
            witnesses=witnesses,
            witness_quorum=DEV_WITNESS_QUORUM if witnesses else 0,
        )
        if simulators:
            _give_simulators_their_idp_keys(simulators, env, load_person_key_secret(settings))
        holder = registry_holder(settings, env.registry_path, env.governance.public_key)
        keys = GatewayKeys(env.log_key, env.attestation_key, env.identity_key)
        tls = TlsFiles(env.ca.cert_pem, env.server.cert_pem, env.server.key_pem)
    else:
        holder, keys, tls = load_configured_trust(settings)
    metrics = Metrics()
    install_registry_alarm(metrics, holder)
    return await compose(
        settings,
        holder,
        keys,
        tls,
        metrics=metrics,
        anchorer_factory=anchorer_factory(settings),
        dev_env=env,
        cases=CaseOptions(seed=seed),
        registry_reload_seconds=REGISTRY_RELOAD_SECONDS,
    )


def _revocation_urls(simulators: Simulators) -> dict[str, str]:
    """The dev simulators publish their identity providers' revocation lists."""
    urls = {}
    for region, app in simulators.apps.items():
        if REVOCATIONS in app:  # every simulator with an identity provider, wherever served
            host, port = simulators.runners[region].addresses[0][:2]
            urls[region] = f"http://{host}:{port}/identity/revocations"
    return urls


def _give_simulators_their_idp_keys(
    simulators: Simulators, env: DevEnvironment, person_key_secret: bytes | None = None
) -> None:
    """The dev simulators issue identity assertions with the keys the registry lists (and
    e-licences whose holder keys are the gateway's person keys, with its secret)."""
    for region, app in simulators.apps.items():
        set_identity_provider_key(app, env.idp_keys[region])
        if region in env.licence_keys:  # and sign e-licences with their licence keys
            set_dev_licence_issuer(app, env, region, person_key_secret)


async def serve(
    settings: Settings,
    *,
    dev: bool,
    ready: Callable[[Gateway], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run one gateway until ``stop`` is set (or SIGINT/SIGTERM), then drain and stop.

    1. lock the data directory (:class:`~gateway.app.instance.DataDirInUse` names the holder);
    2. check the gRPC and HTTP ports are free (:class:`~gateway.app.instance.PortInUse`);
    3. build and start the gateway; a failed start is undone before the error is raised;
    4. serve until stopped, drain and stop; the lock is released last.

    Steps 1 and 2 come before anything is opened, so a refused second instance leaves the
    running one untouched.
    """
    if is_worker():  # serve --workers: the parent holds the lock and checked the ports
        await _serve_locked(settings, dev=dev, ready=ready, stop=stop)
        return
    # (1): one instance per data directory
    lock = InstanceLock(settings.data_dir)
    try:
        # (2): both ports free, before anything is built
        check_port_free("gRPC", settings.host, settings.grpc_port)
        check_port_free("HTTP", settings.host, settings.http_port)
        # (3) and (4)
        await _serve_locked(settings, dev=dev, ready=ready, stop=stop)
    finally:
        lock.release()


async def _start_or_undo(gateway: Gateway, simulators: Simulators | None) -> None:
    """Start ``gateway``; if that fails, stop whatever did start, then re-raise."""
    try:
        await gateway.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await gateway.stop(grace=0)
        if simulators:
            with contextlib.suppress(Exception):
                await simulators.stop()
        raise


async def _serve_locked(
    settings: Settings,
    *,
    dev: bool,
    ready: Callable[[Gateway], None] | None,
    stop: asyncio.Event | None,
) -> None:
    simulators = Simulators(settings.host) if dev else None
    gateway = await build_gateway(settings, simulators, seed=dev)
    await _start_or_undo(gateway, simulators)
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
        for region, url in simulators.idp_urls.items():
            print(f"yrdgw: {region} identity provider at {url}/identity/assert", flush=True)
        for witness in simulators.witnesses.witnesses if simulators.witnesses else []:
            print(f"yrdgw: {witness.region} witness {witness.name} at {witness.url}", flush=True)
    if gateway.dev_env is not None:
        print(f"yrdgw: trust file for yrd-audit: {gateway.dev_env.trust_path}", flush=True)
    if dev:
        print("\n".join(dev_banner(settings, gateway)), flush=True)
    if ready:
        ready(gateway)
    try:
        await stop.wait()
    finally:
        print("yrdgw: stopping (draining in-flight requests)", flush=True)
        await gateway.stop(grace=5)
        if simulators:
            await simulators.stop()


_ROLE_NAMES = {"clerk": "窗口工作人员", "handler": "承办地审批人员", "auditor": "审计人员"}


def dev_banner(settings: Settings, gateway: Gateway) -> list[str]:
    """What a newcomer needs after ``serve --dev`` (``run.sh``): the page to open, every
    account with its role and where it works, and how to set a password (the dev passwords
    are printed only once, when the accounts are made)."""
    base = f"http://{settings.host}:{gateway.http_port}"
    lines = [f"yrdgw: open the pages at {base}/web/ (API reference at {base}/docs)"]
    accounts = gateway.cases.accounts.all()
    if accounts:
        lines.append("yrdgw: accounts (username, role, where):")
    for acct in accounts:
        where = acct.city or acct.region or "-"
        role = _ROLE_NAMES.get(acct.role.value, acct.role.value)
        lines.append(f"yrdgw:   {acct.username:<14} {acct.role.value:<8} {role} · {where}")
    # the accounts are where the case service keeps them: cases.db, or the shared database
    # (its URL shown without a password: give the real one, or set YRD_DATABASE)
    where = f"--data-dir {settings.data_dir}"
    if settings.database:
        where += f" --database {redacted_url(settings.database)}"
    lines.append(
        f"yrdgw: forgot a password? yrdgw accounts {where} reset-password <username>"
        " (list: ... accounts list)"
    )
    return lines
