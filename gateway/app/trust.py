"""The gateway's configured trust material, loaded at start; nothing is ever made here.

Without ``--dev`` the gateway starts only from material an operator configured (made once
by ``yrdgw init``): the signed registry, the governance public key that verifies it, one
SM2 key per purpose (checkpoints, attestations, identity assertions) and the TLS files.
Anything missing or unreadable is a :class:`ConfigError` naming the setting, so ``serve``
ends with one line saying what to configure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from prometheus_client import Gauge

from gateway.app.settings import Settings
from gateway.errors import ConfigError
from gateway.ops.metrics import Metrics
from gateway.registry import RegistryHolder
from gateway.tls import TlsFiles, load_tls
from ledger.crypto import PrivateKey, PublicKey
from ledger.errors import KeyFormatError

__all__ = [
    "NO_TRUST_MATERIAL",
    "GatewayKeys",
    "install_registry_alarm",
    "load_configured_trust",
    "registry_holder",
]

NO_TRUST_MATERIAL = (
    "no trust material configured: set registry_path, governance_public_key, log_key_path, "
    "attestation_key_path, identity_key_path, tls_ca, tls_cert and tls_key "
    "(yrdgw init --data-dir DIR makes them and DIR/yrdgw.toml), or run serve --dev"
)


@dataclass(frozen=True)
class GatewayKeys:
    """The gateway's SM2 private keys, one per purpose (each listed so in the registry)."""

    log: PrivateKey
    attestation: PrivateKey
    identity: PrivateKey


def _read(settings: Settings, name: str, default: str) -> tuple[Path, bytes]:
    path = settings.path(name, default)
    try:
        return path, path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {path}: {exc.strerror or exc}") from exc


def _private(settings: Settings, name: str, default: str) -> PrivateKey:
    path, data = _read(settings, name, default)
    try:
        return PrivateKey.from_pem(data)
    except KeyFormatError as exc:
        raise ConfigError(f"{name}: bad sm2 private key in {path}: {exc}") from exc


def registry_holder(settings: Settings, path: Path, governance: PublicKey) -> RegistryHolder:
    """A holder for ``path`` with the configured expiry grace, loaded once (or ConfigError)."""
    holder = RegistryHolder(
        path, [governance], grace=timedelta(seconds=settings.registry_expiry_grace_seconds)
    )
    if not holder.reload():
        raise ConfigError(f"trust registry refused: {holder.last_error}")
    return holder


def load_configured_trust(settings: Settings) -> tuple[RegistryHolder, GatewayKeys, TlsFiles]:
    """Load the configured trust material.

    1. refuse at once if no registry is configured (:data:`NO_TRUST_MATERIAL`);
    2. the governance public key, then the registry it must verify (refused if unsigned,
       tampered or expired beyond the grace period);
    3. the three purpose keys (the server checks each is listed for its purpose);
    4. the TLS files.
    """
    # (1): configured at all
    if settings.registry_path is None:
        raise ConfigError(NO_TRUST_MATERIAL)
    # (2): governance key and registry
    path, data = _read(settings, "governance_public_key", "governance.pub")
    try:
        governance = PublicKey.from_pem(data)
    except KeyFormatError as exc:
        raise ConfigError(f"governance_public_key: bad sm2 public key in {path}: {exc}") from exc
    holder = registry_holder(settings, settings.registry_path, governance)
    # (3): one key per purpose
    keys = GatewayKeys(
        log=_private(settings, "log_key_path", "log.pem"),
        attestation=_private(settings, "attestation_key_path", "attestation.pem"),
        identity=_private(settings, "identity_key_path", "identity.pem"),
    )
    # (4): TLS
    tls = load_tls(
        settings.path("tls_ca", "tls/ca.crt"),
        settings.path("tls_cert", "tls/server.crt"),
        settings.path("tls_key", "tls/server.key"),
    )
    return holder, keys, tls


def install_registry_alarm(metrics: Metrics, holder: RegistryHolder) -> None:
    """``yrd_registry_expired`` (1 while the copy in use is past its expiry) and
    ``yrd_registry_expired_seconds`` (how long past), refreshed at every scrape."""
    expired = Gauge(
        "yrd_registry_expired",
        "1 while the trust registry in use is past its expires_at (grace period or beyond)",
        registry=metrics.registry,
    )
    seconds = Gauge(
        "yrd_registry_expired_seconds",
        "Seconds the trust registry in use is past its expires_at",
        registry=metrics.registry,
    )

    def refresh() -> None:
        past = holder.expired_seconds()
        expired.set(1 if past > 0 else 0)
        seconds.set(past)

    refresh()
    metrics.on_scrape(refresh)
