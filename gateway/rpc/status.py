"""Refusals to gRPC statuses with rich details (google.rpc.Status + ErrorInfo), in one place.

``ErrorInfo.reason`` is :attr:`Reason.wire` (the ``yrd.v1.ErrorReason`` value name, e.g.
``MALFORMED``) and ``ErrorInfo.domain`` is :data:`ERROR_DOMAIN`; see docs/errors.md.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from gateway.errors import Reason, Refusal

__all__ = [
    "ERROR_DOMAIN",
    "abort",
    "reason_of",
    "retry_delay_of",
    "status_for",
]

ERROR_DOMAIN = "yrd-gateway"


def status_for(refusal: Refusal) -> grpc.Status:
    """The status of ``refusal``: its ErrorInfo, and for a refusal worth retrying (one with a
    ``retry_delay``, i.e. ``OVERLOADED``) a RetryInfo and the ``grpc-retry-pushback-ms``
    trailer the gRPC retry policy follows. Any other RESOURCE_EXHAUSTED (``TOO_LARGE``) says
    "do not retry" (pushback -1): a retry policy for that code must not resend it."""
    info = error_details_pb2.ErrorInfo(
        reason=refusal.reason.wire, domain=ERROR_DOMAIN, metadata=refusal.metadata
    )
    detail = any_pb2.Any()
    detail.Pack(info)
    details = [detail]
    delay: float | None = getattr(refusal, "retry_delay", None)
    pushback = None
    if delay is not None:
        retry = any_pb2.Any()
        retry.Pack(error_details_pb2.RetryInfo(retry_delay=_duration(delay)))
        details.append(retry)
        pushback = str(max(0, round(delay * 1000)))
    elif refusal.status == grpc.StatusCode.RESOURCE_EXHAUSTED:
        pushback = "-1"
    status = rpc_status.to_status(
        status_pb2.Status(code=refusal.status.value[0], message=refusal.message, details=details)
    )
    if pushback is None:
        return status
    return _Status(
        status.code,
        status.details,
        (*status.trailing_metadata, ("grpc-retry-pushback-ms", pushback)),
    )


def _duration(seconds: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(seconds * 1e9))
    return duration


class _Status(grpc.Status):
    """A status with extra trailers (grpc_status's own class takes none)."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: tuple) -> None:
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


def retry_delay_of(error: grpc.RpcError) -> float | None:
    """The RetryInfo delay (seconds) a client got back, or None."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return None
    for detail in status.details:
        retry = error_details_pb2.RetryInfo()
        if detail.Unpack(retry):
            return retry.retry_delay.ToNanoseconds() / 1e9
    return None


async def abort(context: grpc.aio.ServicerContext, refusal: Refusal) -> None:
    await context.abort_with_status(status_for(refusal))


def reason_of(error: grpc.RpcError) -> Reason | str | None:
    """The reason a client got back, as its :class:`Reason` (so it compares equal to
    ``Reason.MALFORMED`` and ``"malformed"``); a reason this gateway does not know comes back
    as the wire string, and a status without ErrorInfo as None."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return None
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return Reason.from_wire(info.reason) or info.reason
    return None
