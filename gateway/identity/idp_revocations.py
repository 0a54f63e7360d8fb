"""A simulated identity provider's revocation list (tests and ``--dev`` only).

Installed next to ``POST /identity/assert`` by :func:`gateway.identity.idp_simulator.
install_identity_provider`:

- ``GET /identity/revocations``: the provider's signed list (format in
  :mod:`gateway.identity.revocation`), version 1 at first, re-issued with the next version
  on every change and when half its validity has passed;
- ``POST /identity/revoke`` ``{"assertion_id": "..."}`` or ``{"key_id": "..."}``: revoke,
  bump the version, answer ``{"version": n}``;
- ``POST /identity/revocations/control`` (test control) ``{"available": bool,
  "delay_seconds": 0..60, "validity_seconds": 1..86400, "tamper": null | "bad_signature" |
  "older_version" | "oversized"}``: make the list unavailable (503), slow, short-lived, or
  served wrong (a flipped signature bit, the first version ever issued, 2 MiB of padding).

Lists are signed with the provider's key (``set_identity_provider_key``) unless
:func:`set_revocation_list_key` names another of its keys.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from gateway.identity.revocation import sign_list
from ledger.crypto import PrivateKey

__all__ = ["REVOCATIONS", "install_revocations", "set_revocation_list_key"]

REVOCATIONS = web.AppKey("idp_revocations", dict)
_TAMPER = (None, "bad_signature", "older_version", "oversized")
_MAX_BODY = 4096
_OVERSIZED = 2 << 20


def set_revocation_list_key(app: web.Application, key: PrivateKey) -> bool:
    """Sign the simulator's lists with ``key``; False if ``app`` has no identity provider."""
    state = app.get(REVOCATIONS)
    if state is None:
        return False
    state["list_key"] = key
    state["document"] = None
    return True


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _document(state: dict[str, Any], provider: dict[str, Any], now: datetime) -> bytes:
    """The current signed list, re-issued (next version) when stale or changed."""
    validity = timedelta(seconds=state["validity"])
    if state["document"] is None or now - state["issued_at"] >= validity / 2:
        state["version"] += 1
        state["issued_at"] = now
        key = state["list_key"] or provider["key"]
        fmt = provider["format"]
        state["document"] = sign_list(
            key,
            issuer=fmt.issuer,
            region=str(fmt.province),
            version=state["version"],
            issued_at=now,
            next_update=now + validity,
            revoked_assertions=state["assertions"],
            revoked_keys=state["keys"],
        )
        state.setdefault("first", state["document"])  # what "older_version" serves
    return bytes(state["document"])


def _tampered(state: dict[str, Any], document: bytes) -> bytes:
    tamper = state["tamper"]
    if tamper == "bad_signature":
        doc = json.loads(document)
        signature = bytearray(base64.b64decode(doc["signature"]))
        signature[-1] ^= 0x01  # still DER, no longer the signature
        doc["signature"] = base64.b64encode(bytes(signature)).decode()
        return json.dumps(doc).encode()
    if tamper == "older_version":
        return bytes(state.get("first") or document)
    if tamper == "oversized":
        return document + b" " * _OVERSIZED
    return document


def install_revocations(app: web.Application, provider: dict[str, Any]) -> None:
    """Add the revocation routes to a simulator whose identity provider state is
    ``provider`` (its ``key`` and ``format``)."""
    state: dict[str, Any] = {
        "version": 0,
        "assertions": {},
        "keys": {},
        "list_key": None,
        "validity": 60,
        "tamper": None,
        "available": True,
        "delay": 0.0,
        "document": None,
        "issued_at": None,
    }
    app[REVOCATIONS] = state

    async def revocations(request: web.Request) -> web.Response:
        if state["delay"]:
            await asyncio.sleep(state["delay"])  # a provider too slow to answer
        if not state["available"]:
            return _error(503, "revocation list unavailable (test control)")
        if provider["key"] is None and state["list_key"] is None:
            return _error(503, "identity provider has no signing key yet")
        document = _tampered(state, _document(state, provider, datetime.now(UTC)))
        return web.Response(body=document, content_type="application/json")

    async def body_of(request: web.Request) -> dict[str, Any]:
        raw = await request.content.read(_MAX_BODY + 1)
        if len(raw) > _MAX_BODY:
            raise ValueError(f"body above {_MAX_BODY} bytes")
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("expected a json object")
        return body

    async def revoke(request: web.Request) -> web.Response:
        try:
            body = await body_of(request)
            if len(body) != 1:
                raise ValueError('expected {"assertion_id": ...} or {"key_id": ...}')
            field, value = next(iter(body.items()))
            if field not in ("assertion_id", "key_id") or not isinstance(value, str) or not value:
                raise ValueError('expected {"assertion_id": ...} or {"key_id": ...}')
        except ValueError as exc:
            return _error(400, f"bad request: {exc}")
        target = state["assertions"] if field == "assertion_id" else state["keys"]
        target[value[:128]] = datetime.now(UTC)
        state["document"] = None  # the next GET issues the next version
        if provider["key"] is not None or state["list_key"] is not None:
            _document(state, provider, datetime.now(UTC))
        return web.json_response({"version": state["version"]})

    async def control(request: web.Request) -> web.Response:
        try:
            body = await body_of(request)
            if "available" in body:
                state["available"] = bool(body["available"])
            if "validity_seconds" in body:
                seconds = body["validity_seconds"]
                if not isinstance(seconds, int | float) or not 0 < seconds <= 86400:
                    raise ValueError("validity_seconds: expected 0..86400")
                state["validity"] = seconds
                state["document"] = None
            if "delay_seconds" in body:
                delay = body["delay_seconds"]
                if not isinstance(delay, int | float) or not 0 <= delay <= 60:
                    raise ValueError("delay_seconds: expected 0..60")
                state["delay"] = float(delay)
            if "tamper" in body:
                if body["tamper"] not in _TAMPER:
                    raise ValueError(f"tamper: expected one of {_TAMPER}")
                state["tamper"] = body["tamper"]
        except ValueError as exc:
            return _error(400, f"bad request: {exc}")
        return web.json_response({"version": state["version"]})

    app.router.add_get("/identity/revocations", revocations)
    app.router.add_post("/identity/revoke", revoke)
    app.router.add_post("/identity/revocations/control", control)
