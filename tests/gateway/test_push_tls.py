"""Authenticated push: pinned HTTPS with the gateway's client certificate, https-only
registries outside dev, and a bounded answer -- against real TLS servers on loopback.

A partner's answer is relayed and attested as that member's evidence, so the gateway must
know who wrote it: the push endpoint's server certificate is pinned in the registry, the
gateway presents its own certificate, and plain http is for dev registries only.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from gateway.app.devenv import ensure_dev_environment
from gateway.app.pki import CertPair, issue, make_ca
from gateway.dialects.bundle import Dialect
from gateway.dialects.catalogue import default_dialects
from gateway.dialects.errors import DeliveryError
from gateway.dialects.transport import (
    CHANNEL_HTTP_DEV,
    CHANNEL_HTTPS_PINNED,
    ClientCertificate,
    HttpTransport,
)
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import (
    RegistryFormatError,
    build_dev_registry,
    dev_member_id,
    load_registry,
    sign_registry,
)
from ledger.crypto import PrivateKey, sm3
from tests.gateway.harness import GatewayThread

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
# A Jiangsu case in its own dialect (js-json/1); SAMPLE values.
JS_CASE = {
    "caseNo": "G60-SZ-2026-000910",
    "matterCode": "JS-320000-0001",
    "applicant": {"personKey": "pk:yrd:7f3a9c0e5b1d2468", "maskedName": "李*华"},
    "handleMode": "PROXY",
    "attachments": [
        {"materialId": "M01", "materialName": "申请书", "sm3Digest": sm3(b"m01").hex()},
    ],
    "windowCity": "苏州",
    "submitTime": "2026-11-28 10:15:00",
}


# -- a partner's HTTPS server ------------------------------------------------------------


@dataclass
class Partner:
    """A running partner server: its base URL, certificate, and what it saw."""

    url: str
    cert: CertPair
    runner: web.AppRunner
    peer_fingerprints: list[str | None] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    async def close(self) -> None:
        await self.runner.cleanup()


def _server_context(cert: CertPair, tmp: Path, trust: bytes | None, mode: ssl.VerifyMode):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    crt, key = cert.write(tmp, "partner")
    context.load_cert_chain(crt, key)
    if trust is not None:
        context.load_verify_locations(cadata=trust.decode("ascii"))
    context.verify_mode = mode
    return context


async def _partner(
    tmp: Path,
    *,
    trust: bytes | None,
    mode: ssl.VerifyMode = ssl.CERT_REQUIRED,
    app: web.Application | None = None,
) -> Partner:
    """A TLS server with its own (partner CA) certificate; ``trust`` is the CA it accepts
    client certificates from. Serves ``app`` (default: 200 "ok" on every POST)."""
    partner_ca = make_ca("Partner system CA (test)")
    cert = issue(partner_ca, "localhost", server=True)
    if app is None:
        app = web.Application()

        async def ok(request: web.Request) -> web.Response:
            return web.Response(text="ok", content_type="application/json")

        app.router.add_post("/{tail:.*}", ok)
    seen_peers: list[str | None] = []
    seen_bodies: list[bytes] = []

    @web.middleware
    async def record(request: web.Request, handler: Callable[..., Awaitable[Any]]):
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        seen_peers.append(hashlib.sha256(der).hexdigest() if der else None)
        seen_bodies.append(await request.read())
        return await handler(request)

    app.middlewares.append(record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=_server_context(cert, tmp, trust, mode))
    await site.start()
    port = runner.addresses[0][1]
    return Partner(f"https://127.0.0.1:{port}", cert, runner, seen_peers, seen_bodies)


@pytest.fixture
def gateway_tls() -> tuple[CertPair, CertPair]:
    """The gateway's CA and its certificate (as ``yrdgw init`` or ``--dev`` make them)."""
    ca = make_ca()
    return ca, issue(ca, "localhost", server=True)


def _client(cert: CertPair) -> ClientCertificate:
    return ClientCertificate(cert.cert_pem, cert.key_pem)


def _codec():
    return default_dialects().get("ZJ").codec


