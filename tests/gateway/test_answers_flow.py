"""Requests and answers through a real gateway: every answer is a logged exchange that names
its request in ``in_reply_to`` and reaches the requester, and the request's status shows it.

SH and AH pull; JS and ZJ are push-mode members answered by their simulators on loopback.

- a PULL recipient (SH) answers with its own signed exchange; the requester (AH) gets it on
  its pull stream, and WatchStatus shows accepted -> delivered -> answered;
- a PUSH recipient's HTTP answer (ZJ to a ``case.submit``, JS to a ``matter.lookup``) becomes
  an exchange from that member, signed by the gateway's attestation key, ``in_reply_to`` set,
  delivered to the requester SH on its pull stream;
- a pull recipient's REJECTED ack and a push member's 4xx make the request FAILED, refused
  by the partner, with the partner's reason in ``detail``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from gateway.dialects.catalogue import default_dialects
from gateway.dialects.simulator import ANSWERS
from gateway.exchange.answers import answer_exchange_id, verify_relayed_envelope
from gateway.exchange.entry import decode_entry
from gateway.pb.yrd.v1 import exchange_pb2
from ledger.receipt import verify_receipt
from tests.envelopes import CANONICAL, status_payload, status_update
from tests.gateway.test_adapter_flow import Simulators, js_payload, push_gateway

X = exchange_pb2
MATTER = "010010300100"  # 公司登记, known to every simulator's catalogue


@pytest.fixture(scope="module")
def sims():
    yield from Simulators.serving("JS", "ZJ")


@pytest.fixture(scope="module")
def gw(tmp_path_factory, sims):
    thread = push_gateway(tmp_path_factory.mktemp("answers"), sims).start()
    yield thread
    thread.stop()


def envelope_of(signed: X.SignedEnvelope) -> X.Envelope:
    return X.Envelope.FromString(signed.envelope)


def ah_status(
    client, gw, to: str, case_id: str, status: str = "received", **kw
) -> X.SignedEnvelope:
    """A ``case.status`` from Anhui in Anhui's own dialect (GB18030 JSON)."""
    codec = default_dialects().get("AH").codec
    return client.build(
        recipient=gw.env.member_id(to),
        kind="case.status",
        payload=codec.from_canonical("case.status", json.loads(status_payload(case_id, status))),
        dialect=codec.dialect,
        content_type=codec.content_type,
        **kw,
    )


async def take(
    gw,
    region: str,
    wanted: Callable[[X.Envelope], bool],
    outcome: int = X.ACK_OUTCOME_ACCEPTED,
    reason: str = "",
) -> X.Delivery:
    """Pull ``region``'s deliveries until one ``wanted``; ack it with ``outcome`` (the others
    ACCEPTED)."""
    async with gw.client(region) as client:
        async with asyncio.timeout(30), client.pull() as deliveries:
            async for delivery in deliveries:
                if wanted(envelope_of(delivery.envelope)):
                    await deliveries.ack(delivery, outcome, reason)
                    return delivery
                await deliveries.ack(delivery)
    raise AssertionError("the pull stream ended")


async def status(gw, region: str, exchange_id: str) -> X.ExchangeStatus:
    async with gw.client(region) as client:
        return await client.exchange.GetStatus(X.GetStatusRequest(exchange_id=exchange_id))


async def until_state(gw, region: str, exchange_id: str, state: int) -> X.ExchangeStatus:
    async def poll() -> X.ExchangeStatus:
        while True:
            got = await status(gw, region, exchange_id)
            if got.state == state:
                return got
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), 30)


async def next_state(call, state: int) -> X.ExchangeStatus:
    """Read a WatchStatus stream until a message in ``state``."""
    async with asyncio.timeout(30):
        while True:
            got = await call.read()
            assert got is not None, "the watch ended"
            if got.state == state:
                return got


