"""Finding 7: inputs that escaped precise refusal (UNKNOWN, tracebacks, lost reasons, 500s).

Every case runs against a real in-process gateway over mTLS; a refusal must name the check
(INVALID_ARGUMENT / ``malformed``), fit in its trailer, and write nothing.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from types import SimpleNamespace

import grpc
import pytest
from google.protobuf import timestamp_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.cases import Role
from gateway.exchange.core import member_proto
from gateway.exchange.envelopes import signed_envelope
from gateway.pb.yrd.v1 import audit_pb2, exchange_pb2
from gateway.rpc.status import reason_of
from ledger.crypto import sm3
from tests.adversarial.probes import written_rows
from tests.envelopes import dialect_envelope, status_update
from tests.gateway.harness import GatewayThread
from tests.web.helpers import sign_in

PASSWORD = "correct-horse-battery"

PAYLOAD = json.dumps(
    {"case_id": "SJ-2026-0001", "status": "accepted", "time": "2026-11-28T10:00:00+08:00",
     "note": None}
).encode()  # fmt: skip

# every method of every service the gateway serves, by full name and streaming shape
METHODS = {
    "/yrd.v1.Exchange/Submit": "unary_unary",
    "/yrd.v1.Exchange/SubmitStream": "stream_stream",
    "/yrd.v1.Exchange/GetReceipt": "unary_unary",
    "/yrd.v1.Exchange/Pull": "stream_stream",
    "/yrd.v1.Audit/GetCheckpoint": "unary_unary",
    "/yrd.v1.Audit/GetInclusionProof": "unary_unary",
    "/yrd.v1.Audit/GetConsistencyProof": "unary_unary",
    "/yrd.v1.Audit/GetAnchors": "unary_unary",
    "/yrd.v1.Matters/Resolve": "unary_unary",
    "/yrd.v1.Matters/List": "unary_unary",
    "/yrd.v1.Matters/Search": "unary_unary",
    "/yrd.v1.Matters/Compare": "unary_unary",
    "/yrd.v1.Matters/GetEvidence": "unary_unary",
    "/yrd.v1.Identity/Recognize": "unary_unary",
}
GARBAGE = b"\xff\xff\xff\xff\x0f not a protobuf"


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(
        tmp_path_factory.mktemp("input"),
    ).start()
    yield thread
    thread.stop()


def envelope_bytes(gw, **fields) -> bytes:
    values = {
        "exchange_id": str(uuid.uuid4()),
        "sender": member_proto(gw.env.member_id("SH")),
        "recipient": member_proto(gw.env.member_id("ZJ")),
        "kind": "case.status",
        "payload": PAYLOAD,
        "payload_digest": sm3(PAYLOAD),
        "dialect": "yrd-canonical/1",
        "payload_content_type": "application/json",
        "nonce": uuid.uuid4().bytes,
    }
    values.update(fields)
    return exchange_pb2.Envelope(**values).SerializeToString()


def signed(gw, raw: bytes) -> exchange_pb2.SignedEnvelope:
    key = gw.env.member_keys["SH"]
    return exchange_pb2.SignedEnvelope(
        envelope=raw, signature=key.sign(raw), key_id=key.public_key.key_id
    )


async def refused_malformed(gw, request, needle: str) -> str:
    before = written_rows(gw)
    async with gw.client("SH") as client:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await client.exchange.Submit(request, timeout=30)
    error = info.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (error.code(), error.details())
    assert reason_of(error) == "malformed"
    assert needle in error.details()
    assert written_rows(gw) == before, "a refusal must write nothing"
    return error.details()


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [(253_402_300_800, 0), (-62_135_596_801, 0), (2**62, 0), (1_700_000_000, 2_000_000_000)],
)
async def test_created_at_outside_timestamp_range_is_malformed(gw, seconds, nanos):
    raw = envelope_bytes(gw, created_at=timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos))
    await refused_malformed(gw, signed(gw, raw), "outside the protobuf Timestamp range")


async def test_kind_with_trailing_newline_is_malformed(gw):
    raw = envelope_bytes(
        gw, kind="case.status\n", created_at=timestamp_pb2.Timestamp(seconds=1_700_000_000)
    )
    await refused_malformed(gw, signed(gw, raw), "is not '<area>.<verb>'")


async def test_huge_echoed_value_keeps_the_reason(gw):
    raw = envelope_bytes(
        gw, kind="x" * 20_000, created_at=timestamp_pb2.Timestamp(seconds=1_700_000_000)
    )
    details = await refused_malformed(gw, signed(gw, raw), "chars)")
    assert len(details) < 1100


async def test_huge_dialect_is_refused_at_its_limit(gw):
    key = gw.env.member_keys["SH"]
    request = signed_envelope(
        key=key,
        sender=gw.env.member_id("SH"),
        recipient=gw.env.member_id("ZJ"),
        kind="case.status",
        matter="",
        payload=PAYLOAD,
        dialect="d" * 20_000,
        content_type="application/json",
    )
    before = written_rows(gw)
    async with gw.client("SH") as client:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await client.exchange.Submit(request, timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    assert reason_of(info.value) == "malformed"
    assert "dialect 'ddd" in info.value.details()
    assert "20000 characters, over the limit of 64" in info.value.details()
    assert len(info.value.details()) < 1100
    assert written_rows(gw) == before


async def test_envelope_bytes_that_do_not_decode_are_malformed(gw):
    await refused_malformed(gw, signed(gw, GARBAGE), "do not decode")


@pytest.mark.parametrize("method", sorted(METHODS))
async def test_raw_garbage_to_every_method_is_malformed_never_unknown(gw, method):
    before = written_rows(gw)
    async with gw.client("SH") as client:
        shape = METHODS[method]
        call = getattr(client.channel, shape)(method)  # identity serializers: raw bytes
        with pytest.raises(grpc.aio.AioRpcError) as info:
            if shape == "unary_unary":
                await call(GARBAGE, timeout=30)
            else:
                async with asyncio.timeout(60):
                    async for _ in call(iter([GARBAGE]), timeout=30):
                        pass
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (
        info.value.code(),
        info.value.details(),
    )
    assert reason_of(info.value) == "malformed"
    assert written_rows(gw) == before
    async with gw.client("SH") as client:
        health = health_pb2_grpc.HealthStub(client.channel)
        answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=30)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


async def test_submit_stream_reports_out_of_range_item_and_goes_on(gw):
    bad = signed(
        gw, envelope_bytes(gw, created_at=timestamp_pb2.Timestamp(seconds=253_402_300_800))
    )
    async with gw.client("SH") as client:
        good = status_update(client, gw.env, payload=PAYLOAD)
        results = await client.submit_many([bad, good])
    assert results[0].error.reason == "MALFORMED"
    assert "Timestamp range" in results[0].error.message
    assert results[1].receipt.tree_size >= 1


def test_compare_reference_date_past_the_calendar_is_400(tmp_path):
    web = GatewayThread(tmp_path).start()
    try:
        accounts = web.gateway.cases.accounts
        accounts.create("clerk", PASSWORD, role=Role.CLERK, display_name="c", city="suzhou")
        client = sign_in(web.http_url, "clerk", PASSWORD)
        try:
            ok = client.get(
                "/api/matters/200051200100/compare", params={"reference_date": "2026-09-30"}
            )
            assert ok.status_code == 200, ok.text
            response = client.get(
                "/api/matters/200051200100/compare", params={"reference_date": "9999-12-31"}
            )
        finally:
            client.close()
    finally:
        web.stop()
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["field"] == "reference_date"
    assert "9999-12-31" in error["message"]


@pytest.mark.parametrize(
    ("method", "request_"),
    [
        ("GetCheckpoint", audit_pb2.GetCheckpointRequest(tree_size=2**63)),
        ("GetInclusionProof", audit_pb2.GetInclusionProofRequest(leaf_index=2**64 - 1)),
        ("GetConsistencyProof", audit_pb2.GetConsistencyProofRequest(old_size=1, new_size=2**63)),
    ],
)
async def test_uint64_sizes_beyond_sqlite_are_malformed(gw, method, request_):
    async with gw.client("SH") as client:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await getattr(client.audit, method)(request_, timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    assert reason_of(info.value) == "malformed"
    assert "2^63-1" in info.value.details()


def test_serve_process_refuses_hostile_bytes_precisely_without_traceback(serve):
    """The production start path (``yrdgw serve`` from trust files) has the same guard."""
    proc = serve.start().wait_ready()
    env = serve.env
    cert = env.clients["SH"]
    credentials = grpc.ssl_channel_credentials(
        root_certificates=env.ca.cert_pem, private_key=cert.key_pem, certificate_chain=cert.cert_pem
    )
    key = env.member_keys["SH"]
    raw = exchange_pb2.Envelope(
        exchange_id=str(uuid.uuid4()),
        sender=member_proto(env.member_id("SH")),
        recipient=member_proto(env.member_id("ZJ")),
        kind="case.status",
        payload=PAYLOAD,
        payload_digest=sm3(PAYLOAD),
        dialect="yrd-canonical/1",
        created_at=timestamp_pb2.Timestamp(seconds=253_402_300_800),
        nonce=uuid.uuid4().bytes,
    ).SerializeToString()
    out_of_range = exchange_pb2.SignedEnvelope(
        envelope=raw, signature=key.sign(raw), key_id=key.public_key.key_id
    ).SerializeToString()
    with grpc.secure_channel(proc.target, credentials) as channel:
        submit = channel.unary_unary("/yrd.v1.Exchange/Submit")
        for request in (GARBAGE, out_of_range):
            with pytest.raises(grpc.RpcError) as info:
                submit(request, timeout=30)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
            assert reason_of(info.value) == "malformed"
    assert proc.healthz() == 200
    assert proc.terminate() == 0
    assert "Traceback" not in proc.stderr() + proc.stdout()


async def test_huge_payload_field_keeps_the_reason(gw):
    """A 20 KB value in a dialect field: the adapter's refusal echoes it clipped."""
    from gateway.dialects import default_dialects

    js = default_dialects().get("JS").codec
    case = {
        "case_id": "C-1",
        "matter_code": "010010300100",
        "applicant": {"person_key": "pk:js:0123456789abcdef", "masked_name": "王*明"},
        "handling_mode": "异地代收代办",
        "materials": [{"material_id": "M01", "name": "申请书", "digest_sm3": "ab" * 32}],
        "receiving_city": "苏州",
        "submitted_at": "2025-09-26T10:15:00+08:00",
    }
    body = json.loads(js.from_canonical("case.submit", case))
    body["handleMode"] = "Q" * 20_000
    before = written_rows(gw)
    async with gw.client("JS") as client:
        signed = dialect_envelope(client, gw.env, "SH", js, json.dumps(body).encode())
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await client.exchange.Submit(signed, timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    assert reason_of(info.value) == "normalisation_failed"
    assert "handleMode" in info.value.details() and "(20002 chars)" in info.value.details()
    assert len(info.value.details()) < 300
    assert written_rows(gw) == before


class _ExplodingAdapters:
    """Fault injection: a dialect catalogue whose codec fails unexpectedly."""

    def __init__(self, real) -> None:
        self.real = real

    def get(self, region):
        return self._exploding(self.real.get(region).codec)

    def by_dialect(self, name):
        return self._exploding(self.real.by_dialect(name).codec)

    @staticmethod
    def _exploding(real):
        class Exploding:
            dialect = real.dialect

            def to_canonical(self, kind, payload):
                raise RuntimeError("injected fault with secret detail")

        return SimpleNamespace(codec=Exploding())


async def test_unexpected_error_is_internal_logged_once_and_writes_nothing(gw, caplog):
    core = gw.gateway.core
    real = core.adapters
    core.adapters = _ExplodingAdapters(real)
    before = written_rows(gw)
    try:
        async with gw.client("SH") as client:
            signed = status_update(client, gw.env, payload=PAYLOAD)
            with caplog.at_level("ERROR", logger="gateway.grpc"):
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await client.exchange.Submit(signed, timeout=30)
    finally:
        core.adapters = real
    assert info.value.code() == grpc.StatusCode.INTERNAL, info.value.details()
    assert reason_of(info.value) == "internal"
    assert "RuntimeError" in info.value.details()
    assert "secret detail" not in info.value.details()
    records = [r for r in caplog.records if r.name == "gateway.grpc" and r.exc_info]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert "injected fault" in str(records[0].exc_info[1])
    assert written_rows(gw) == before


async def test_pull_ack_that_does_not_decode_ends_the_stream_as_malformed(gw):
    first = exchange_pb2.PullMessage(
        request=exchange_pb2.PullRequest(member=member_proto(gw.env.member_id("SH")))
    ).SerializeToString()
    async with gw.client("SH") as client:
        call = client.channel.stream_stream("/yrd.v1.Exchange/Pull")(iter([first, GARBAGE]))
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async with asyncio.timeout(60):
                async for _ in call:
                    pass
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    assert reason_of(info.value) == "malformed"


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"matter_ref": "310117000000\n"}, "matter_ref '310117000000\\n'"),
        ({"matter_ref": "m" * 20_000}, "matter_ref 'mmm"),
        ({"matter_ref": "a b"}, "without spaces"),
        ({"payload_content_type": "application/json\r\nX: y"}, "payload_content_type"),
        ({"payload_content_type": "t" * 5000}, "payload_content_type"),
    ],
)
async def test_matter_and_content_type_are_well_formed(gw, fields, needle):
    raw = envelope_bytes(gw, created_at=timestamp_pb2.Timestamp(seconds=1_700_000_000), **fields)
    details = await refused_malformed(gw, signed(gw, raw), needle)
    assert len(details) < 400
