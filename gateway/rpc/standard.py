"""The standard gRPC services beside ours: health (with ``List``) and server reflection, both
``grpc.reflection.v1`` and the older ``v1alpha``.

Why here: grpcio-health-checking's servicer leaves ``grpc.health.v1.Health/List``
unimplemented (its base raises, which the guard would log as an internal error), and
grpcio-reflection ships only ``v1alpha``, while current clients (grpcurl, Postman, grpc
reflection clients of other languages) ask ``grpc.reflection.v1`` first.

``grpc.reflection.v1`` is the same protocol as ``v1alpha`` under another package name (the
messages have the same fields and numbers), so its handler decodes and answers with the
``v1alpha`` messages and servicer. Its file descriptor, ``grpc/reflection/v1/reflection.proto``,
is derived from the ``v1alpha`` one and added to the default descriptor pool, so reflection
can describe itself too.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

__all__ = [
    "REFLECTION_V1",
    "ListingHealthServicer",
    "add_health",
    "add_reflection",
]

REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
_V1_FILE = "grpc/reflection/v1/reflection.proto"
_V1ALPHA = "grpc.reflection.v1alpha"


class ListingHealthServicer(health.aio.HealthServicer):
    """The asyncio health servicer, plus ``List``: every service whose status it holds."""

    async def List(
        self, request: health_pb2.HealthListRequest, context: grpc.aio.ServicerContext
    ) -> health_pb2.HealthListResponse:
        # _server_status is the base class's only record of the statuses it serves (there is
        # no public getter); a snapshot, as the health protocol allows.
        statuses = dict(self._server_status)
        return health_pb2.HealthListResponse(
            statuses={
                name: health_pb2.HealthCheckResponse(status=status)
                for name, status in sorted(statuses.items())
            }
        )


def add_health(server: grpc.aio.Server) -> ListingHealthServicer:
    """Registers ``grpc.health.v1.Health`` (Check, Watch, List) on ``server``."""
    servicer = ListingHealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    return servicer


def _v1_file() -> descriptor_pb2.FileDescriptorProto:
    """``grpc/reflection/v1/reflection.proto``: the v1alpha file under the v1 package."""
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name = _V1_FILE
    proto.package = "grpc.reflection.v1"
    proto.options.Clear()
    proto.options.java_multiple_files = True
    proto.options.java_package = "io.grpc.reflection.v1"
    proto.options.java_outer_classname = "ServerReflectionProto"
    proto.options.go_package = "google.golang.org/grpc/reflection/grpc_reflection_v1"
    old, new = f".{_V1ALPHA}.", ".grpc.reflection.v1."
    for message in proto.message_type:
        for field in message.field:
            if field.type_name.startswith(old):
                field.type_name = new + field.type_name[len(old) :]
    for service in proto.service:
        for method in service.method:
            method.input_type = new + method.input_type[len(old) :]
            method.output_type = new + method.output_type[len(old) :]
    return proto


def _ensure_v1_descriptor() -> None:
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(_V1_FILE)
    except KeyError:
        pool.AddSerializedFile(_v1_file().SerializeToString())


def add_reflection(server: grpc.aio.Server, service_names: tuple[str, ...]) -> None:
    """Serves reflection v1 and v1alpha on ``server`` for ``service_names`` (both reflection
    services are added to the list)."""
    _ensure_v1_descriptor()
    names = (*service_names, REFLECTION_V1, reflection.SERVICE_NAME)
    servicer = reflection.aio.ReflectionServicer(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    handlers: dict[str, Any] = {
        "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
            response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
        )
    }
    generic = grpc.method_handlers_generic_handler(REFLECTION_V1, handlers)
    server.add_generic_rpc_handlers((generic,))
    server.add_registered_method_handlers(REFLECTION_V1, handlers)
