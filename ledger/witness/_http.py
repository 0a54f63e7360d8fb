"""The witness's HTTP front (stdlib ``http.server``; no dependency to install).

Endpoints (docs/witness.md)::

    POST /add-checkpoint           C2SP tlog-witness; the status table is _service.STATUS
    GET  /checkpoint?origin=O      200 the latest cosigned note, 404 if none
    GET  /evidence[?origin=O]      200 JSON list of evidence documents
    GET  /healthz                  200 {"status": "ok", "name": ..., "public_key": PEM}

Limits: a body over 64 KiB is refused with 413 from its Content-Length, before any of it
is read; a POST without Content-Length gets 411; a connection idle or slow for
:data:`REQUEST_TIMEOUT` seconds is closed; at most :data:`MAX_CONNECTIONS` are served at
once (more are closed at once). Every refusal carries a one-line reason, and each request
leaves one log line (method, path, status, code); request bodies are never logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ledger.clitext import one_line

from ._service import MAX_BODY, STATUS, TEXT, Response, Witness
from .errors import WitnessCode, WitnessError

__all__ = ["MAX_CONNECTIONS", "REQUEST_TIMEOUT", "WitnessServer"]

log = logging.getLogger("ledger.witness")

REQUEST_TIMEOUT = 10.0
"""Seconds a connection may stay silent (or trickle a body) before it is closed."""
MAX_CONNECTIONS = 64
DISCARD_LIMIT = 1 << 20
"""Most bytes of a refused (413) body read and dropped so the client sees the answer."""
DISCARD_TIMEOUT = 2.0
JSON = "application/json"
_GET = ("/checkpoint", "/evidence", "/healthz")
_POST = ("/add-checkpoint",)


def _refusal(code: WitnessCode, message: str) -> Response:
    return Response.refusal(WitnessError(code, message))


def _json(value: Any) -> Response:
    return Response(200, JSON, json.dumps(value, indent=1).encode() + b"\n")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as C2SP tlog-witness recommends
    server_version = "yrd-witness"
    sys_version = ""
    timeout = REQUEST_TIMEOUT
    disable_nagle_algorithm = True
    """Headers and body go out in two writes: with Nagle on, the body waits for the client's
    delayed ACK of the headers (~40 ms per answer on Linux loopback, measured)."""
    server: WitnessServer
    _discard = 0

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.request_timeout)

    # -- methods ---------------------------------------------------------------------------

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path not in _POST:
            self._send(self._unknown(path, "POST"))
            return
        body = self._body()
        if isinstance(body, Response):
            self._send(body)
            return
        self._send(self._guarded(lambda: self.server.witness.add_checkpoint(body)))

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path not in _GET:
            self._send(self._unknown(url.path, "GET"))
            return
        try:
            query = parse_qs(url.query, max_num_fields=4)
        except ValueError:
            self._send(_refusal(WitnessCode.MALFORMED, "too many query parameters"))
            return
        self._send(self._guarded(lambda: self._get(url.path, query)))

    # -- endpoints -------------------------------------------------------------------------

    def _get(self, path: str, query: dict[str, list[str]]) -> Response:
        witness = self.server.witness
        origins = query.get("origin") or []
        origin = origins[0] if origins else None
        if path == "/healthz":
            return _json(
                {
                    "status": "ok",
                    "name": witness.name,
                    "public_key": witness.key.public_key.to_pem().decode(),
                    "origins": witness.origins,
                }
            )
        if path == "/evidence":
            return _json(witness.evidence(origin))
        if not origin:
            return _refusal(WitnessCode.MALFORMED, "query parameter 'origin' is required")
        if origin not in witness.origins:
            return _refusal(WitnessCode.UNKNOWN_ORIGIN, f"unknown origin {origin!r}")
        note = witness.latest_note(origin)
        if note is None:
            return _refusal(WitnessCode.NOT_FOUND, f"nothing cosigned yet for {origin!r}")
        return Response(200, TEXT, note.encode())

    def _unknown(self, path: str, method: str) -> Response:
        if path in _GET + _POST:
            return _refusal(WitnessCode.METHOD, f"{path} does not accept {method}")
        return _refusal(WitnessCode.NOT_FOUND, f"no endpoint {path!r}")

    def _body(self) -> bytes | Response:
        """The request body, or the refusal; a refused body is never read (the connection is
        closed instead)."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return _refusal(WitnessCode.LENGTH_REQUIRED, "send Content-Length, not chunked")
        declared = self.headers.get("Content-Length")
        if declared is None:
            self.close_connection = True
            return _refusal(WitnessCode.LENGTH_REQUIRED, "Content-Length is required")
        if not declared.isascii() or not declared.isdigit() or len(declared) > 12:
            self.close_connection = True
            return _refusal(WitnessCode.MALFORMED, "Content-Length is not a decimal")
        length = int(declared)
        if length > MAX_BODY:
            self.close_connection = True
            self._discard = min(length, DISCARD_LIMIT)
            return _refusal(WitnessCode.TOO_LARGE, f"body is {length} bytes, limit {MAX_BODY}")
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return _refusal(WitnessCode.MALFORMED, f"body ended after {len(body)} of {length}")
        return body

    def _guarded(self, call: Any) -> Response:
        try:
            response: Response = call()
        except Exception as exc:  # one bad request must not take the witness down
            log.exception("internal error on %s %s", self.command, one_line(self.path, 120))
            reason = f"internal error: {type(exc).__name__}"
            return Response(500, TEXT, f"internal: {reason}\n".encode(), None, reason)
        return response

    # -- output ----------------------------------------------------------------------------

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if response.status == STATUS[WitnessCode.METHOD]:
            path = urlsplit(self.path).path
            self.send_header("Allow", "POST" if path in _POST else "GET")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body)
        if self._discard:
            self._drain()
        outcome = response.code.value if response.code else "ok"
        log.info(
            "%s %s %s %d %s%s",
            self.client_address[0],
            self.command,
            one_line(urlsplit(self.path).path, 80),
            response.status,
            outcome,
            f": {response.reason}" if response.code else "",
        )

    def _drain(self) -> None:
        """After a 413, read (and drop) what the client is still sending, up to a bound and
        briefly: closing a socket with unread data resets it, and the client could lose
        the answer."""
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(DISCARD_TIMEOUT)
            left = self._discard
            while left > 0 and (chunk := self.connection.recv(min(left, 65536))):
                left -= len(chunk)
        self._discard = 0

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _send logs one line per request, with the reason

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s: %s", self.address_string(), one_line(format % args))


class WitnessServer(ThreadingHTTPServer):
    """The HTTP server of one :class:`Witness`: a thread per connection, at most
    :data:`MAX_CONNECTIONS` at once, each closed after ``request_timeout`` seconds of
    silence. ``url`` is where it listens (port 0 picks one)."""

    daemon_threads = True

    def __init__(
        self,
        witness: Witness,
        host: str,
        port: int,
        max_connections: int = MAX_CONNECTIONS,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.witness = witness
        self.request_timeout = request_timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        text = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{text}]" if ":" in text else text
        return f"http://{shown}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning("too many connections: closing one from %s", client_address[0])
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()
