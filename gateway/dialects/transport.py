"""Push delivery to a partner system over HTTP (aiohttp), in that system's dialect.

Outside a dev registry a push endpoint is ``https`` with a pinned server certificate: the
gateway presents its own TLS certificate as the client certificate, and the handshake
fails unless the SHA-256 of the partner's leaf certificate equals the registry's pin --
before a byte of the payload is sent. Plain ``http`` is for dev registries only; the answer
then carries channel ``http-dev``, i.e. no assurance of who wrote it.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from gateway.dialects.base import RESPONSE_KIND
from gateway.dialects.errors import AdapterError, DeliveryError

if TYPE_CHECKING:
    from gateway.dialects.base import Codec

__all__ = [
    "CHANNEL_HTTPS_PINNED",
    "CHANNEL_HTTP_DEV",
    "EXCHANGE_ID_HEADER",
    "IN_REPLY_TO_HEADER",
    "MAX_RESPONSE_BYTES",
    "ClientCertificate",
    "Delivery",
    "HttpTransport",
    "pinned_context",
]

EXCHANGE_ID_HEADER = "X-YRD-Exchange-Id"
"""On every push: the exchange id, which the partner deduplicates by (at-least-once)."""
IN_REPLY_TO_HEADER = "X-YRD-In-Reply-To"
"""On a pushed answer: the exchange id of the request it answers (``Envelope.in_reply_to``)."""
MAX_RESPONSE_BYTES = 1024 * 1024
"""A partner's answer is a receipt-sized dialect document; more is refused, never buffered."""
_CHUNK = 64 * 1024

CHANNEL_HTTPS_PINNED = "https-pinned"
"""The answer came over TLS from the server whose certificate the registry pins, to which
the gateway presented its client certificate."""
CHANNEL_HTTP_DEV = "http-dev"
"""The answer came over plain HTTP (dev registries only): anyone on the path could have
written it."""


@dataclass(frozen=True)
class Delivery:
    """What came back from one push: HTTP status, content type, the raw dialect bytes and
    the channel it arrived over (``https-pinned`` or ``http-dev``)."""

    status: int
    content_type: str
    body: bytes
    channel: str = CHANNEL_HTTP_DEV

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class ClientCertificate:
    """The certificate (PEM, leaf first) and private key (PEM) the gateway presents."""

    cert: bytes
    key: bytes


def _pinned_object_class(pin: bytes) -> type[ssl.SSLObject]:
    """An ``SSLObject`` whose handshake fails unless the peer's leaf certificate hashes
    (SHA-256 of its DER) to ``pin``: asyncio wraps every TLS connection with the context's
    ``sslobject_class``, so the check runs before the request is written."""

    class PinnedSSLObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()
            der = self.getpeercert(binary_form=True)
            got = hashlib.sha256(der).digest() if der else b""
            if not hmac.compare_digest(got, pin):
                raise ssl.SSLCertVerificationError(
                    f"server certificate sha256 {got.hex() or '(none)'} does not match "
                    f"the registry's pin {pin.hex()}"
                )

    return PinnedSSLObject


