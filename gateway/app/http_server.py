"""The gateway's HTTP server: uvicorn through its public API (``Server(config)``,
``serve(sockets=[...])``) on a socket the gateway bound, as a task of the gateway's loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import ConfigError

__all__ = ["HttpServer"]


class HttpServer:
    """uvicorn through its public API: ``Server(config)`` and ``serve(sockets=...)`` on the
    socket the gateway bound, as a task of the gateway's loop."""

    def __init__(self, app: ASGIApp, host: str) -> None:
        self._started = asyncio.Event()
        config = uvicorn.Config(
            _setting_on_startup(app, self._started),
            host=host,
            log_level="warning",
            lifespan="on",
            access_log=False,
        )
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self, sock: socket.socket, within: float = 30.0) -> None:
        """Serve on ``sock``; return once the app's lifespan startup ran.

        uvicorn has no public "listening" event; the lifespan startup handler is the last
        hook it runs before it adds the socket to the loop. The socket is already listening
        (bound by the gateway), so a client that connects in between waits in the kernel's
        backlog rather than being refused. A serve task that ends first (startup failed)
        raises here instead of hanging; ``within`` bounds the wait (seconds).
        """
        self._task = asyncio.get_running_loop().create_task(
            self._server.serve(sockets=[sock]), name="http"
        )
        started = asyncio.get_running_loop().create_task(self._started.wait())
        done, _ = await asyncio.wait(
            {self._task, started}, timeout=within, return_when=asyncio.FIRST_COMPLETED
        )
        if started not in done:
            started.cancel()
            if self._task in done:
                self._task.result()  # uvicorn's own error, if it raised one
                raise ConfigError("http server stopped during start")
            raise ConfigError(f"http server did not start within {within:.0f}s")

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task


class _QuietServer(uvicorn.Server):
    """SIGINT/SIGTERM belong to ``yrdgw serve`` (it drains the whole gateway), so uvicorn
    must not capture them. ``Server.capture_signals`` is where uvicorn takes them since
    0.29 (before, ``install_signal_handlers``); ``pyproject.toml`` requires 0.30 or later."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _setting_on_startup(app: ASGIApp, started: asyncio.Event) -> ASGIApp:
    """``app``, with ``started`` set once its lifespan startup completed."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def send_and_mark(message: Message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                started.set()

        await app(scope, receive, send_and_mark)

    return asgi