async def test_a_pull_recipient_answers_with_its_own_exchange(gw):
    async with gw.client("AH") as ah:
        request = ah_status(ah, gw, "SH", "C-PULL-1")
        await ah.submit(request)
        request_id = envelope_of(request).exchange_id
        watch = ah.exchange.WatchStatus(X.WatchStatusRequest(exchange_ids=[request_id]))
        seen = [await next_state(watch, X.EXCHANGE_STATE_ACCEPTED)]
        assert seen[0].expects_answer and seen[0].kind == "case.status"

        await take(gw, "SH", lambda e: e.exchange_id == request_id)
        seen.append(await next_state(watch, X.EXCHANGE_STATE_DELIVERED))
        assert seen[-1].HasField("delivered_at")

        async with gw.client("SH") as sh:
            answer = sh.build(
                recipient=gw.env.member_id("AH"),
                kind="case.status",
                payload=status_payload("C-PULL-1", "accepted"),
                dialect=CANONICAL,
                in_reply_to=request_id,
            )
            receipt = await sh.submit(answer)
        answer_id = envelope_of(answer).exchange_id
        seen.append(await next_state(watch, X.EXCHANGE_STATE_ANSWERED))
        watch.cancel()
    assert seen[-1].answer_exchange_id == answer_id
    entry = decode_entry(verify_receipt(json.loads(receipt.receipt_json), gw.trust).entry)
    assert entry["v"] == 2 and entry["in_reply_to"] == request_id
    assert gw.gateway.store.exchange(answer_id).in_reply_to == request_id
    # the requester, a pull member, gets the answer on its pull stream
    got = await take(gw, "AH", lambda e: e.exchange_id == answer_id)
    assert envelope_of(got.envelope).in_reply_to == request_id
    # a request logs "" as in_reply_to
    assert (
        decode_entry(gw.gateway.log.entry(gw.gateway.store.exchange(request_id).leaf_index))[
            "in_reply_to"
        ]
        == ""
    )


async def test_a_push_recipients_case_status_answer_is_an_exchange_to_the_requester(gw, sims):
    canonical = (
        default_dialects()
        .get("JS")
        .codec.to_canonical("case.submit", js_payload(caseNo="G60-SH-2026-000777"))
    )
    async with gw.client("SH") as sh:
        request = sh.build(
            recipient=gw.env.member_id("ZJ"),
            kind="case.submit",
            matter=MATTER,
            payload=json.dumps(canonical, ensure_ascii=False).encode(),
            dialect=CANONICAL,
        )
        await sh.submit(request)
    request_id = envelope_of(request).exchange_id

    done = await until_state(gw, "SH", request_id, X.EXCHANGE_STATE_ANSWERED)
    assert done.answer_exchange_id == answer_exchange_id(request_id)
    assert done.HasField("delivered_at") and done.attempts == 1
    row = gw.gateway.store.exchange(done.answer_exchange_id)
    assert (row.kind, row.in_reply_to) == ("case.status", request_id)
    assert (row.sender, row.recipient) == (gw.env.member_id("ZJ"), gw.env.member_id("SH"))
    assert json.loads(row.canonical)["case_id"] == "G60-SH-2026-000777"
    assert json.loads(row.canonical)["status"] == "accepted"

    got = await take(gw, "SH", lambda e: e.exchange_id == done.answer_exchange_id)
    envelope = verify_relayed_envelope(gw.gateway.registry.require(), got.envelope)
    assert envelope.in_reply_to == request_id and envelope.kind == "case.status"
    assert got.envelope.key_id == gw.env.attestation_key.public_key.key_id
    # the relayed answer is an answer: its own push or pull never makes another
    assert gw.gateway.store.answer_to(done.answer_exchange_id) is None


async def test_a_push_recipients_matter_answer_is_logged(gw):
    async with gw.client("SH") as sh:
        request = sh.build(
            recipient=gw.env.member_id("JS"),
            kind="matter.lookup",
            payload=json.dumps({"matter_code": MATTER}).encode(),
            dialect=CANONICAL,
            matter=MATTER,
        )
        await sh.submit(request)
    request_id = envelope_of(request).exchange_id
    done = await until_state(gw, "SH", request_id, X.EXCHANGE_STATE_ANSWERED)
    row = gw.gateway.store.exchange(done.answer_exchange_id)
    assert (row.kind, row.in_reply_to, row.sender) == ("matter", request_id, gw.env.member_id("JS"))
    assert json.loads(row.canonical)["basic_code"] == MATTER
    got = await take(gw, "SH", lambda e: e.exchange_id == done.answer_exchange_id)
    assert envelope_of(got.envelope).kind == "matter"