def pinned_context(server_cert_sha256: str, client: ClientCertificate | None) -> ssl.SSLContext:
    """A TLS client context: verify the server by ``server_cert_sha256`` (64 hex digits) alone
    -- a partner's certificate is typically self-signed, so no CA and no host name is
    consulted -- and present ``client`` (if given) as the client certificate."""
    pin = bytes.fromhex(server_cert_sha256.replace(":", ""))
    if len(pin) != 32:
        raise ValueError(f"expected a sha-256 pin of 32 bytes, got {len(pin)}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the pin below replaces chain and name checks
    context.sslobject_class = _pinned_object_class(pin)
    if client is not None:
        # load_cert_chain reads files only: a private directory that lives for the call
        with tempfile.TemporaryDirectory(prefix="yrd-tls-") as tmp:
            cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
            cert.write_bytes(client.cert)
            key.touch(mode=0o600)
            key.write_bytes(client.key)
            context.load_cert_chain(cert, key)
    return context


class HttpTransport:
    """The default ``Transport`` (and ``TransportFactory``): aiohttp, one codec, one base URL.

    ``deliver(kind, payload)`` POSTs dialect bytes to ``base_url + codec.endpoint(kind)``
    and returns a ``Delivery`` whatever the status; network failures, timeouts, a failed
    TLS handshake or pin mismatch, and an answer longer than ``max_response_bytes`` (read
    at most one byte past it) raise ``DeliveryError(status=None)``. ``exchange(kind,
    canonical)`` is the round trip in canonical terms: encode, deliver, raise
    ``DeliveryError`` (with the partner's error decoded) on a non-2xx status, decode the
    answer as ``RESPONSE_KIND[kind]``.

    An ``https`` base URL needs ``server_cert_sha256`` (ValueError without it): see
    :func:`pinned_context`; ``client_cert`` is what the gateway presents. Use as an async
    context manager, or call ``close()``; a session passed in is not closed.
    """

    def __init__(
        self,
        codec: Codec,
        base_url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        server_cert_sha256: str | None = None,
        client_cert: ClientCertificate | None = None,
    ) -> None:
        self.codec = codec
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_response = max_response_bytes
        self._ssl: ssl.SSLContext | None = None
        scheme = urlsplit(self.base_url).scheme
        if scheme == "https":
            if not server_cert_sha256:
                raise ValueError(f"{base_url}: an https push endpoint needs server_cert_sha256")
            self._ssl = pinned_context(server_cert_sha256, client_cert)
            self.channel = CHANNEL_HTTPS_PINNED
        elif scheme == "http":
            self.channel = CHANNEL_HTTP_DEV
        else:
            raise ValueError(f"expected an http(s) base url, got {base_url!r}")

    async def __aenter__(self) -> HttpTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def deliver(
        self, kind: str, payload: bytes, *, exchange_id: str = "", in_reply_to: str = ""
    ) -> Delivery:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        url = self.base_url + self.codec.endpoint(kind)
        headers = {
            "Content-Type": self.codec.content_type,
            "Accept": self.codec.content_type,
            # the bound applies to the bytes on the wire: no compressed answers to inflate
            "Accept-Encoding": "identity",
        }
        # the exchange pushed, and the request it answers: the partner's dedup key and the
        # link from an answer back to its request (docs/exchange.md, "Push delivery")
        if exchange_id:
            headers[EXCHANGE_ID_HEADER] = exchange_id
        if in_reply_to:
            headers[IN_REPLY_TO_HEADER] = in_reply_to
        tls: ssl.SSLContext | bool = self._ssl if self._ssl is not None else True
        try:
            async with self._session.post(
                url, data=payload, headers=headers, ssl=tls, auto_decompress=False
            ) as resp:
                body = await self._bounded_body(resp, url)
                content_type = resp.headers.get("Content-Type", "")
                return Delivery(resp.status, content_type, body, self.channel)
        except (TimeoutError, aiohttp.ClientError, ssl.SSLError) as exc:
            raise DeliveryError("transport", f"push to {url} failed: {exc!r}") from exc

    async def _bounded_body(self, resp: aiohttp.ClientResponse, url: str) -> bytes:
        """The answer's bytes, refused once they pass ``max_response_bytes`` (declared or read);
        never reads more than one byte past the bound."""
        limit = self._max_response
        if resp.content_length is not None and resp.content_length > limit:
            raise DeliveryError(
                "transport",
                f"push to {url}: response of {resp.content_length} bytes exceeds limit {limit}",
            )
        if resp.headers.get("Content-Encoding", "identity").lower() != "identity":
            raise DeliveryError("transport", f"push to {url}: encoded response refused")
        body = bytearray()
        while chunk := await resp.content.read(min(_CHUNK, limit + 1 - len(body))):
            body += chunk
            if len(body) > limit:
                raise DeliveryError(
                    "transport", f"push to {url}: response exceeds limit of {limit} bytes"
                )
        return bytes(body)

    async def exchange(self, kind: str, canonical: Mapping[str, Any]) -> dict[str, Any]:
        delivery = await self.deliver(kind, self.codec.from_canonical(kind, canonical))
        if not delivery.ok:
            try:
                err = self.codec.to_canonical("error", delivery.body)
            except AdapterError:
                err = {"code": str(delivery.status), "message": "unreadable error body"}
            raise DeliveryError(
                err.get("field") or "<remote>",
                f"{self.codec.region} refused {kind}: {err['code']}: {err['message']}",
                status=delivery.status,
            )
        return self.codec.to_canonical(RESPONSE_KIND[kind], delivery.body)
