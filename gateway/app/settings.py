"""Settings: one object, read once at start from a TOML file and ``YRD_*`` environment.

Defaults run everything embedded on one machine: SQLite in ``./yrd-data``, the in-process
EVM, gRPC and HTTP on loopback. Environment overrides use ``YRD_`` + the upper-case field
name, e.g. ``YRD_GRPC_PORT=50052``, ``YRD_ANCHOR_MODE=jsonrpc``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError

__all__ = [
    "Settings",
]


@dataclass
class Settings:
    data_dir: Path = Path("yrd-data")
    host: str = "127.0.0.1"
    grpc_port: int = 50051
    http_port: int = 8080
    # exchange checks
    freshness_seconds: float = 300.0
    max_payload_bytes: int = 1 << 20
    # log
    log_origin: str = ""  # empty: take it from the trust registry
    batch_max: int = 4096
    batch_wait_seconds: float = 0.002
    # trust: without --dev, serve needs registry_path (made by ``yrdgw init``); the other
    # paths then default to files under data_dir
    registry_path: Path | None = None
    governance_public_key: Path | None = None
    log_key_path: Path | None = None
    """Signs checkpoints only (purpose ``checkpoint``: the registry's ``log.keys``)."""
    attestation_key_path: Path | None = None
    """Signs envelopes the gateway vouches for, e.g. relayed evidence (``attestation``)."""
    identity_key_path: Path | None = None
    """Signs canonical identity assertions (purpose ``identity``)."""
    registry_expiry_grace_seconds: float = 3600.0
    """How long past its ``expires_at`` the last good registry is still used, with an alarm
    (metric ``yrd_registry_expired``, an error log line a minute); then every call that
    relies on it is refused with ``registry_expired`` (docs/registry.md)."""
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # anchoring
    anchor_mode: str = "embedded"  # embedded | jsonrpc | off
    anchor_rpc_url: str = ""
    anchor_private_key: str = ""
    anchor_contract: str = ""
    anchor_interval_seconds: float = 5.0
    anchor_every_entries: int = 0
    """Also anchor after this many new entries (0: interval only). Interval-only keeps to one
    transaction per interval at any load; on the embedded chain each extra transaction runs
    the EVM in-process and costs append throughput (bench/anchor.py)."""
    anchor_confirmations: int = 1
    # delivery
    push_max_attempts: int = 12
    push_backoff_seconds: float = 0.5
    push_backoff_max_seconds: float = 60.0
    # web
    dev: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def path(self, name: str, default: str) -> Path:
        """A configured path, or ``default`` under the data directory."""
        value = getattr(self, name)
        return Path(value) if value else self.data_dir / default

    @classmethod
    def load(
        cls,
        config_file: str | Path | None = None,
        env: dict[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        values: dict[str, Any] = {}
        if config_file:
            try:
                values.update(tomllib.loads(Path(config_file).read_text(encoding="utf-8")))
            except OSError as exc:
                raise ConfigError(f"cannot read config file {config_file}: {exc}") from exc
            except UnicodeDecodeError as exc:
                raise ConfigError(f"config file {config_file} is not utf-8 text") from exc
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"config file {config_file} is not valid toml: {exc}") from exc
            except RecursionError as exc:  # tomllib recurses once per nested array or table
                raise ConfigError(f"config file {config_file} nests too deep") from exc
        environ = os.environ if env is None else env
        names = {f.name: f for f in dataclasses.fields(cls)}
        for name in names:
            key = f"YRD_{name.upper()}"
            if key in environ:
                values[name] = environ[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - names.keys()
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        settings = cls()
        for name, value in values.items():
            setattr(settings, name, _coerce(name, names[name].type, value))
        if settings.anchor_mode not in ("embedded", "jsonrpc", "off"):
            raise ConfigError("anchor_mode must be embedded, jsonrpc or off")
        if not 0 <= settings.registry_expiry_grace_seconds < float("inf"):
            raise ConfigError(
                "registry_expiry_grace_seconds must be a finite number of seconds, at least 0, "
                f"got {settings.registry_expiry_grace_seconds}"
            )
        return settings


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    text = str(annotation)
    try:
        if "Path" in text:
            return Path(value) if value not in (None, "") else None
        if text.startswith("int"):
            return int(value)
        if text.startswith("float"):
            return float(value)
        if text.startswith("bool"):
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}: cannot use {value!r}") from exc
    return value
