"""Finding 8: a partner's push response is read at most to a limit, never whole.

A real aiohttp server on loopback answers a push with a body far larger than the limit,
with and without Content-Length; the transport refuses it as a delivery failure naming the
limit, and a normal answer from the same server still goes through.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from gateway.dialects import default_dialects
from gateway.dialects.errors import DeliveryError
from gateway.dialects.transport import HttpTransport

HUGE = 64 * 1024 * 1024
LIMIT = 1024 * 1024


async def _huge_declared(_request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = HUGE
    await response.prepare(_request)
    for _ in range(HUGE // (1 << 20)):
        await response.write(bytes(1 << 20))
    return response


async def _huge_chunked(_request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(_request)
    for _ in range(HUGE // (1 << 20)):
        await response.write(bytes(1 << 20))
    return response


async def _small(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


@pytest.fixture
def adapter():
    return default_dialects().get("JS").codec


async def _serve(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # the bound port
    return runner, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("handler", [_huge_declared, _huge_chunked], ids=["declared", "chunked"])
def test_a_huge_partner_response_is_a_delivery_failure(adapter, handler):
    async def run() -> None:
        runner, base = await _serve(handler)
        try:
            async with HttpTransport(adapter, base, max_response_bytes=LIMIT) as transport:
                with pytest.raises(DeliveryError) as caught:
                    await asyncio.wait_for(transport.deliver("exchange.submit", b"{}"), 60)
            assert caught.value.status is None
            assert "exceeds limit" in caught.value.message
            assert str(LIMIT) in caught.value.message
        finally:
            await runner.cleanup()

    asyncio.run(run())


def test_a_normal_partner_response_is_delivered(adapter):
    async def run() -> None:
        runner, base = await _serve(_small)
        try:
            async with HttpTransport(adapter, base, max_response_bytes=LIMIT) as transport:
                delivery = await asyncio.wait_for(transport.deliver("exchange.submit", b"{}"), 60)
            assert delivery.ok and delivery.body == b'{"ok": true}'
        finally:
            await runner.cleanup()

    asyncio.run(run())
