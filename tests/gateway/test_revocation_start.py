"""A revocation watch that has not fetched yet refuses (fail closed) and says so at INFO; the
first fetch that fails is the WARNING. A real signed registry and a real refused connection
(a loopback port nobody listens on); no gateway needed."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime

import aiohttp
import pytest

from gateway.errors import Refusal
from gateway.identity.revocation_watch import RevocationWatch
from gateway.registry import Region, build_dev_registry, load_registry, sign_registry
from ledger.crypto import PrivateKey


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: connections are refused


@pytest.fixture
def watch() -> RevocationWatch:
    governance, idp = PrivateKey.generate(), PrivateKey.generate()
    members = {r: PrivateKey.generate().public_key for r in Region}
    url = f"http://127.0.0.1:{_closed_port()}/identity/revocations"
    document = build_dev_registry(
        members,
        governance.public_key,
        [PrivateKey.generate().public_key],
        identity_provider_keys={"JS": idp.public_key},
        revocation_urls={"JS": url},
    )
    registry = load_registry(sign_registry(document, governance), [governance.public_key])
    return RevocationWatch(registry=lambda: registry, formats=lambda region: None,
                           timeout_seconds=2)  # fmt: skip


def test_waiting_for_the_first_list_is_info_and_a_failed_fetch_is_a_warning(watch, caplog):
    caplog.set_level(logging.INFO, logger="gateway.identity.revocation")
    provider = watch.registry().identity_providers(Region("JS"))[0]
    watch._state(provider)  # what a poll does first, before its fetch returns
    watch.refresh()
    waiting = [r for r in caplog.records if "waiting for the first" in r.getMessage()]
    assert [r.levelno for r in waiting] == [logging.INFO]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    with pytest.raises(Refusal) as refused:  # fail closed while waiting
        watch.check("JS", assertion_id="a", key_id="k", now=datetime.now(UTC))
    assert refused.value.reason == "unavailable"

    async def poll() -> None:
        async with aiohttp.ClientSession() as session:
            await asyncio.wait_for(watch.poll(session), 10)

    asyncio.run(poll())  # the connection is refused: a real failed fetch
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("revocation list of JS is stale" in m for m in warnings), warnings
    stale_lines = len([m for m in warnings if "is stale" in m])
    watch.refresh()  # the same stale spell is not warned twice
    again = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([m for m in again if "is stale" in m]) == stale_lines
