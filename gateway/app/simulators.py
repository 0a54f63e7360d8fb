"""Run the province simulators (one aiohttp app per non-home adapter) on loopback, the
home side's identity provider (Shanghai's simulator, for ``POST /identity/assert`` only), and
the partner members' witnesses (three ``yrd-witness`` processes, gateway/app/dev_witnesses.py).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from gateway.app.dev_witnesses import DevWitness, DevWitnesses
from gateway.dialects.catalogue import DialectCatalogue
from ledger.crypto import PublicKey

__all__ = [
    "Simulators",
]

DEV_PORTS = {"JS": 18081, "ZJ": 18082, "AH": 18083}
DEV_IDP_PORTS = {"SH": 18084}


def _free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class Simulators:
    host: str = "127.0.0.1"
    runners: dict[str, web.AppRunner] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    apps: dict[str, web.Application] = field(default_factory=dict)
    idp_urls: dict[str, str] = field(default_factory=dict)
    witnesses: DevWitnesses | None = None

    async def start(
        self, adapters: DialectCatalogue, regions=("JS", "ZJ", "AH"), fixed_ports: bool = True
    ) -> dict[str, str]:
        """Start a simulator per region; fixed dev ports when free, else any free port."""
        for region in regions:
            if region not in adapters:
                continue
            wanted = DEV_PORTS.get(region, 0) if fixed_ports else 0
            self.urls[region] = await self._run(region, adapters.get(region).simulator(), wanted)
        return dict(self.urls)

    async def start_identity_providers(
        self, adapters: DialectCatalogue, regions=("SH",), fixed_ports: bool = True
    ) -> dict[str, str]:
        """Start the simulator of each region in ``regions`` that has an identity format and
        no simulator yet, for its identity provider only: its URL goes to ``idp_urls``, not
        to ``urls``, so the region keeps its delivery mode (Shanghai, the home side, pulls).
        """
        for region in regions:
            if region in self.apps or region not in adapters:
                continue
            dialect = adapters.get(region)
            if dialect.identity is None:
                continue
            wanted = DEV_IDP_PORTS.get(region, 0) if fixed_ports else 0
            self.idp_urls[region] = await self._run(region, dialect.simulator(), wanted)
        return dict(self.idp_urls)

    async def _run(self, region: str, app: web.Application, wanted: int) -> str:
        """Serve ``app`` on ``wanted`` when free, else any free port; its base URL."""
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = wanted if wanted and _free(self.host, wanted) else 0
        site = web.TCPSite(runner, self.host, port)
        await site.start()
        actual = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.runners[region] = runner
        self.apps[region] = app
        return f"http://{self.host}:{actual}"

    async def start_witnesses(
        self, dev_root: Path, origin: str, log_key: PublicKey
    ) -> list[DevWitness]:
        """Start the three dev witnesses of the log ``origin`` (its key ``log_key``)."""
        self.witnesses = DevWitnesses(dev_root, self.host)
        return await self.witnesses.start(origin, log_key)

    async def stop(self) -> None:
        for runner in self.runners.values():
            await runner.cleanup()
        self.runners.clear()
        if self.witnesses is not None:
            await self.witnesses.stop()
            self.witnesses = None
