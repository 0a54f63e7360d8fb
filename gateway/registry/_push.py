"""A member's ``delivery`` entry: pull, or push to a pinned https endpoint.

Push answers are attested as the member's, so the gateway must know it talks to the
member's own server: an ``https`` endpoint carries ``server_cert_sha256`` (the SHA-256 of
the server's leaf certificate DER, checked in the TLS handshake), and plain ``http`` is
refused unless the whole registry says ``allow_plain_http_push`` (dev registries only).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from gateway.registry._model import Delivery, DeliveryMode, normalize_fingerprint
from gateway.registry.errors import RegistryFormatError

__all__ = ["parse_delivery"]


def _join(field: str, name: str) -> str:
    return f"{field}.{name}" if field else name


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RegistryFormatError(field, "expected an object")
    missing = sorted({"mode", "dialect"} - value.keys())
    if missing:
        raise RegistryFormatError(_join(field, missing[0]), "required field is missing")
    unknown = sorted(value.keys() - {"mode", "dialect", "endpoint", "server_cert_sha256"})
    if unknown:
        raise RegistryFormatError(_join(field, unknown[0]), "unknown field")
    return value


def parse_delivery(value: Any, field: str, allow_plain_http: bool) -> Delivery:
    """``pull``, or ``push`` to an ``https`` endpoint with the server certificate's pin
    (``server_cert_sha256``); ``http`` only when the registry allows plain http push."""
    obj = _object(value, field)
    try:
        mode = DeliveryMode(obj["mode"])
    except ValueError:
        raise RegistryFormatError(
            _join(field, "mode"), f"expected pull or push, got {obj['mode']!r}"
        ) from None
    dialect = obj["dialect"]
    if not isinstance(dialect, str) or not dialect:
        raise RegistryFormatError(_join(field, "dialect"), "expected a non-empty string")
    endpoint = obj.get("endpoint")
    pin = obj.get("server_cert_sha256")
    where, pin_where = _join(field, "endpoint"), _join(field, "server_cert_sha256")
    if mode is DeliveryMode.PUSH:
        if not isinstance(endpoint, str) or not endpoint:
            raise RegistryFormatError(where, "expected a non-empty string")
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RegistryFormatError(where, f"expected an http(s) url, got {endpoint!r}")
        if parts.scheme == "http" and not allow_plain_http:
            raise RegistryFormatError(
                where,
                f"plain http push endpoint {endpoint!r} is refused: push endpoints are "
                "https with server_cert_sha256 (plain http only in a dev registry, "
                "allow_plain_http_push)",
            )
        if parts.scheme == "https" and pin is None:
            raise RegistryFormatError(pin_where, "required for an https push endpoint")
        if parts.scheme == "http" and pin is not None:
            raise RegistryFormatError(pin_where, "must be absent for a plain http endpoint")
    elif endpoint is not None:
        raise RegistryFormatError(where, "must be absent when mode is pull")
    elif pin is not None:
        raise RegistryFormatError(pin_where, "must be absent when mode is pull")
    if pin is not None:
        try:
            pin = normalize_fingerprint(pin)
        except ValueError as exc:
            raise RegistryFormatError(pin_where, str(exc)) from None
    return Delivery(mode, endpoint, dialect, pin)
