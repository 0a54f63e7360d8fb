"""Each province simulator's identity provider, ``POST /identity/assert``, on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web

from gateway.dialects import canonical_dialect, default_dialects
from gateway.identity.idp_simulator import set_identity_provider_key
from ledger.crypto import PrivateKey

KEY = PrivateKey.generate()
PERSON = {"JS": "js-0002", "ZJ": "zj-0002", "AH": "ah-0002"}


@pytest.fixture(params=["JS", "ZJ", "AH"])
async def served(request) -> AsyncIterator[tuple[str, web.Application, str]]:
    app = default_dialects().get(request.param).simulator()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield request.param, app, f"http://{host}:{port}/identity/assert"
    finally:
        await runner.cleanup()


async def _post(url: str, body) -> tuple[int, bytes, str]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body) as resp:
            return resp.status, await resp.read(), resp.headers.get("Content-Type", "")


async def test_issues_an_assertion_that_verifies(served):
    region, app, url = served
    assert set_identity_provider_key(app, KEY)
    fmt = default_dialects().get(region).identity
    status, data, content_type = await _post(
        url, {"person_id": PERSON[region], "audience": "yrd-gateway", "ttl_seconds": 60}
    )
    assert status == 200, data
    assert content_type.split(";")[0] == fmt.media_type.split(";")[0]
    got = fmt.verify(
        data,
        [(KEY.public_key.key_id, KEY.public_key)],
        audience="yrd-gateway",
        now=datetime.now(UTC),
        leeway=timedelta(seconds=5),
    )
    assert got.subject.document_number == fmt.sample_people[PERSON[region]]["document_number"]
    assert got.not_after - got.not_before == timedelta(seconds=60)


async def test_refuses_until_it_has_a_key_and_on_bad_requests(served):
    region, app, url = served
    body = {"person_id": PERSON[region], "audience": "yrd-gateway"}
    assert (await _post(url, body))[0] == 503
    set_identity_provider_key(app, KEY)
    assert (await _post(url, {**body, "person_id": "nobody"}))[0] == 404
    assert (await _post(url, {**body, "audience": ""}))[0] == 400
    assert (await _post(url, {**body, "ttl_seconds": 0}))[0] == 400
    assert (await _post(url, {**body, "issued_at": "yesterday"}))[0] == 400
    assert (await _post(url, [1, 2]))[0] == 400


def test_simulator_without_identity_has_no_provider():
    assert canonical_dialect().identity is None
    assert not set_identity_provider_key(canonical_dialect().simulator(), KEY)
