"""A server interceptor: a :class:`Refusal` that escapes a servicer becomes its status.

Servicers turn the refusals of their own checks into statuses; this catches the ones raised
by what they call before their checks, above all ``RegistryHolder.require()`` refusing with
``registry_expired`` once the registry is past its grace period, so a client gets
FAILED_PRECONDITION and the reason instead of ``UNKNOWN``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from .errors import Refusal
from .grpc_status import abort

__all__ = ["RefusalInterceptor"]


def _unary(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await behavior(request, context)
        except Refusal as refusal:
            await abort(context, refusal)

    return wrapped


def _streaming(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            result = behavior(request, context)
            if hasattr(result, "__aiter__"):
                async for item in result:
                    yield item
            else:  # a coroutine that writes with context.write
                await result
        except Refusal as refusal:
            await abort(context, refusal)

    return wrapped


class RefusalInterceptor(grpc.aio.ServerInterceptor):
    """Wrap every method handler so an escaping Refusal aborts with its own status.

    The wrapped handler is made once per method (the hot path pays one extra await).
    """

    def __init__(self) -> None:
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            handler = await continuation(handler_call_details)
            if handler is None:
                return handler
            wrapped = self._wrapped[method] = _wrap(handler)
        return wrapped


def _wrap(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    codec = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(_unary(handler.unary_unary), **codec)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(_unary(handler.stream_unary), **codec)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(_streaming(handler.unary_stream), **codec)
    if handler.stream_stream:
        return grpc.stream_stream_rpc_method_handler(_streaming(handler.stream_stream), **codec)
    return handler
