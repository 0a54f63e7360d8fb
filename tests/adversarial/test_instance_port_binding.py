"""Finding 3, at the listeners themselves (``Gateway._start_grpc``/``_start_http``).

``serve`` checks both ports before it builds anything, but a port can be taken between that
check and the bind. Then the listeners must still refuse: gRPC without ``SO_REUSEPORT``
(before, it shared a port held by another ``SO_REUSEPORT`` listener, such as a second
gateway), and HTTP with a :class:`PortInUse` (before, uvicorn exited the process itself).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest

from gateway.app.instance import PortInUse
from tests.gateway.harness import GatewayThread


@contextlib.contextmanager
def _listener(reuseport: bool) -> Iterator[int]:
    """A port held by a listening socket, as another gateway's would be."""
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuseport:
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _start_refused(gw: GatewayThread, match: str) -> None:
    try:
        with pytest.raises(PortInUse, match=match):
            gw.start()
    finally:
        if gw.gateway is not None:
            with contextlib.suppress(Exception):
                gw.call(gw.gateway.stop(grace=0), timeout=30)
        gw.loop.call_soon_threadsafe(gw.loop.stop)
        gw.thread.join(10)


def test_grpc_does_not_share_a_port_held_with_so_reuseport(tmp_path):
    with _listener(reuseport=True) as port:
        gw = GatewayThread(tmp_path)
        gw.settings.grpc_port = port
        _start_refused(gw, f"gRPC port 127.0.0.1:{port} is not available")


def test_taken_http_port_is_a_port_in_use_error_not_an_exit(tmp_path):
    with _listener(reuseport=False) as port:
        gw = GatewayThread(tmp_path)
        gw.settings.http_port = port
        _start_refused(gw, f"HTTP port 127.0.0.1:{port} is already in use")
