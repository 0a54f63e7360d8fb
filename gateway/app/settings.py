"""Settings: one object, read once at start from a TOML file and ``YRD_*`` environment.

Defaults run everything embedded on one machine: SQLite in ``./yrd-data``, the in-process
EVM, gRPC and HTTP on loopback. Precedence, highest first: command-line overrides, the
environment (``YRD_`` + the upper-case field name, e.g. ``YRD_GRPC_PORT=50052``,
``YRD_ANCHOR_MODE=jsonrpc``), the TOML file (``--config``), the defaults below.

Values are validated by pydantic (``pydantic-settings``); any refusal is one
:class:`~gateway.errors.ConfigError` line that names the setting, where the value came
from and what was wrong. Secrets are :class:`~pydantic.SecretStr`: ``repr``, ``str`` and
logs show ``**********``; readers call ``get_secret_value()``. Every field is read by
something outside this module (``tests/gateway/test_settings.py`` checks it), and every
field is listed in ``docs/operations.md`` ("Configuration").
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from gateway.errors import ConfigError, clip

__all__ = ["ENV_PREFIX", "AnchorMode", "Settings", "env_name"]

ENV_PREFIX = "YRD_"
AnchorMode = Literal["embedded", "jsonrpc", "off"]


def _port(value: int) -> int:
    if not 0 <= value <= 65535:
        raise ValueError("port must be 0..65535 (0: any free port)")
    return value


_Port = Annotated[int, AfterValidator(_port)]
_Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def env_name(field: str) -> str:
    """The environment variable of a setting: ``grpc_port`` -> ``YRD_GRPC_PORT``."""
    return f"{ENV_PREFIX}{field.upper()}"


class Settings(BaseSettings):
    """The gateway's configuration; build it with :meth:`load`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        extra="forbid",
        # the settings object is data read once; tests rebind a port after a bind race
        frozen=False,
    )

    data_dir: Path = Path("yrd-data")
    database: str = ""
    """Empty: SQLite files in data_dir, one process (the embedded default). A
    ``postgresql://`` URL: the log, its queue, the gateway's rows, identity replay claims and
    cases in that database, shared by every front-end process and host of the deployment
    (gateway/app/backends.py, docs/operations.md)."""
    sequencer: bool = True
    """With a shared ``database``: whether this process stands for election as the log's
    sequencer (one leads, the others take over if it dies). Ignored on SQLite."""
    workers: Annotated[int, Field(ge=1)] = 1
    """Gateway processes on this host sharing the ports (``serve --workers``,
    gateway/app/workers.py); more than 1 needs a shared ``database``."""
    host: str = "127.0.0.1"
    grpc_port: _Port = 50051
    http_port: _Port = 8080
    # exchange checks
    freshness_seconds: _Positive = 300.0
    max_payload_bytes: Annotated[int, Field(gt=0)] = 1 << 20
    # log
    log_origin: str = ""
    """Empty: take it from the trust registry."""
    batch_max: Annotated[int, Field(ge=1)] = 4096
    batch_wait_seconds: _Seconds = 0.002
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
    registry_expiry_grace_seconds: _Seconds = 3600.0
    """How long past its ``expires_at`` the last good registry is still used, with an alarm
    (metric ``yrd_registry_expired``, an error log line a minute); then every call that
    relies on it is refused with ``registry_expired`` (docs/registry.md)."""
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # anchoring
    anchor_mode: AnchorMode = "embedded"
    anchor_rpc_url: str = ""
    anchor_private_key: SecretStr = SecretStr("")
    """The anchorer account's key (``jsonrpc``); never shown by ``repr``, ``str`` or logs."""
    anchor_contract: str = ""
    anchor_interval_seconds: _Positive = 5.0
    anchor_every_entries: Annotated[int, Field(ge=0)] = 0
    """Also anchor after this many new entries (0: interval only). Interval-only keeps to one
    transaction per interval at any load; on the embedded chain each extra transaction runs
    the EVM in-process and costs append throughput (bench/anchor.py)."""
    anchor_confirmations: Annotated[int, Field(ge=1)] = 1
    """Blocks an anchor transaction must be under (1: included), ``jsonrpc`` only."""
    # delivery (push): retried with exponential backoff and jitter, capped; after
    # push_max_attempts failed attempts the outbox row is given up (rejected)
    push_max_attempts: Annotated[int, Field(ge=1)] = 12
    push_backoff_seconds: _Positive = 0.5
    push_backoff_max_seconds: _Positive = 60.0
    # admission control (gateway/rpc/admission.py): past these, exchange-path requests are
    # refused RESOURCE_EXHAUSTED / OVERLOADED at once with a retry delay, never dropped
    admission_max_in_flight: Annotated[int, Field(ge=1)] = 128
    admission_max_in_flight_per_member: Annotated[int, Field(ge=1)] = 48
    admission_retry_delay_seconds: _Positive = 0.25
    # web
    dev: bool = False
    case_warning_workdays: Annotated[int, Field(ge=0)] = 1
    """An open case with at most this many working days left is shown as a warning (amber)
    and found by the list's ``due=warning`` filter (gateway/cases/wording.py)."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Tables for optional services, e.g. ``[extra.identity]`` (gateway/rpc/identity.py)."""

    @field_validator(
        "registry_path",
        "governance_public_key",
        "log_key_path",
        "attestation_key_path",
        "identity_key_path",
        "tls_ca",
        "tls_cert",
        "tls_key",
        mode="before",
    )
    @classmethod
    def _empty_path_is_unset(cls, value: Any) -> Any:
        # ``YRD_TLS_CA=`` (or ``tls_ca = ""``) means "not configured", never the cwd
        return None if value == "" else value

    @model_validator(mode="after")
    def _shared_database_needs_a_shared_chain(self) -> Settings:
        if self.database and not self.database.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "database must be empty (SQLite files in data_dir) or a postgresql:// URL"
            )
        if self.database.startswith(("postgresql://", "postgres://")) and (
            self.anchor_mode == "embedded"
        ):
            raise ValueError(
                "anchor_mode 'embedded' runs a chain inside this one process; with a shared "
                "database every front end would anchor to its own: set anchor_mode to "
                "'jsonrpc' (one chain for the deployment) or 'off'"
            )
        return self

    @model_validator(mode="after")
    def _cap_not_below_base(self) -> Settings:
        if self.push_backoff_max_seconds < self.push_backoff_seconds:
            raise ValueError(
                "push_backoff_max_seconds must be at least push_backoff_seconds, got "
                f"{self.push_backoff_max_seconds} < {self.push_backoff_seconds}"
            )
        return self

    def path(self, name: str, default: str) -> Path:
        """A configured path, or ``default`` under the data directory."""
        value = getattr(self, name)
        return Path(value) if value else self.data_dir / default

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # :meth:`load` is the one entry point and passes its own sources; constructing
        # ``Settings()`` directly gives the defaults with no environment or file.
        return (init_settings,)

    @classmethod
    def load(
        cls,
        config_file: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """The settings from ``config_file`` (TOML), ``env`` (default ``os.environ``) and
        ``overrides`` (``None`` values are ignored: an option that was not given).

        Raises :class:`ConfigError` (one line) for an unreadable file, an unknown setting
        or a value of the wrong type or range.
        """
        file_values = _read_toml(Path(config_file)) if config_file else {}
        given = {k: v for k, v in overrides.items() if v is not None}
        environ = os.environ if env is None else env
        unknown = sorted((set(file_values) | set(given)) - cls.model_fields.keys())
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        sources = (
            InitSettingsSource(cls, init_kwargs=given),
            _EnvSource(cls, environ),
            InitSettingsSource(cls, init_kwargs=file_values),
        )
        try:
            # each source is asked in turn, the first to have a field wins: overrides,
            # then the environment, then the file
            merged: dict[str, Any] = {}
            for source in reversed(sources):
                merged.update(source())
            return cls(**merged)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, given, environ, config_file)) from None
        except ValueError as exc:  # e.g. YRD_EXTRA that is not JSON
            raise ConfigError(f"bad setting in the environment: {exc}") from None


