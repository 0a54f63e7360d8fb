"""The one boundary between any gRPC method and its caller: no ``UNKNOWN`` ever leaves.

grpc's own handling turns an exception from a request deserializer or a servicer into
``UNKNOWN "Unexpected <class>: ..."`` with a server traceback. :class:`GuardInterceptor`
wraps every method handler of the server so that:

(1) request bytes are decoded here, not by grpc: bytes that do not decode are refused with
    ``INVALID_ARGUMENT`` / ``MALFORMED`` (for streams, at the message that fails);
(2) a :class:`Refusal` that escapes a servicer is sent as its own status;
(3) any other exception is ``INTERNAL`` / ``INTERNAL``, logged once with its cause; the
    client learns only the exception's class, never its text (it may hold input).

(4) ``NotImplementedError`` (what a generated servicer base raises for a method the
    gateway does not serve) is ``UNIMPLEMENTED``, as for an unknown method: not logged, no
    ErrorInfo (it is no refusal of the request).

Aborts (``context.abort``) and cancellations pass through untouched.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from gateway.errors import Reason, Refusal
from gateway.rpc.status import abort

__all__ = ["GuardInterceptor", "refusal_for"]

log = logging.getLogger("gateway.grpc")

_PASS = (grpc.aio.AbortError, grpc.aio.UsageError)


def refusal_for(exc: BaseException, method: str) -> Refusal:
    """The refusal a client gets for ``exc`` raised while serving ``method``."""
    if isinstance(exc, Refusal):
        return exc
    if isinstance(exc, DecodeError):
        return Refusal(Reason.MALFORMED, "request bytes do not decode as the method's message")
    log.error(
        "unexpected error in %s: %s",
        method,
        type(exc).__name__,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return Refusal(Reason.INTERNAL, f"internal error in {method} ({type(exc).__name__})")


def _decoder(deserialize: Callable[[bytes], Any] | None) -> Callable[[Any], Any]:
    if deserialize is None:
        return lambda raw: raw

    def decode(raw: Any) -> Any:
        try:
            return deserialize(raw)
        except Exception as exc:  # protobuf raises DecodeError, or RuntimeWarning-ish odd ones
            raise DecodeError(type(exc).__name__) from exc

    return decode


async def _decoded(requests: AsyncIterator[bytes], decode: Callable[[Any], Any]):
    async for raw in requests:
        yield decode(raw)


class _Guard:
    """Wraps one handler's behaviour; see the module docstring for the steps."""

    def __init__(self, method: str, handler: grpc.RpcMethodHandler) -> None:
        self.method = method
        self.decode = _decoder(handler.request_deserializer)

    async def _refuse(self, context: grpc.aio.ServicerContext, exc: BaseException) -> None:
        if isinstance(exc, NotImplementedError):  # (4): a method declared but not served here
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{self.method} is not implemented")
        await abort(context, refusal_for(exc, self.method))

    def unary(self, behavior: Callable[..., Any], streaming_in: bool) -> Callable[..., Any]:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                # (1): decode
                if streaming_in:
                    request = _decoded(request, self.decode)
                else:
                    request = self.decode(request)
                result = behavior(request, context)
                if inspect.isawaitable(result):
                    result = await result
                return result
            except _PASS:
                raise
            except Exception as exc:  # (2), (3)
                await self._refuse(context, exc)

        return call

    def streaming(self, behavior: Callable[..., Any], streaming_in: bool) -> Callable[..., Any]:
        if not inspect.isasyncgenfunction(behavior):
            # reader/writer style (coroutine that calls context.write) or a sync generator
            return self._writer(behavior, streaming_in)

        async def stream(request: Any, context: grpc.aio.ServicerContext):
            try:
                request = _decoded(request, self.decode) if streaming_in else self.decode(request)
                async for response in behavior(request, context):
                    yield response
            except _PASS:
                raise
            except Exception as exc:
                await self._refuse(context, exc)

        return stream

    def _writer(self, behavior: Callable[..., Any], streaming_in: bool) -> Callable[..., Any]:
        async def write(request: Any, context: grpc.aio.ServicerContext) -> None:
            try:
                request = _decoded(request, self.decode) if streaming_in else self.decode(request)
                result = behavior(request, context)
                if isinstance(result, Awaitable):
                    await result
                elif result is not None:
                    for response in result:
                        await context.write(response)
            except _PASS:
                raise
            except Exception as exc:
                await self._refuse(context, exc)

        return write


class GuardInterceptor(grpc.aio.ServerInterceptor):
    """Installs a :class:`_Guard` on every method handler (give it to ``grpc.aio.server``)."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or not hasattr(handler, "_replace"):
            return handler
        guard = _Guard(handler_call_details.method, handler)
        if handler.unary_unary is not None:
            return handler._replace(
                request_deserializer=None, unary_unary=guard.unary(handler.unary_unary, False)
            )
        if handler.stream_unary is not None:
            return handler._replace(
                request_deserializer=None, stream_unary=guard.unary(handler.stream_unary, True)
            )
        if handler.unary_stream is not None:
            return handler._replace(
                request_deserializer=None,
                unary_stream=guard.streaming(handler.unary_stream, False),
            )
        if handler.stream_stream is not None:
            return handler._replace(
                request_deserializer=None,
                stream_stream=guard.streaming(handler.stream_stream, True),
            )
        return handler
