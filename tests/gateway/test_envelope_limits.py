"""Every Envelope and SignedEnvelope field has a limit, checked before anything is written
(``gateway.exchange.limits``), so no field can make a receipt or a delivery outgrow a gRPC
message (issue 13: a 1 MiB ``matter_ref`` was committed, then blocked the recipient's pull).

On a real gateway over mTLS: one value just over each limit is refused ``malformed`` naming
the field and the limit, writing nothing; values at the limits are accepted; the largest
envelope the gateway takes is delivered over Pull with a bounded overhead. The proto's field
comments state the same limits.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway.exchange import limits
from gateway.exchange.core import member_proto
from gateway.pb.yrd.v1 import common_pb2, exchange_pb2
from gateway.rpc.status import reason_of
from gateway.times import to_timestamp, utc_now
from ledger.crypto import sm3
from tests.adversarial.probes import written_rows
from tests.envelopes import CANONICAL, status_payload
from tests.gateway.harness import GatewayThread

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60
PAYLOAD = status_payload()


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(tmp_path_factory.mktemp("limits")).start()  # default 1 MiB payload
    yield thread
    thread.stop()


def envelope(gw, **fields: Any) -> exchange_pb2.Envelope:
    payload = fields.pop("payload", PAYLOAD)
    values: dict[str, Any] = {
        "exchange_id": str(uuid.uuid4()),
        "sender": member_proto(gw.env.member_id("SH")),
        "recipient": member_proto(gw.env.member_id("ZJ")),
        "kind": "case.status",
        "payload": payload,
        "payload_digest": sm3(payload),
        "dialect": CANONICAL,
        "payload_content_type": "application/json",
        "created_at": to_timestamp(utc_now()),
        "nonce": uuid.uuid4().bytes,
    }
    values.update(fields)
    return exchange_pb2.Envelope(**values)


def signed(gw, env: exchange_pb2.Envelope, **fields: Any) -> exchange_pb2.SignedEnvelope:
    raw = env.SerializeToString()
    key = gw.env.member_keys["SH"]
    values = {"envelope": raw, "signature": key.sign(raw), "key_id": key.public_key.key_id}
    return exchange_pb2.SignedEnvelope(**(values | fields))


def _member(gw, region: str, **changes: str) -> common_pb2.MemberId:
    member = member_proto(gw.env.member_id(region))
    for name, value in changes.items():
        setattr(member, name, value)
    return member


# field -> (envelope fields or signed fields, words the refusal must contain)
OVER = {
    "exchange_id": (lambda gw: {"exchange_id": str(uuid.uuid4()) + "0"},
                    "exchange_id must be a lower-case canonical uuid of 36 characters, got 37"),
    "sender.org_code": (lambda gw: {"sender": _member(gw, "SH", org_code="9" * 19)},
                        "sender.org_code must be 18 characters (GB 32100), got 19"),
    "recipient.subsystem": (lambda gw: {"recipient": _member(gw, "ZJ", subsystem="s" * 65)},
                            "recipient.subsystem must be 1-64 characters, got 65"),
    "kind": (lambda gw: {"kind": "case." + "s" * 60},
             "is 65 characters, over the limit of 64 characters"),
    "matter_ref": (lambda gw: {"matter_ref": "M" * 65},
                   "is 65 characters, over the limit of 64 characters"),
    "payload_digest": (lambda gw: {"payload_digest": bytes(33)},
                       "payload_digest must be 32 bytes of sm3, got 33"),
    "payload_content_type": (lambda gw: {"payload_content_type": "t" * 129},
                             "at most 128 printable ascii characters"),
    "dialect": (lambda gw: {"dialect": "d" * 65},
                "is 65 characters, over the limit of 64 characters"),
    "nonce": (lambda gw: {"nonce": bytes(17)}, "nonce must be 16 bytes, got 17"),
    "in_reply_to": (lambda gw: {"in_reply_to": "r" * 37},
                    "in_reply_to must be a lower-case canonical uuid of 36 characters, got 37"),
    "in_reply_to-form": (lambda gw: {"in_reply_to": str(uuid.uuid4()).upper()},
                         "in_reply_to must be a lower-case canonical uuid"),
}  # fmt: skip
SIGNED_OVER = {
    "signature": ({"signature": bytes(73)}, "signature is 73 bytes, over the limit of 72 bytes"),
    "key_id": ({"key_id": "a" * 65}, "is 65 characters, over the limit of 64 characters"),
}


async def refused_malformed(gw, request: exchange_pb2.SignedEnvelope) -> str:
    before = written_rows(gw)
    async with gw.client("SH") as client:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await client.exchange.Submit(request, timeout=30)
    error = info.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (error.code(), error.details())
    assert reason_of(error) == "malformed", error.details()
    assert written_rows(gw) == before, "a refusal must write nothing"
    return error.details()


@pytest.mark.parametrize("field", sorted(OVER))
async def test_an_envelope_field_over_its_limit_is_refused_naming_it(gw, field):
    make, words = OVER[field]
    details = await refused_malformed(gw, signed(gw, envelope(gw, **make(gw))))
    assert words in details
    assert field.split("-")[0].split(".")[0] in details


@pytest.mark.parametrize("field", sorted(SIGNED_OVER))
async def test_a_signed_envelope_field_over_its_limit_is_refused_naming_it(gw, field):
    changes, words = SIGNED_OVER[field]
    details = await refused_malformed(gw, signed(gw, envelope(gw), **changes))
    assert words in details and field in details


async def test_the_largest_envelope_is_accepted_and_delivered_with_bounded_overhead(gw):
    """Payload at the limit (1 MiB), content type at 128 characters: accepted, the receipt is
    a few KiB, and the Delivery is the two payloads plus a bounded rest."""
    limit = gw.settings.max_payload_bytes
    head = json.dumps(
        {"case_id": "C-MAX", "status": "received", "time": "2026-11-28T10:00:00+08:00"}
    )[:-1]
    filler = limit - len(head) - len(', "note": ""}')
    payload = (head + ', "note": "' + "n" * filler + '"}').encode()
    assert len(payload) == limit
    content_type = "application/json; x=" + "y" * (limits.CONTENT_TYPE_MAX - 20)
    env = envelope(gw, payload=payload, payload_content_type=content_type)
    request = signed(gw, env)
    assert request.ByteSize() < limit + 64 * 1024  # within the gRPC receive limit
    async with gw.client("SH") as client:
        receipt = await client.submit(request)
    assert receipt.ByteSize() < 16 * 1024
    async with (
        asyncio.timeout(DEADLINE),
        gw.client("ZJ") as recipient,
        recipient.pull() as deliveries,
    ):
        async for delivery in deliveries:
            await deliveries.ack(delivery)
            if delivery.envelope.envelope == request.envelope:
                break
    rest = delivery.ByteSize() - len(env.payload) - len(delivery.payload)
    assert rest < limits.ENVELOPE_OVERHEAD + 16 * 1024, rest


def test_the_envelope_overhead_bounds_every_field_at_its_limit():
    """All non-payload fields at their limits (with multi-byte characters where allowed)
    serialise within ENVELOPE_OVERHEAD."""
    member = common_pb2.MemberId(
        region=common_pb2.REGION_SH, org_code="9" * limits.ORG_CODE_LEN,
        subsystem="s" * limits.SUBSYSTEM_MAX,
    )  # fmt: skip
    env = exchange_pb2.Envelope(
        exchange_id=str(uuid.uuid4()),
        sender=member,
        recipient=member,
        kind="k." + "k" * (limits.KIND_MAX - 2),
        matter_ref="事" * limits.MATTER_REF_MAX,
        payload_digest=bytes(limits.DIGEST_LEN),
        payload_content_type="t" * limits.CONTENT_TYPE_MAX,
        dialect="d" * limits.DIALECT_MAX,
        created_at=to_timestamp(utc_now()),
        nonce=bytes(limits.NONCE_LEN),
        in_reply_to=str(uuid.uuid4()),
    )
    assert env.ByteSize() < limits.ENVELOPE_OVERHEAD // 4


def _comment_of(proto: str, message: str, field: str) -> str:
    body = proto.split(f"message {message} {{", 1)[1].split("\n}", 1)[0]
    lines = body.splitlines()
    at = next(i for i, line in enumerate(lines) if re.search(rf"\s{field} = \d+;", line))
    comment = []
    for line in reversed(lines[:at]):
        if not line.strip().startswith("//"):
            break
        comment.append(line.strip()[2:])
    return " ".join(" ".join(reversed(comment)).split())


@pytest.mark.parametrize(
    ("message", "field", "limit"),
    [
        ("Envelope", "exchange_id", f"{limits.EXCHANGE_ID_LEN} characters"),
        ("Envelope", "sender", f"org_code: {limits.ORG_CODE_LEN} characters"),
        ("Envelope", "kind", f"1-{limits.KIND_MAX} characters"),
        ("Envelope", "matter_ref", f"at most {limits.MATTER_REF_MAX} characters"),
        ("Envelope", "payload", "max_payload_bytes"),
        ("Envelope", "payload_digest", f"exactly {limits.DIGEST_LEN} bytes"),
        ("Envelope", "payload_content_type", f"at most {limits.CONTENT_TYPE_MAX}"),
        ("Envelope", "dialect", f"at most {limits.DIALECT_MAX}"),
        ("Envelope", "nonce", f"Exactly {limits.NONCE_LEN} random bytes"),
        ("Envelope", "in_reply_to", f"{limits.EXCHANGE_ID_LEN} characters"),
        ("SignedEnvelope", "envelope", "8 KiB"),
        ("SignedEnvelope", "signature", f"at most {limits.SIGNATURE_MAX} bytes"),
        ("SignedEnvelope", "key_id", f"{limits.KEY_ID_MAX} characters"),
    ],
)
def test_the_proto_states_each_limit(message, field, limit):
    proto = (ROOT / "protos" / "yrd" / "v1" / "exchange.proto").read_text("utf-8")
    assert limit in _comment_of(proto, message, field)
