"""Bounded request bodies for every HTTP route: size while streaming, JSON depth before parsing.

A pure ASGI middleware (no ``BaseHTTPMiddleware``, which reads whole bodies into memory) so a
hostile body is refused before any route, pydantic or ``json`` sees it:

1. a malformed ``Content-Length`` is refused with 400;
2. a buffered route's body (every JSON route) is read chunk by chunk and counted; reading
   stops as soon as it passes the route's limit (declared or chunked, at most one chunk
   more than the limit is ever held);
3. its nesting depth is checked with ``ledger.boundedjson.check_depth`` (400 ``too_deep``,
   also for an oversized body's prefix): the C ``json`` parser recurses once per level and
   must never see a deep document; then an oversized body is refused (413 ``too_large``);
4. a streaming route (``/api/uploads``) with a ``Content-Length`` over its limit is refused
   (413) before a byte is read; otherwise it gets its body as it arrives, through a
   ``receive`` that raises :class:`BodyTooLarge` once the count passes the limit; the route
   copies the stream to a bounded spool, and the refusal becomes a 413 here.

Refusals use the API's error shape ``{"error": {"code", "message", "field"}}``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.cases.materials import MAX_MATERIAL_BYTES
from gateway.errors import Code, Error
from ledger.boundedjson import DEFAULT_MAX_DEPTH, JsonLimitError, check_depth

__all__ = ["BodyLimitMiddleware", "BodyLimits", "BodyTooLarge"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BYTES = 256 * 1024
"""JSON APIs: a case submission with its notes is a few KiB."""
AUDIT_MAX_BYTES = 64 * 1024
"""``/api/audit/verify`` needs no sign-in; a receipt with its proof is under 16 KiB."""


@dataclass(frozen=True)
class BodyLimits:
    """Byte limits per exact path (``default`` elsewhere), and which paths stream."""

    default: int = DEFAULT_MAX_BYTES
    paths: Mapping[str, int] = field(
        default_factory=lambda: {
            "/api/uploads": MAX_MATERIAL_BYTES,
            "/api/audit/verify": AUDIT_MAX_BYTES,
        }
    )
    streaming: frozenset[str] = frozenset({"/api/uploads"})
    max_depth: int = DEFAULT_MAX_DEPTH

    def limit(self, path: str) -> int:
        return self.paths.get(path.rstrip("/") or "/", self.default)


class BodyTooLarge(Error):
    """The body passed ``limit`` bytes while it was being read."""

    code = Code.BODY_TOO_LARGE

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body exceeds {limit} bytes")
        self.limit = limit


class BodyLimitMiddleware:
    """Refuse oversized or over-deep bodies before the app reads them (see the module doc)."""

    def __init__(self, app: ASGIApp, limits: BodyLimits | None = None) -> None:
        self.app = app
        self.limits = limits or BodyLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.limits.limit(path)
        # (1): the announced length
        declared = _content_length(scope)
        if declared == -1:
            await _refuse(send, 400, "bad_request", "Content-Length 请求头不是数字")
            return
        if path.rstrip("/") in self.limits.streaming:
            if declared is not None and declared > limit:
                await _too_large(send, limit, declared)
                return
            await self._streamed(scope, receive, send, limit)
            return
        # (2): buffered, counted as it arrives; never more than ``limit`` + one chunk
        body = bytearray()
        more = True
        while more and len(body) <= limit:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        # (3): nesting depth, before anything parses it (also of an oversized prefix, so a
        # deep document is named as such whatever its size)
        try:
            check_depth(bytes(body[: limit + 1]), self.limits.max_depth)
        except JsonLimitError:
            await _refuse(send, 400, "too_deep", f"JSON 嵌套过深：上限 {self.limits.max_depth} 层")
            return
        if len(body) > limit:
            await _too_large(send, limit, declared)
            return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        # (4): the route reads the stream; the count stops it at the limit
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(send, limit, None)


def _content_length(scope: Scope) -> int | None:
    """The declared length; ``None`` if absent, ``-1`` if not a decimal number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) <= 18 else -1
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the buffered body once, then defers to the real one."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _too_large(send: Send, limit: int, declared: int | None) -> None:
    got = f"声明 {declared} 字节" if declared is not None else "实际发送超过上限"
    await _refuse(send, 413, "too_large", f"请求内容过大：上限 {limit} 字节，{got}")


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    error = {"code": code, "message": message, "field": "body", "field_label": "请求内容"}
    body = json.dumps({"error": error}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
