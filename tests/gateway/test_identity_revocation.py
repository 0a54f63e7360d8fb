"""Revocation end to end: province identity providers publish signed lists, the gateway
polls them (every 0.2 s here) and refuses revoked assertions and keys within the bound,
fails closed on a stale or unreachable list, and ignores bad lists, keeping the last good
one. Real servers on loopback: the province simulators and the gateway over mTLS gRPC."""

from __future__ import annotations

import asyncio
import logging
import time

import grpc
import pytest

from gateway.rpc.status import reason_of
from tests.gateway.identity_world import (
    IDENTITY_REGIONS,
    World,
    assertion_id_of,
    stale_gauge,
)

POLL, TIMEOUT, GRACE = 0.2, 1.0, 0.5
BOUND = POLL + TIMEOUT  # the documented bound for a revocation to take effect
SLACK = 1.0  # scheduling on a shared two-core machine


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(
        tmp_path_factory.mktemp("gw-revocation"),
        revocation_poll_seconds=POLL,
        revocation_fetch_timeout_seconds=TIMEOUT,
        revocation_grace_seconds=GRACE,
        revocation_max_bytes=256 * 1024,
    )
    for region in IDENTITY_REGIONS:
        w.wait_for_version(region, 1, deadline=10)
    yield w
    w.stop()


async def refused(world, region, data, code, reason) -> str:
    size = world.gw.gateway.log.size
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await world.recognize(region, data)
    assert info.value.code() == code, info.value.details()
    assert reason_of(info.value) == reason, info.value.details()
    assert world.gw.gateway.log.size == size, "a refusal must write nothing to the log"
    return info.value.details()


@pytest.mark.parametrize("region", IDENTITY_REGIONS)
async def test_revoked_assertion_is_refused_within_the_bound(world, region):
    data = world.issue(region)
    assertion_id = assertion_id_of(region, data)
    version = world.revoke(region, assertion_id=assertion_id)
    took = world.wait_for_version(region, version, deadline=BOUND + SLACK)
    details = await refused(world, region, data, grpc.StatusCode.PERMISSION_DENIED, "revoked")
    assert details.startswith(f"revocation: assertion {assertion_id} was revoked by {region}")
    assert f"list version {version}" in details
    print(f"{region}: revocation took effect after {took:.2f} s (bound {BOUND} s)")
    # other assertions of the province are still recognised
    assert (await world.recognize(region, world.issue(region))).recognition_id


@pytest.mark.parametrize("region", IDENTITY_REGIONS)
async def test_revoked_provider_key_is_refused(world, region):
    spare = world.spare[region]
    world.use_key(region, spare)
    try:
        before, after = world.issue(region), world.issue(region)
    finally:
        world.use_key(region, world.gw.env.idp_keys[region])
    assert (await world.recognize(region, before)).recognition_id  # the spare key is listed

    version = world.revoke(region, key_id=spare.public_key.key_id)
    world.wait_for_version(region, version, deadline=BOUND + SLACK)
    details = await refused(world, region, after, grpc.StatusCode.PERMISSION_DENIED, "revoked")
    assert f"identity-provider key {spare.public_key.key_id} was revoked by {region}" in details
    # assertions signed with the provider's other key are unaffected
    assert (await world.recognize(region, world.issue(region))).recognition_id


async def _until(check, what: str, deadline: float) -> None:
    end = time.monotonic() + deadline
    while not await check():
        assert time.monotonic() < end, f"not within {deadline} s: {what}"
        await asyncio.sleep(0.05)


