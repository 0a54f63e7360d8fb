"""Run the province simulators (one aiohttp app per non-home adapter) on loopback."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from aiohttp import web

from gateway.dialects.catalogue import DialectCatalogue

__all__ = [
    "Simulators",
]

DEV_PORTS = {"JS": 18081, "ZJ": 18082, "AH": 18083}


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

    async def start(
        self, adapters: DialectCatalogue, regions=("JS", "ZJ", "AH"), fixed_ports: bool = True
    ) -> dict[str, str]:
        """Start a simulator per region; fixed dev ports when free, else any free port."""
        for region in regions:
            if region not in adapters:
                continue
            app = adapters.get(region).simulator()
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            wanted = DEV_PORTS.get(region, 0) if fixed_ports else 0
            port = wanted if wanted and _free(self.host, wanted) else 0
            site = web.TCPSite(runner, self.host, port)
            await site.start()
            actual = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.runners[region] = runner
            self.apps[region] = app
            self.urls[region] = f"http://{self.host}:{actual}"
        return dict(self.urls)

    async def stop(self) -> None:
        for runner in self.runners.values():
            await runner.cleanup()
        self.runners.clear()
