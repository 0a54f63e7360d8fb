"""Hypothesis fuzzing of every unary method of every gRPC service (finding 7, "no UNKNOWN
status reaches a client for any input"): each request message is built from its descriptor
with arbitrary values in every field, sent over mTLS by a registered member, and the answer
must be OK or a refusal from the table that is neither UNKNOWN nor INTERNAL (bad input is
the caller's fault, so it is INVALID_ARGUMENT / NOT_FOUND / ..., never a server error).
"""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.errors import REASON_CODES
from gateway.pb.yrd.v1 import audit_pb2, exchange_pb2, identity_pb2, matters_pb2
from tests.adversarial.probes import member_channel
from tests.gateway.harness import GatewayThread

REFUSAL_CODES = set(REASON_CODES.values()) - {grpc.StatusCode.INTERNAL}
SERVICES = {
    "yrd.v1.Audit": audit_pb2,
    "yrd.v1.Exchange": exchange_pb2,
    "yrd.v1.Identity": identity_pb2,
    "yrd.v1.Matters": matters_pb2,
}
METHODS = sorted(
    (f"/{name}/{m.name}", m.input_type._concrete_class)
    for name, module in SERVICES.items()
    for m in module.DESCRIPTOR.services_by_name[name.split(".")[-1]].methods
    if not m.client_streaming and not m.server_streaming
)
_INTS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_ENUM: (-(2**31), 2**31 - 1),
}
texts = st.one_of(
    st.text(max_size=30),
    st.text(max_size=30).map(lambda t: t + "\n"),
    st.text(min_size=5000, max_size=9000),
    st.sampled_from(["9999-12-31", "0001-01-01", "2026-09-30", "200051200100", "MTIzNDU2Nzg5MDEy"]),
)


def _repeated(field: FieldDescriptor) -> bool:
    if hasattr(field, "is_repeated"):  # protobuf >= 5.30 has no ``label``
        return bool(field.is_repeated)
    return field.label == FieldDescriptor.LABEL_REPEATED


def _scalar(field: FieldDescriptor) -> st.SearchStrategy:
    if field.type in _INTS:
        low, high = _INTS[field.type]
        small = st.sampled_from([v for v in (0, 1, 2, 3, 4, 5, 255) if low <= v <= high])
        return st.one_of(small, st.integers(low, high))
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(allow_nan=True, width=32)
    if field.type == FieldDescriptor.TYPE_STRING:
        return texts
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.binary(max_size=64), st.binary(min_size=3000, max_size=6000))
    raise AssertionError(f"no strategy for {field.full_name}")


def message_values(descriptor, depth: int = 0) -> st.SearchStrategy[dict]:
    """Arbitrary values for any subset of the fields of ``descriptor`` (3 levels deep)."""
    optional = {}
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth >= 2 or field.message_type.GetOptions().map_entry:
                continue
            value = message_values(field.message_type, depth + 1)
        else:
            value = _scalar(field)
        if _repeated(field):
            value = st.lists(value, max_size=4)
        optional[field.name] = value
    return st.fixed_dictionaries({}, optional=optional)


def build(cls, values: dict):
    message = cls()
    for name, value in values.items():
        field = cls.DESCRIPTOR.fields_by_name[name]
        target = getattr(message, name)
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            sub = field.message_type._concrete_class
            if _repeated(field):
                target.extend(build(sub, v) for v in value)
            else:
                target.CopyFrom(build(sub, value))
        elif _repeated(field):
            target.extend(value)
        else:
            setattr(message, name, value)
    return message


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(
        tmp_path_factory.mktemp("fuzz-services"),
    ).start()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def channel(gw):
    yield from member_channel(gw, "JS")


@pytest.mark.parametrize(("method", "cls"), METHODS, ids=[m for m, _ in METHODS])
def test_every_unary_method_fuzzed(channel, method, cls):
    call = channel.unary_unary(
        method, request_serializer=cls.SerializeToString, response_deserializer=None
    )

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(values=message_values(cls.DESCRIPTOR))
    def run(values):
        request = build(cls, values)
        try:
            call(request, timeout=30)
        except grpc.RpcError as error:
            assert error.code() in REFUSAL_CODES, (error.code(), error.details())

    run()
    answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=30)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
