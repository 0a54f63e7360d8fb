"""One error catalogue: ``yrd.v1.ErrorReason`` (protos/yrd/v1/errors.proto), ``Reason`` and
``REASON_CODES`` (gateway/errors.py) and docs/errors.md agree both ways, and a real gateway
sends exactly those names; reflection v1 and v1alpha, and health List, on a real server."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from gateway.errors import REASON_CODES, Reason, Refusal
from gateway.pb.yrd.v1 import errors_pb2, exchange_pb2
from gateway.rpc.guard import GuardInterceptor
from gateway.rpc.status import ERROR_DOMAIN, reason_of, status_for
from tests.gateway.harness import GatewayThread

ROOT = Path(__file__).resolve().parents[2]
ERRORS_PROTO = ROOT / "protos" / "yrd" / "v1" / "errors.proto"
ERRORS_DOC = ROOT / "docs" / "errors.md"
BEGIN, END = "<!-- reasons:begin -->", "<!-- reasons:end -->"
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"


def catalogue() -> list[tuple[str, int, str, str]]:
    """(name, number, status code, meaning) of each ErrorReason value, from the comment above
    it in errors.proto (its first words are ``STATUS_CODE:``)."""
    text = ERRORS_PROTO.read_text(encoding="utf-8")
    body = text[text.index("enum ErrorReason {") : text.rindex("}")]
    rows, comment = [], []
    for line in body.splitlines()[1:]:
        line = line.strip()
        if line.startswith("//"):
            comment.append(line[2:].strip())
        elif match := re.fullmatch(r"([A-Z_]+) = (\d+);", line):
            rows.append((match[1], int(match[2]), " ".join(comment)))
            comment = []
    out = []
    for name, number, words in rows:
        if number == 0:
            continue
        code, _, meaning = words.partition(": ")
        out.append((name, number, code, meaning))
    return out


def doc_table() -> str:
    """The table docs/errors.md must hold between its markers (this test generates it)."""
    lines = ["| reason | gRPC status | meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | {code} | {meaning} |" for name, _, code, meaning in catalogue()]
    return "\n".join(lines)


def test_enum_and_reason_agree_both_ways():
    enum = errors_pb2.ErrorReason
    assert enum.Name(0) == "ERROR_REASON_UNSPECIFIED"
    names = [n for n in enum.keys() if n != "ERROR_REASON_UNSPECIFIED"]
    assert names == [r.name for r in Reason]
    assert set(REASON_CODES) == set(Reason)
    for reason in Reason:
        assert reason.wire == reason.name == reason.value.upper()
        assert Reason.from_wire(reason.wire) is reason
        assert enum.Value(reason.wire) > 0
    assert Reason.from_wire("NO_SUCH_REASON") is None


def test_proto_comments_name_each_reasons_status_code():
    rows = catalogue()
    assert [name for name, *_ in rows] == [r.name for r in Reason]
    assert [number for _, number, *_ in rows] == list(range(1, len(Reason) + 1))
    for name, _, code, meaning in rows:
        assert code == REASON_CODES[Reason[name]].name, name
        assert meaning, name


def test_docs_list_every_reason_as_the_proto_does():
    text = ERRORS_DOC.read_text(encoding="utf-8")
    table = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert table == doc_table(), "regenerate docs/errors.md's table:\n" + doc_table()
    assert ERROR_DOMAIN in text


def test_no_lower_case_reason_on_the_wire_in_protos_or_docs():
    """Protos and docs name reasons as the client receives them: an upper-case reason, never
    a quoted lower-case one (``"not_found"``) or ``reason `malformed```."""
    lower = "|".join(r.value for r in Reason)
    quoted = re.compile(rf'"({lower})"')
    after_reason = re.compile(rf"reason `?({lower})\b")
    for path in [*sorted((ROOT / "protos" / "yrd").rglob("*.proto")), ERRORS_DOC]:
        text = path.read_text(encoding="utf-8")
        assert not quoted.search(text), (path, quoted.search(text))
        assert not after_reason.search(text), (path, after_reason.search(text))


def test_status_carries_the_wire_name_and_domain():
    status = status_for(Refusal(Reason.NOT_PERMITTED, "no"))
    key, value = status.trailing_metadata[0]
    info = error_details_pb2.ErrorInfo()
    assert key == "grpc-status-details-bin"
    assert status_pb2.Status.FromString(value).details[0].Unpack(info)
    assert (info.reason, info.domain) == ("NOT_PERMITTED", ERROR_DOMAIN)


async def test_a_method_not_served_is_unimplemented_without_a_traceback(caplog):
    """A generated servicer base raises NotImplementedError: behind the guard that is
    UNIMPLEMENTED, as for an unknown method, and nothing is logged as an error."""
    caplog.set_level(logging.DEBUG)
    server = grpc.aio.server(interceptors=[GuardInterceptor()])
    health_pb2_grpc.add_HealthServicer_to_server(health_pb2_grpc.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=30
                )
    finally:
        await server.stop(None)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "/grpc.health.v1.Health/Check" in info.value.details()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(tmp_path_factory.mktemp("errcat")).start()
    yield thread
    thread.stop()


async def test_a_refusal_on_a_real_server_names_an_error_reason(gw):
    async with gw.client("JS") as client:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await client.exchange.GetReceipt(
                exchange_pb2.GetReceiptRequest(exchange_id="00000000-0000-4000-8000-000000000000")
            )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    status = rpc_status.from_call(info.value)
    detail = error_details_pb2.ErrorInfo()
    assert status is not None and status.details[0].Unpack(detail)
    assert (detail.reason, detail.domain) == ("NOT_FOUND", ERROR_DOMAIN)
    assert errors_pb2.ErrorReason.Value(detail.reason) == errors_pb2.NOT_FOUND
    assert reason_of(info.value) is Reason.NOT_FOUND


def _v1_classes():
    pool = descriptor_pool.Default()
    return tuple(
        message_factory.GetMessageClass(pool.FindMessageTypeByName(f"grpc.reflection.v1.{n}"))
        for n in ("ServerReflectionRequest", "ServerReflectionResponse")
    )


async def test_reflection_v1_lists_services_and_resolves_files(gw):
    request_cls, response_cls = _v1_classes()
    async with gw.client("JS") as client:
        call = client.channel.stream_stream(
            f"/{REFLECTION_V1}/ServerReflectionInfo",
            request_serializer=request_cls.SerializeToString,
            response_deserializer=response_cls.FromString,
        )
        requests = [
            request_cls(list_services=""),
            request_cls(file_containing_symbol="yrd.v1.Exchange"),
            request_cls(file_by_filename="yrd/v1/errors.proto"),
            request_cls(file_containing_symbol=REFLECTION_V1),
        ]
        async with asyncio.timeout(30):
            answers = [a async for a in call(iter(requests))]
    assert all(isinstance(a, response_cls) for a in answers) and len(answers) == 4
    listed = {s.name for s in answers[0].list_services_response.service}
    assert {
        "yrd.v1.Exchange",
        "yrd.v1.Audit",
        "yrd.v1.Matters",
        "yrd.v1.Identity",
        "grpc.health.v1.Health",
        REFLECTION_V1,
        "grpc.reflection.v1alpha.ServerReflection",
    } <= listed

    def files(answer) -> dict[str, descriptor_pb2.FileDescriptorProto]:
        protos = answer.file_descriptor_response.file_descriptor_proto
        parsed = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in protos]
        return {f.name: f for f in parsed}

    exchange = files(answers[1])
    assert "Exchange" in [s.name for s in exchange["yrd/v1/exchange.proto"].service]
    assert "yrd/v1/errors.proto" in exchange  # SubmitError.reason_code's enum comes along
    errors = files(answers[2])["yrd/v1/errors.proto"]
    assert [e.name for e in errors.enum_type] == ["ErrorReason"]
    v1 = files(answers[3])["grpc/reflection/v1/reflection.proto"]
    assert v1.package == "grpc.reflection.v1" and v1.service[0].name == "ServerReflection"
    assert all(".v1alpha." not in m.input_type for m in v1.service[0].method)


async def test_reflection_v1alpha_still_answers(gw):
    async with gw.client("JS") as client:
        stub = reflection_pb2_grpc.ServerReflectionStub(client.channel)
        async with asyncio.timeout(30):
            answers = [
                a
                async for a in stub.ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")])
                )
            ]
    listed = {s.name for s in answers[0].list_services_response.service}
    assert {REFLECTION_V1, "grpc.reflection.v1alpha.ServerReflection"} <= listed


async def test_health_list_answers_without_a_traceback(gw, caplog):
    caplog.set_level(logging.DEBUG)
    async with gw.client("JS") as client:
        stub = health_pb2_grpc.HealthStub(client.channel)
        got = await stub.List(health_pb2.HealthListRequest())
        check = await stub.Check(health_pb2.HealthCheckRequest(service="yrd.v1.Exchange"))
    serving = health_pb2.HealthCheckResponse.SERVING
    assert check.status == serving
    for name in ("", "yrd.v1.Exchange", "yrd.v1.Audit", "yrd.v1.Matters", "yrd.v1.Identity"):
        assert got.statuses[name].status == serving, name
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