async def test_a_rejected_pull_ack_fails_the_request_as_refused_by_partner(gw):
    async with gw.client("AH") as ah:
        request = ah_status(ah, gw, "SH", "C-REJ-1")
        await ah.submit(request)
    request_id = envelope_of(request).exchange_id
    await take(
        gw, "SH", lambda e: e.exchange_id == request_id, X.ACK_OUTCOME_REJECTED, "no such case"
    )
    failed = await until_state(gw, "AH", request_id, X.EXCHANGE_STATE_FAILED)
    assert failed.failure == X.FAILURE_REASON_REFUSED_BY_PARTNER
    assert failed.detail == "no such case" and not failed.HasField("delivered_at")


async def test_a_push_4xx_fails_the_request_as_refused_by_partner(gw):
    async with gw.client("SH") as sh:  # Zhejiang knows no case C-NONE: 404 no_case
        request = status_update(sh, gw.env, to="ZJ", payload=status_payload("C-NONE"))
        await sh.submit(request)
    request_id = envelope_of(request).exchange_id
    failed = await until_state(gw, "SH", request_id, X.EXCHANGE_STATE_FAILED)
    assert failed.failure == X.FAILURE_REASON_REFUSED_BY_PARTNER
    assert "http 404" in failed.detail and "no_case" in failed.detail
    assert not failed.answer_exchange_id


async def test_watching_with_no_ids_follows_what_the_caller_sends_from_now_on(gw):
    async with gw.client("SH") as sh:
        watch = sh.exchange.WatchStatus(X.WatchStatusRequest())
        await asyncio.sleep(0.3)  # the watch is open before the exchange is sent
        request = status_update(sh, gw.env, to="AH", payload=status_payload("C-WATCH-1"))
        await sh.submit(request)
        first = await next_state(watch, X.EXCHANGE_STATE_ACCEPTED)
        watch.cancel()
    assert first.exchange_id == envelope_of(request).exchange_id


async def test_a_push_requester_gets_its_answer_pushed_with_in_reply_to(gw, sims):
    """Zhejiang (push) asks Jiangsu (push) for a matter: Jiangsu's HTTP answer becomes an
    exchange from Jiangsu, pushed to Zhejiang's system in Zhejiang's dialect with the
    headers naming it and the request it answers; both statuses say so."""
    codec = default_dialects().get("ZJ").codec
    lookup = {"matter_code": MATTER}
    async with gw.client("ZJ") as zj:
        request = zj.build(
            recipient=gw.env.member_id("JS"),
            kind="matter.lookup",
            payload=codec.from_canonical("matter.lookup", lookup),
            dialect=codec.dialect,
            content_type=codec.content_type,
            matter=MATTER,
        )
        await zj.submit(request)
    request_id = envelope_of(request).exchange_id
    done = await until_state(gw, "ZJ", request_id, X.EXCHANGE_STATE_ANSWERED)
    answer = await until_state(gw, "ZJ", done.answer_exchange_id, X.EXCHANGE_STATE_DELIVERED)
    assert answer.kind == "matter"
    got = [a for a in sims.apps["ZJ"][ANSWERS] if a[1] == request_id]
    assert len(got) == 1
    kind, _, canonical = got[0]
    assert kind == "matter" and canonical["basic_code"] == MATTER
    # what reached Zhejiang is the delivered bytes of the logged answer, in its dialect
    row = gw.gateway.store.exchange(done.answer_exchange_id)
    assert row.delivered_dialect == codec.dialect
    assert any(body == row.delivered for _, _, body in sims.received["ZJ"])
