"""Refusals to gRPC statuses with rich details (google.rpc.Status + ErrorInfo), in one place.

``ErrorInfo.reason`` is :attr:`Reason.wire` (the ``yrd.v1.ErrorReason`` value name, e.g.
``MALFORMED``) and ``ErrorInfo.domain`` is :data:`ERROR_DOMAIN`; see docs/errors.md.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from gateway.errors import Reason, Refusal

__all__ = [
    "ERROR_DOMAIN",
    "abort",
    "reason_of",
    "status_for",
]

ERROR_DOMAIN = "yrd-gateway"


def status_for(refusal: Refusal) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(
        reason=refusal.reason.wire, domain=ERROR_DOMAIN, metadata=refusal.metadata
    )
    detail = any_pb2.Any()
    detail.Pack(info)
    return rpc_status.to_status(
        status_pb2.Status(code=refusal.status.value[0], message=refusal.message, details=[detail])
    )


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