async def test_stale_list_fails_closed_then_recovers(world, caplog):
    region = IDENTITY_REGIONS[0]
    caplog.set_level(logging.INFO, logger="gateway.identity.revocation")
    world.control(region, validity_seconds=1)
    version = world.revoke(region, assertion_id="stale-test-dummy")
    world.wait_for_version(region, version, deadline=BOUND + SLACK)
    world.control(region, available=False)
    try:
        # the last good list is due after 1 s, plus the 0.5 s grace: then refused
        async def is_unavailable() -> bool:
            try:
                await world.recognize(region, world.issue(region))
                return False
            except grpc.aio.AioRpcError as exc:
                assert reason_of(exc) == "unavailable", exc.details()
                return True

        await _until(is_unavailable, "stale list refuses", deadline=1 + GRACE + BOUND + SLACK)
        details = await refused(
            world, region, world.issue(region), grpc.StatusCode.UNAVAILABLE, "unavailable"
        )
        assert details.startswith(f"revocation list of {region}: revocation list version")
        assert "was due for update at" in details
        assert stale_gauge(world.metrics(), region) == 1.0
        other = next(r for r in IDENTITY_REGIONS if r != region)
        assert stale_gauge(world.metrics(), other) == 0.0
        assert (await world.recognize(other, world.issue(other))).recognition_id
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(f"revocation list of {region} is stale" in m for m in warnings), warnings
        assert any("fetch failed: HTTP 503" in m for m in warnings), warnings
    finally:
        world.control(region, available=True, validity_seconds=60)

    async def recognised() -> bool:
        try:
            return bool((await world.recognize(region, world.issue(region))).recognition_id)
        except grpc.aio.AioRpcError as exc:
            assert reason_of(exc) == "unavailable", exc.details()
            return False

    await _until(recognised, "recovery", deadline=BOUND + SLACK)
    assert stale_gauge(world.metrics(), region) == 0.0
    assert any(
        f"revocation list of {region} is current again" in r.getMessage() for r in caplog.records
    )


async def test_unreachable_list_times_out_fails_closed_then_recovers(world, caplog):
    """A provider too slow to answer (beyond the fetch timeout) is an unreachable list."""
    region = IDENTITY_REGIONS[1 % len(IDENTITY_REGIONS)]
    caplog.set_level(logging.INFO, logger="gateway.identity.revocation")
    world.control(region, validity_seconds=1)
    version = world.revoke(region, assertion_id="timeout-test-dummy")
    world.wait_for_version(region, version, deadline=BOUND + SLACK)
    world.control(region, delay_seconds=TIMEOUT * 3)
    try:

        async def is_unavailable() -> bool:
            try:
                await world.recognize(region, world.issue(region))
                return False
            except grpc.aio.AioRpcError as exc:
                assert reason_of(exc) == "unavailable", exc.details()
                return True

        await _until(is_unavailable, "stale list refuses", deadline=1 + GRACE + 2 * BOUND + SLACK)
        assert stale_gauge(world.metrics(), region) == 1.0
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(
            f"identity revocation list of {region}" in m and "fetch failed: TimeoutError" in m
            for m in warnings
        ), warnings
    finally:
        world.control(region, delay_seconds=0, validity_seconds=60)

    async def recognised() -> bool:
        try:
            return bool((await world.recognize(region, world.issue(region))).recognition_id)
        except grpc.aio.AioRpcError as exc:
            assert reason_of(exc) == "unavailable", exc.details()
            return False

    await _until(recognised, "recovery", deadline=2 * BOUND + SLACK)
    assert stale_gauge(world.metrics(), region) == 0.0


@pytest.mark.parametrize(
    ("tamper", "check"),
    [
        ("bad_signature", "bad_signature"),
        ("older_version", "older_version"),
        ("oversized", "too_large"),
    ],
)
async def test_bad_list_is_ignored_and_the_last_good_one_kept(world, caplog, tamper, check):
    region = IDENTITY_REGIONS[-1]
    data = world.issue(region)
    version = world.revoke(region, assertion_id=assertion_id_of(region, data))
    world.wait_for_version(region, version, deadline=BOUND + SLACK)
    caplog.set_level(logging.WARNING, logger="gateway.identity.revocation")
    world.control(region, tamper=tamper)
    try:
        world.revoke(region, assertion_id="not-seen-while-tampered")  # a newer list exists

        def ignored() -> bool:
            return any(
                f"list ignored: {check}:" in r.getMessage() and region in r.getMessage()
                for r in caplog.records
            )

        end = time.monotonic() + BOUND + SLACK
        while not ignored():
            assert time.monotonic() < end, [r.getMessage() for r in caplog.records]
            await asyncio.sleep(0.05)
        assert world.accepted_version(region) == version, "the last good list is kept"
        # the kept list still revokes, and is not stale
        await refused(world, region, data, grpc.StatusCode.PERMISSION_DENIED, "revoked")
        assert (await world.recognize(region, world.issue(region))).recognition_id
    finally:
        world.control(region, tamper=None)
    world.wait_for_version(region, version + 1, deadline=BOUND + SLACK)
