"""A province identity provider inside a province simulator: ``POST /identity/assert``.

For tests and ``--dev`` only. The route issues an assertion in the province's own format
(:class:`~gateway.identity.province.AssertionFormat`) for one of the SAMPLE people of the
province's mapping data. The request body is JSON::

    {"person_id": "js-0001",            # a sample person of the province
     "audience": "yrd-gateway",          # who the assertion is for
     "methods": ["PWD", "SMS"],          # local method codes (default: the format's)
     "ttl_seconds": 300,                 # optional, 1..86400
     "issued_at": 1764322200}            # optional epoch seconds (to make stale ones)

or, for a legal-person assertion (an enterprise login or electronic business licence
presentation), ``{"organisation_id": "js-org-01", ...}`` instead of ``person_id``: one of the
SAMPLE organisations, whose agent (a sample person) authenticated in the organisation's
role (:meth:`AssertionFormat.claims_for_organisation`); 404 for an unknown one.

The answer is the assertion bytes with the format's media type, or a JSON error (400
for a bad request, 404 for an unknown person, 503 while no signing key is set). The key
is the province's identity-provider key, the one the trust registry lists; it is set once
it is known with :func:`set_identity_provider_key`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from gateway.identity.errors import IdentityError
from gateway.identity.idp_revocations import install_revocations
from gateway.identity.province import AssertionFormat
from ledger.crypto import PrivateKey

__all__ = ["IDENTITY_PROVIDER", "install_identity_provider", "set_identity_provider_key"]

IDENTITY_PROVIDER = web.AppKey("identity_provider", dict)
_MAX_TTL = 86400


def set_identity_provider_key(app: web.Application, key: PrivateKey) -> bool:
    """Give the simulator's identity provider its SM2 signing key; False if ``app`` (the
    simulator of a province without an identity format) has none."""
    state = app.get(IDENTITY_PROVIDER)
    if state is None:
        return False
    state["key"] = key
    return True


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def install_identity_provider(app: web.Application, fmt: AssertionFormat) -> None:
    """Add ``POST /identity/assert`` issuing ``fmt`` assertions to a simulator ``app``."""
    state: dict[str, Any] = {"key": None, "format": fmt, "issued": 0}
    app[IDENTITY_PROVIDER] = state

    async def assert_identity(request: web.Request) -> web.Response:
        key = state["key"]
        if key is None:
            return _error(503, "identity provider has no signing key yet")
        try:
            body = json.loads(await request.read())
            if not isinstance(body, dict):
                raise ValueError("expected a json object")
            person_id: Any = body.get("person_id")  # any JSON value; unknown ids find no one
            person = fmt.sample_people.get(person_id)
            organisation = _organisation(fmt, body)
            audience = body.get("audience")
            if not isinstance(audience, str) or not audience:
                raise ValueError("audience: expected a non-empty string")
            ttl = body.get("ttl_seconds", 300)
            if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 < ttl <= _MAX_TTL:
                raise ValueError(f"ttl_seconds: expected 1..{_MAX_TTL}")
            methods = body.get("methods")
            if methods is not None and (
                not isinstance(methods, list) or not all(isinstance(m, str) for m in methods)
            ):
                raise ValueError("methods: expected a list of strings")
            issued = body.get("issued_at")
            if issued is None:
                now = datetime.now(UTC)
            elif isinstance(issued, int) and not isinstance(issued, bool):
                now = datetime.fromtimestamp(issued, UTC)
            else:
                raise ValueError("issued_at: expected epoch seconds")
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            return _error(400, f"bad request: {exc}")
        subject = person if organisation is None else organisation
        if subject is None:
            return _error(404, "no such sample person or organisation")
        build = fmt.claims_for if organisation is None else fmt.claims_for_organisation
        try:
            claims = build(
                subject,
                audience=audience,
                now=now,
                ttl=timedelta(seconds=ttl),
                methods=methods,
                assertion_id=secrets.token_hex(16),
            )
            data = fmt.issue(claims, key)
        except IdentityError as exc:
            return _error(400, f"cannot issue: {exc}")
        state["issued"] += 1
        return web.Response(
            body=data,
            headers={"Content-Type": fmt.media_type, "X-Assertion-Format": fmt.format},
        )

    app.router.add_post("/identity/assert", assert_identity)
    install_revocations(app, state)  # GET /identity/revocations, POST /identity/revoke


def _organisation(fmt: AssertionFormat, body: dict[str, Any]) -> Mapping[str, str] | None:
    """The sample organisation a request names with ``organisation_id``, or None."""
    organisation_id: Any = body.get("organisation_id")
    if organisation_id is None or not isinstance(organisation_id, str):
        return None
    return fmt.sample_organisations.get(organisation_id)