# -- the transport ------------------------------------------------------------------------


async def test_pinned_push_presents_the_gateway_certificate(tmp_path, gateway_tls):
    ca, gateway = gateway_tls
    partner = await _partner(tmp_path, trust=ca.cert_pem)
    try:
        async with HttpTransport(
            _codec(),
            partner.url,
            server_cert_sha256=partner.cert.fingerprint,
            client_cert=_client(gateway),
        ) as transport:
            answer = await transport.deliver("case.submit", b"<case/>")
        assert (answer.status, answer.body, answer.channel) == (200, b"ok", CHANNEL_HTTPS_PINNED)
        assert partner.peer_fingerprints == [gateway.fingerprint]
        assert partner.bodies == [b"<case/>"]
    finally:
        await partner.close()


async def test_a_server_that_does_not_require_it_still_gets_the_gateway_certificate(
    tmp_path, gateway_tls
):
    ca, gateway = gateway_tls
    partner = await _partner(tmp_path, trust=ca.cert_pem, mode=ssl.CERT_OPTIONAL)
    try:
        async with HttpTransport(
            _codec(),
            partner.url,
            server_cert_sha256=partner.cert.fingerprint,
            client_cert=_client(gateway),
        ) as transport:
            answer = await transport.deliver("case.submit", b"<case/>")
        assert answer.ok and answer.channel == CHANNEL_HTTPS_PINNED
        assert partner.peer_fingerprints == [gateway.fingerprint]
    finally:
        await partner.close()


async def test_a_wrong_pin_fails_the_handshake_before_anything_is_sent(tmp_path, gateway_tls):
    ca, gateway = gateway_tls
    partner = await _partner(tmp_path, trust=ca.cert_pem)
    wrong = hashlib.sha256(b"some other certificate").hexdigest()
    try:
        async with HttpTransport(
            _codec(), partner.url, server_cert_sha256=wrong, client_cert=_client(gateway)
        ) as transport:
            with pytest.raises(DeliveryError, match="does not match the registry's pin"):
                await transport.deliver("case.submit", b"<case/>")
        assert partner.bodies == []  # the payload never left
    finally:
        await partner.close()


async def test_a_partner_refusing_the_gateway_certificate_is_a_delivery_error(
    tmp_path, gateway_tls
):
    _, gateway = gateway_tls
    stranger_ca = make_ca("Not the gateway's CA")
    partner = await _partner(tmp_path, trust=stranger_ca.cert_pem)
    try:
        async with HttpTransport(
            _codec(),
            partner.url,
            server_cert_sha256=partner.cert.fingerprint,
            client_cert=_client(gateway),
        ) as transport:
            with pytest.raises(DeliveryError):
                await transport.deliver("case.submit", b"<case/>")
        assert partner.bodies == []
    finally:
        await partner.close()


def test_https_without_a_pin_is_refused():
    with pytest.raises(ValueError, match="needs server_cert_sha256"):
        HttpTransport(_codec(), "https://127.0.0.1:9/yrd")
    assert HttpTransport(_codec(), "http://127.0.0.1:9/yrd").channel == CHANNEL_HTTP_DEV


