"""A gateway and every province identity provider with a revocation list, on loopback.

The province simulators (every region whose dialect has an identity format, so a new
format joins by itself) run on their own event-loop thread and start first: the trust
registry the gateway loads then names their ``/identity/revocations`` as each provider's
``revocation_url``. Each provider is listed with two keys: the dev IdP key (signs lists and
assertions) and a second ``spare`` key, which tests may make the assertion key and revoke.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from gateway.dialects import default_dialects
from gateway.identity.idp_simulator import set_identity_provider_key
from gateway.identity.province import AssertionFormat
from gateway.pb.yrd.v1 import common_pb2, identity_pb2, identity_pb2_grpc
from ledger.crypto import PrivateKey
from tests.gateway.harness import GatewayThread

IDENTITY_REGIONS = tuple(str(d.codec.region) for d in default_dialects() if d.identity is not None)
REGION_PB = {"SH": common_pb2.REGION_SH, "JS": common_pb2.REGION_JS,
             "ZJ": common_pb2.REGION_ZJ, "AH": common_pb2.REGION_AH}  # fmt: skip


def identity_format(region: str) -> AssertionFormat:
    fmt = default_dialects().get(region).identity
    assert fmt is not None
    return fmt


def person_of(region: str) -> str:
    """A sample person whose document number is valid (ids ending 9xxx are the bad ones)."""
    people = sorted(identity_format(region).sample_people)
    return next(p for p in people if not re.search(r"-9\d{3}$", p))


def assertion_id_of(region: str, data: bytes) -> str:
    fmt = identity_format(region)
    return fmt.decode(fmt.split(data)).assertion_id


class Simulators:
    """The identity simulators on their own loop thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.apps: dict[str, web.Application] = {}
        self.urls: dict[str, str] = {}
        self._runners: list[web.AppRunner] = []

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> Simulators:
        self.thread.start()
        self.call(self._start())
        return self

    async def _start(self) -> None:
        for region in IDENTITY_REGIONS:
            app = default_dialects().get(region).simulator()
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            self._runners.append(runner)
            self.apps[region] = app
            self.urls[region] = f"http://{host}:{port}"

    def stop(self) -> None:
        async def cleanup() -> None:
            for runner in self._runners:
                await runner.cleanup()

        self.call(cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class World:
    """Simulators, then a gateway whose registry lists their revocation lists."""

    def __init__(self, data_dir: Path, *, revocations: bool = True, **identity: Any) -> None:
        self.sims = Simulators().start()
        self.spare = {r: PrivateKey.generate() for r in IDENTITY_REGIONS}
        sims, spare = self.sims, self.spare

        def mutate(document: dict) -> None:
            for provider in document["identity_providers"]:
                region = provider["region"]
                if region not in sims.urls:
                    continue
                if revocations:
                    provider["revocation_url"] = f"{sims.urls[region]}/identity/revocations"
                entry = dict(provider["keys"][0])
                entry.update(
                    key_id=spare[region].public_key.key_id,
                    public_key=spare[region].public_key.to_pem().decode("ascii"),
                )
                provider["keys"].append(entry)

        self.gw = GatewayThread(data_dir, mutate=mutate, extra={"identity": identity})
        for region, app in sims.apps.items():
            set_identity_provider_key(app, self.gw.env.idp_keys[region])
        self.gw.start()

    def stop(self) -> None:
        self.gw.stop()
        self.sims.stop()

    # -- talking to a province and to the gateway ------------------------------------------
    def post(self, region: str, path: str, body: dict) -> tuple[int, bytes]:
        async def go() -> tuple[int, bytes]:
            async with aiohttp.ClientSession() as session:
                async with session.post(f"{self.sims.urls[region]}{path}", json=body) as resp:
                    return resp.status, await resp.read()

        return self.sims.call(go())

    def issue(self, region: str, **body: Any) -> bytes:
        body = {"person_id": person_of(region), "audience": "yrd-gateway", **body}
        status, data = self.post(region, "/identity/assert", body)
        assert status == 200, data
        return data

    def revoke(self, region: str, **body: str) -> int:
        status, data = self.post(region, "/identity/revoke", body)
        assert status == 200, data
        return json.loads(data)["version"]

    def control(self, region: str, **body: Any) -> None:
        status, data = self.post(region, "/identity/revocations/control", body)
        assert status == 200, data

    def use_key(self, region: str, key: PrivateKey) -> None:
        """Make ``key`` the key the simulator signs assertions with."""
        assert set_identity_provider_key(self.sims.apps[region], key)

    async def recognize(self, region: str, data: bytes, *, caller: str = "SH"):
        async with self.gw.client(caller) as client:
            stub = identity_pb2_grpc.IdentityStub(client.channel)
            return await stub.Recognize(
                identity_pb2.RecognizeRequest(province=REGION_PB[region], assertion=data)
            )

    # -- the gateway's view ----------------------------------------------------------------
    def accepted_version(self, region: str) -> int | None:
        watch = self.gw.gateway.recognition.revocations
        versions = [s.last.version for s in watch.states.values() if s.region == region and s.last]
        return max(versions) if versions else None

    def wait_for_version(self, region: str, version: int, deadline: float) -> float:
        """Seconds until the gateway accepted ``version`` of ``region``'s list (or fail)."""
        start = time.monotonic()
        while time.monotonic() - start < deadline:
            if (self.accepted_version(region) or 0) >= version:
                return time.monotonic() - start
            time.sleep(0.02)
        raise AssertionError(f"{region} list version {version} not accepted in {deadline} s")

    def metrics(self) -> str:
        async def go() -> str:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{self.gw.http_url}/metrics") as resp:
                    return await resp.text()

        return self.sims.call(go())


def stale_gauge(metrics_text: str, region: str) -> float | None:
    match = re.search(
        rf'^yrd_identity_revocation_list_stale\{{region="{region}"\}} (\S+)$', metrics_text, re.M
    )
    return float(match.group(1)) if match else None
