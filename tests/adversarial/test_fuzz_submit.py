"""Hypothesis fuzzing of Submit against a real gateway over mTLS (issue 11, Must show).

Every ``Envelope`` field (and the ``SignedEnvelope`` key id and signature) takes arbitrary
values, the envelope correctly signed by a registered member; and arbitrary raw bytes go to
Submit through a channel with identity serializers. For every input the gateway:

- never answers ``UNKNOWN`` (nor any status outside the refusal table);
- writes nothing when it refuses (log leaves, exchanges and nonce rows are read back);
- stays healthy (gRPC health ``SERVING`` afterwards).
"""

from __future__ import annotations

import json
import time
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.errors import REASON_CODES
from gateway.exchange.core import member_proto
from gateway.pb.yrd.v1 import common_pb2, exchange_pb2, exchange_pb2_grpc
from ledger.crypto import sm3
from tests.adversarial.probes import member_channel, written_rows
from tests.gateway.harness import GatewayThread

PAYLOAD = json.dumps(
    {"case_id": "SJ-2026-0001", "status": "accepted", "time": "2026-11-28T10:00:00+08:00",
     "note": None}
).encode()  # fmt: skip
REFUSAL_CODES = set(REASON_CODES.values())
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

int64 = st.integers(-(2**63), 2**63 - 1)
int32 = st.integers(-(2**31), 2**31 - 1)
texts = st.one_of(
    st.text(max_size=40),
    st.text(max_size=40).map(lambda t: t + "\n"),
    st.text(min_size=3000, max_size=6000),  # long enough that an echo would overflow
    st.sampled_from(["case.status", "case.status\n", "", "a.b", "A.B", "x" * 20_000]),
)
blobs = st.one_of(st.binary(max_size=64), st.binary(min_size=1000, max_size=4000))


def members() -> st.SearchStrategy[common_pb2.MemberId]:
    return st.builds(
        common_pb2.MemberId,
        region=st.one_of(st.sampled_from([0, 1, 2, 3, 4]), st.integers(5, 2**31 - 1)),
        org_code=st.one_of(texts, st.just("1131000000YRD00016"), st.just("1131000000yrd00016")),
        subsystem=texts,
    )


# each field: either left valid (None) or replaced by an arbitrary value
FIELDS = {
    "exchange_id": st.one_of(texts, st.uuids().map(lambda u: str(u).upper())),
    "sender": members(),
    "recipient": members(),
    "kind": texts,
    "matter_ref": texts,
    "payload": blobs,
    "payload_digest": blobs,
    "payload_content_type": texts,
    "dialect": texts,
    "created_at": st.builds(lambda s, n: {"seconds": s, "nanos": n}, int64, int32),
    "nonce": blobs,
}
SIGNED_FIELDS = {"key_id": texts, "signature": blobs}


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(tmp_path_factory.mktemp("fuzz"), max_payload_bytes=64 * 1024).start()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def channel(gw):
    yield from member_channel(gw, "SH")


def base_fields(gw) -> dict:
    return {
        "exchange_id": str(uuid.uuid4()),
        "sender": member_proto(gw.env.member_id("SH")),
        "recipient": member_proto(gw.env.member_id("ZJ")),
        "kind": "case.status",
        "matter_ref": "",
        "payload": PAYLOAD,
        "payload_digest": sm3(PAYLOAD),
        "payload_content_type": "application/json",
        "dialect": "yrd-canonical/1",
        "created_at": {"seconds": int(time.time()), "nanos": 0},
        "nonce": uuid.uuid4().bytes,
    }


def check_answer(gw, call, request) -> None:
    """One call: a refusal from the table writing nothing, or an OK that wrote one entry."""
    before = written_rows(gw)
    try:
        call(request, timeout=30)
    except grpc.RpcError as error:
        assert error.code() != grpc.StatusCode.UNKNOWN, error.details()
        assert error.code() in REFUSAL_CODES, (error.code(), error.details())
        assert error.code() != grpc.StatusCode.INTERNAL, error.details()
        assert written_rows(gw) == before, f"a refusal wrote: {error.code()} {error.details()}"
        return
    after = written_rows(gw)
    assert after[1] - before[1] in (0, 1), (before, after)  # new, or an idempotent retry


def assert_serving(channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    answer = health.Check(health_pb2.HealthCheckRequest(), timeout=30)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_every_envelope_field_fuzzed(gw, channel):
    submit = exchange_pb2_grpc.ExchangeStub(channel).Submit
    key = gw.env.member_keys["SH"]

    @SETTINGS
    @given(
        replaced=st.fixed_dictionaries({}, optional=FIELDS),
        signed_replaced=st.fixed_dictionaries({}, optional=SIGNED_FIELDS),
    )
    def run(replaced, signed_replaced):
        fields = {**base_fields(gw), **replaced}
        created = fields.pop("created_at")
        envelope = exchange_pb2.Envelope(**fields)
        envelope.created_at.seconds = created["seconds"]
        envelope.created_at.nanos = created["nanos"]
        raw = envelope.SerializeToString()
        signed = {"envelope": raw, "signature": key.sign(raw), "key_id": key.public_key.key_id}
        signed.update(signed_replaced)
        check_answer(gw, submit, exchange_pb2.SignedEnvelope(**signed))

    run()
    assert_serving(channel)


def test_arbitrary_envelope_bytes_correctly_signed(gw, channel):
    submit = exchange_pb2_grpc.ExchangeStub(channel).Submit
    key = gw.env.member_keys["SH"]

    @SETTINGS
    @given(raw=st.one_of(st.binary(max_size=512), st.binary(min_size=2000, max_size=8000)))
    def run(raw):
        signed = exchange_pb2.SignedEnvelope(
            envelope=raw, signature=key.sign(raw), key_id=key.public_key.key_id
        )
        check_answer(gw, submit, signed)

    run()
    assert_serving(channel)


def test_raw_bytes_to_submit(gw, channel):
    submit = channel.unary_unary("/yrd.v1.Exchange/Submit")  # identity serializers

    @SETTINGS
    @given(raw=st.one_of(st.binary(max_size=512), st.binary(min_size=2000, max_size=8000)))
    def run(raw):
        check_answer(gw, submit, raw)

    run()
    assert_serving(channel)
