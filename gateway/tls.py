"""Transport TLS material (PEM bytes) shared by the gateway's server and the partner client.

Transport TLS is ECDSA P-256: gRPC's TLS stack has no SM2/TLCP suites. Everything the
gateway signs or verifies itself is SM2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ConfigError

__all__ = ["TlsFiles", "load_tls"]


@dataclass(frozen=True)
class TlsFiles:
    """A CA certificate (the peers' trust root), our certificate and our private key."""

    ca: bytes
    cert: bytes
    key: bytes


def load_tls(ca: Path, cert: Path, key: Path) -> TlsFiles:
    """Read the three PEM files; :class:`ConfigError` naming the file that cannot be read."""
    try:
        return TlsFiles(ca.read_bytes(), cert.read_bytes(), key.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read tls file: {exc}") from exc
