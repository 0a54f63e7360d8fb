"""Push delivery to a partner system over HTTP (aiohttp), in that system's dialect."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from gateway.dialects.base import RESPONSE_KIND
from gateway.dialects.errors import AdapterError, DeliveryError

if TYPE_CHECKING:
    from gateway.dialects.base import Codec

__all__ = ["MAX_RESPONSE_BYTES", "Delivery", "HttpTransport"]

MAX_RESPONSE_BYTES = 1024 * 1024
"""A partner's answer is a receipt-sized dialect document; more is refused, never buffered."""
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Delivery:
    """What came back from one push: HTTP status, content type and the raw dialect bytes."""

    status: int
    content_type: str
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class HttpTransport:
    """The default ``Transport`` (and ``TransportFactory``): aiohttp, one codec, one base URL.

    ``deliver(kind, payload)`` POSTs dialect bytes to ``base_url + codec.endpoint(kind)``
    and returns a ``Delivery`` whatever the status; network failures, timeouts and an answer
    longer than ``max_response_bytes`` (read at most that far) raise
    ``DeliveryError(status=None)``. ``exchange(kind, canonical)`` is the round trip in
    canonical terms: encode, deliver, raise ``DeliveryError`` (with the partner's error
    decoded) on a non-2xx status, decode the answer as ``RESPONSE_KIND[kind]``.
    Use as an async context manager, or call ``close()``; a session passed in is not closed.
    """

    def __init__(
        self,
        codec: Codec,
        base_url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.codec = codec
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_response = max_response_bytes

    async def __aenter__(self) -> HttpTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def deliver(self, kind: str, payload: bytes) -> Delivery:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        url = self.base_url + self.codec.endpoint(kind)
        headers = {"Content-Type": self.codec.content_type, "Accept": self.codec.content_type}
        try:
            async with self._session.post(url, data=payload, headers=headers) as resp:
                body = await self._bounded_body(resp, url)
                return Delivery(resp.status, resp.headers.get("Content-Type", ""), body)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryError("transport", f"push to {url} failed: {exc!r}") from exc

    async def _bounded_body(self, resp: aiohttp.ClientResponse, url: str) -> bytes:
        """The answer's bytes, refused once they pass ``max_response_bytes`` (declared or read)."""
        limit = self._max_response
        if resp.content_length is not None and resp.content_length > limit:
            raise DeliveryError(
                "transport",
                f"push to {url}: response of {resp.content_length} bytes exceeds limit {limit}",
            )
        body = bytearray()
        while chunk := await resp.content.read(_CHUNK):
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
