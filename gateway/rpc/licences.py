"""``yrd.v1.Licences``: e-licence verification (电子证照互认) for member systems.

``Verify`` runs ``gateway.licences.check_licence`` against the trust registry in use, at
the gateway's clock: a licence refused by a check is an answer (``valid=false`` with the
``ErrorReason`` and the check), not an RPC error. The RPC fails only for a caller without a
member certificate (UNAUTHENTICATED) or a licence over the size limit (MALFORMED). Nothing is
written; the log line names the verdict and the licence id, never the holder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import grpc

from gateway.errors import Reason, Refusal
from gateway.licences import MAX_LICENCE_BYTES, Licence, check_licence
from gateway.pb.yrd.v1 import errors_pb2, licences_pb2, licences_pb2_grpc
from gateway.registry import TrustRegistry
from gateway.rpc.exchange import caller_member
from gateway.rpc.status import abort
from gateway.times import to_timestamp

__all__ = ["SERVICE_NAME", "LicencesServicer", "add_licences_service", "licence_proto"]

SERVICE_NAME = licences_pb2.DESCRIPTOR.services_by_name["Licences"].full_name
log = logging.getLogger("gateway.rpc.licences")


def licence_proto(licence: Licence) -> licences_pb2.Licence:
    """The canonical licence as ``yrd.v1.Licence``."""
    return licences_pb2.Licence(
        licence_id=licence.licence_id,
        licence_type=licence.licence_type,
        licence_type_label=licence.type_label,
        holder_kind=licence.holder.kind,
        holder_key=licence.holder.key,
        holder_display_name=licence.holder.display_name,
        holder_display_number=licence.holder.display_number or "",
        issuer_region=licence.issuer.region,
        issuer_authority=licence.issuer.authority,
        issuer_key_id=licence.issuer.key_id,
        issued_at=to_timestamp(licence.issued_at),
        valid_from=to_timestamp(licence.valid_from),
        valid_until=to_timestamp(licence.valid_until),
        data=dict(licence.data),
    )


class LicencesServicer(licences_pb2_grpc.LicencesServicer):
    """``yrd.v1.Licences`` over the registry in use (``registry()``) and ``clock``."""

    def __init__(
        self,
        *,
        registry: Callable[[], TrustRegistry],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.registry = registry
        self.clock = clock

    async def Verify(self, request, context):
        registry = self.registry()
        try:
            if caller_member(context, registry) is None:
                raise Refusal("unauthenticated", "no member is bound to the client certificate")
            if len(request.licence) > MAX_LICENCE_BYTES:
                raise Refusal(
                    "malformed", f"licence: {len(request.licence)} bytes, at most "
                    f"{MAX_LICENCE_BYTES}",
                )  # fmt: skip
        except Refusal as refusal:
            await abort(context, refusal)
            raise AssertionError("unreachable") from None
        verdict = check_licence(
            request.licence,
            registry=registry,
            now=self.clock(),
            holder_key=request.expected_holder_key or None,
        )
        out = licences_pb2.VerifyLicenceResponse(valid=verdict.valid)
        if verdict.licence is not None:
            out.licence.CopyFrom(licence_proto(verdict.licence))
        rejected = verdict.refusal
        if rejected is not None:
            out.reason = errors_pb2.ErrorReason.Value(Reason(rejected.reason).wire)
            out.failed_check = rejected.check
            out.message = rejected.message
            out.message_zh = rejected.chinese
        log.info(
            "licence verified" if verdict.valid else "licence refused",
            extra={
                "licence_id": verdict.licence.licence_id if verdict.licence else None,
                "reason": rejected.reason if rejected else None,
            },
        )
        return out


def add_licences_service(server: grpc.aio.Server, servicer: LicencesServicer) -> str:
    """Register ``yrd.v1.Licences`` on ``server``; return its full name."""
    licences_pb2_grpc.add_LicencesServicer_to_server(servicer, server)
    return SERVICE_NAME