async def test_an_oversized_answer_is_cut_at_the_bound(tmp_path):
    """The partner streams 64 MiB without a length; the gateway stops reading at 64 KiB
    (+1 byte) and closes, so the partner's writes fail long before it is done."""
    total, piece = 64 * 1024 * 1024, b"x" * 65536
    written: list[int] = [0]
    finished = asyncio.Event()

    async def flood(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        deadline = time.monotonic() + 30
        try:
            while written[0] < total and time.monotonic() < deadline:
                await resp.write(piece)
                written[0] += len(piece)
        except (ConnectionError, OSError):
            pass
        finally:
            finished.set()
        return resp

    app = web.Application()
    app.router.add_post("/{tail:.*}", flood)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with HttpTransport(_codec(), url, max_response_bytes=65536) as transport:
            with pytest.raises(DeliveryError, match="exceeds limit of 65536 bytes"):
                await transport.deliver("case.submit", b"<case/>")
        await asyncio.wait_for(finished.wait(), 30)
        assert written[0] < total // 4
    finally:
        await runner.cleanup()


# -- the registry -------------------------------------------------------------------------


def _document(**overrides: Any) -> tuple[dict, PrivateKey]:
    governance = PrivateKey.generate()
    document = build_dev_registry(
        {r: PrivateKey.generate().public_key for r in ("SH", "JS")},
        governance.public_key,
        [PrivateKey.generate().public_key],
        now=NOW - timedelta(days=1),
        **overrides,
    )
    return document, governance


def _load(document: dict, governance: PrivateKey):
    return load_registry(sign_registry(document, governance), [governance.public_key], NOW)


def test_plain_http_push_is_refused_outside_a_dev_registry():
    document, governance = _document()
    assert document["allow_plain_http_push"] is True
    assert _load(document, governance).allow_plain_http_push  # dev: http allowed
    production = copy.deepcopy(document)
    del production["allow_plain_http_push"]
    with pytest.raises(RegistryFormatError) as refused:
        _load(production, governance)
    assert refused.value.field == "members[1].delivery.endpoint"
    assert "plain http push endpoint 'http://127.0.0.1:18081/yrd/inbox' is refused" in str(
        refused.value
    )
    production["allow_plain_http_push"] = False
    with pytest.raises(RegistryFormatError, match="https with server_cert_sha256"):
        _load(production, governance)
    production["allow_plain_http_push"] = "yes"
    with pytest.raises(RegistryFormatError, match="expected a boolean"):
        _load(production, governance)


def test_an_https_endpoint_needs_its_server_certificate_pin():
    pin = "AB:" * 31 + "AB"
    document, governance = _document(
        endpoints={"JS": "https://js.example/yrd"}, server_cert_pins={"JS": pin}
    )
    del document["allow_plain_http_push"]
    delivery = _load(document, governance).delivery(dev_member_id("JS"))
    assert (delivery.endpoint, delivery.server_cert_sha256) == ("https://js.example/yrd", "ab" * 32)

    unpinned = copy.deepcopy(document)
    del unpinned["members"][1]["delivery"]["server_cert_sha256"]
    with pytest.raises(RegistryFormatError, match="required for an https push endpoint"):
        _load(unpinned, governance)
    bad = copy.deepcopy(document)
    bad["members"][1]["delivery"]["server_cert_sha256"] = "not a digest"
    with pytest.raises(RegistryFormatError, match="64 hex digits"):
        _load(bad, governance)
    pull = copy.deepcopy(document)
    pull["members"][0]["delivery"]["server_cert_sha256"] = "ab" * 32
    with pytest.raises(RegistryFormatError, match="absent when mode is pull"):
        _load(pull, governance)


# -- the push worker, in a real gateway ---------------------------------------------------


async def _submit_js_case(gw: GatewayThread) -> str:
    async with gw.client("JS") as client:
        signed = client.build(
            recipient=gw.env.member_id("ZJ"),
            kind="case.submit",
            matter="JS-320000-0001",
            payload=json.dumps(JS_CASE, ensure_ascii=False).encode("utf-8"),
            dialect="js-json/1",
            content_type="application/json; charset=utf-8",
        )
        await client.submit(signed)
    return exchange_pb2.Envelope.FromString(signed.envelope).exchange_id


async def _until(predicate: Callable[[], Any], what: str, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _pinned_gateway(tmp_path: Path, pin: str | None = None, **settings: Any):
    """A gateway whose registry is not a dev one (no plain http) and pushes to Zhejiang's
    simulator over HTTPS, pinned (to ``pin``, default the simulator's certificate)."""
    env = ensure_dev_environment(tmp_path)  # the gateway's CA and certificate, made once
    partner = await _partner(
        tmp_path, trust=env.ca.cert_pem, app=default_dialects().get("ZJ").simulator()
    )

    def https_only(document: dict) -> None:
        del document["allow_plain_http_push"]
        for member in document["members"]:
            if member["id"]["region"] == "ZJ":
                member["delivery"]["server_cert_sha256"] = pin or partner.cert.fingerprint

    gw = GatewayThread(
        tmp_path,
        pull_regions=("SH", "JS", "AH"),
        endpoints={"ZJ": partner.url},
        mutate=https_only,
        push_backoff_seconds=0.05,
        push_backoff_max_seconds=0.2,
        **settings,
    ).start()
    return gw, partner


def _record_answers(gw: GatewayThread) -> list[str]:
    """The answer kinds the push worker hands to its answer hooks (the relay's entry)."""
    relayed: list[str] = []

    async def hook(row: Any, answer_kind: str, canonical: dict[str, Any], channel: str) -> None:
        relayed.append(answer_kind)

    gw.gateway.push.answer_hooks.append(hook)
    return relayed


async def test_the_gateway_pushes_over_pinned_https_with_its_certificate(tmp_path):
    gw, partner = await _pinned_gateway(tmp_path)
    try:
        assert not gw.gateway.registry.require().allow_plain_http_push
        relayed = _record_answers(gw)
        exchange_id = await _submit_js_case(gw)
        store = gw.gateway.store
        status, _, error, response = await _until(
            lambda: (r := store.outbox_row(exchange_id)) and r[0] != "pending" and r,
            "the push to be delivered",
        )
        assert (status, error) == ("delivered", None)
        assert partner.peer_fingerprints == [gw.env.server.fingerprint]
        assert relayed == ["case.status"] and "unrelayed_answer" not in response
    finally:
        gw.stop()
        await partner.close()


class _SilentChannel:
    """A plugin transport that pushes for real but does not say how the answer arrived (no
    ``channel``): outside a dev registry its answer must not be taken as the member's."""

    def __init__(self, codec: Any, base_url: str, /, **options: Any) -> None:
        self._inner = HttpTransport(codec, base_url, **options)

    async def deliver(self, kind: str, payload: bytes, **correlation: str) -> Any:
        got = await self._inner.deliver(kind, payload, **correlation)
        return SimpleNamespace(status=got.status, body=got.body, ok=got.ok)

    async def exchange(self, kind: str, canonical: Any) -> dict[str, Any]:
        raise NotImplementedError

    async def close(self) -> None:
        await self._inner.close()

    async def __aenter__(self) -> _SilentChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def test_an_answer_without_an_assured_channel_is_not_relayed(tmp_path):
    gw, partner = await _pinned_gateway(tmp_path)
    try:
        zj = gw.gateway.adapters.get("ZJ")
        gw.gateway.adapters.register(
            Dialect(zj.codec, transport_factory=_SilentChannel, identity=zj.identity),
            replace=True,
        )
        relayed = _record_answers(gw)
        exchange_id = await _submit_js_case(gw)
        store = gw.gateway.store
        status, _, _, response = await _until(
            lambda: (r := store.outbox_row(exchange_id)) and r[0] != "pending" and r,
            "the push to be settled",
        )
        assert len(partner.bodies) == 1  # it was delivered ...
        assert status == "delivered" and relayed == []  # ... but its answer not relayed
        assert json.loads(response) == {"unrelayed_answer": "channel http-dev"}
    finally:
        gw.stop()
        await partner.close()


async def test_a_wrong_pin_leaves_the_row_pending_and_retried(tmp_path):
    wrong = hashlib.sha256(b"an impostor's certificate").hexdigest()
    gw, partner = await _pinned_gateway(tmp_path, pin=wrong, push_max_attempts=50)
    try:
        exchange_id = await _submit_js_case(gw)
        store = gw.gateway.store
        status, _, error, response = await _until(
            lambda: (r := store.outbox_row(exchange_id)) and r[1] >= 2 and r,
            "two failed attempts",
        )
        assert status == "pending" and response is None
        assert "does not match the registry's pin" in error
        assert gw.gateway.push.failures >= 2 and gw.gateway.push.delivered == 0
        assert partner.bodies == []  # nothing was sent, so nothing could be answered
    finally:
        gw.stop()
        await partner.close()