class _EnvSource(EnvSettingsSource):
    """``YRD_*`` variables from a given mapping (``os.environ`` in production).

    ``_load_env_vars`` is the hook every pydantic-settings provider overrides to supply its
    own variables (dotenv, AWS, Azure, GCP); parsing stays the library's.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._environ.items() if k.upper().startswith("YRD_")}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not utf-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid toml: {exc}") from exc
    except RecursionError as exc:  # tomllib recurses once per nested array or table
        raise ConfigError(f"config file {path} nests too deep") from exc


def _describe(
    exc: ValidationError,
    given: Mapping[str, Any],
    environ: Mapping[str, str],
    config_file: str | Path | None,
) -> str:
    """One line: each bad setting, where its value came from, what was wrong."""
    parts = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        message = error["msg"].replace("\n", " ").removeprefix("Value error, ")
        if not loc:  # a rule across settings: its message names them
            parts.append(f"settings: {message}")
            continue
        name = str(loc[0])
        where = ".".join(str(p) for p in loc)
        if name in given:
            origin = "command line"
        elif env_name(name) in environ:
            origin = env_name(name)
        else:
            origin = f"config file {config_file}"
        field = Settings.model_fields.get(name)
        secret = field is not None and field.annotation is SecretStr
        shown = "" if secret else f", got {clip(error.get('input'))}"
        parts.append(f"setting {where} (from {origin}): {message[:1].lower()}{message[1:]}{shown}")
    return "; ".join(parts)
