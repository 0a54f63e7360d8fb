"""Every answer the gateway must refuse is refused with its reason and writes nothing; status
is for the parties of an exchange only; a push given up is FAILED, undeliverable.

A real gateway on loopback (every region pulls, so no simulator is needed): AH asks SH with a
``case.status``; answers come from SH with ``in_reply_to``.
"""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from gateway.pb.yrd.v1 import exchange_pb2 as X
from gateway.rpc.status import reason_of
from tests.adversarial.probes import written_rows
from tests.envelopes import CANONICAL, status_payload, status_update
from tests.gateway.harness import GatewayThread
from tests.gateway.test_answers_flow import ah_status, envelope_of, until_state


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(tmp_path_factory.mktemp("answer-refusals")).start()
    yield thread
    thread.stop()


async def ask(gw, case_id: str) -> str:
    """AH asks SH (a ``case.status``); the request's exchange id."""
    async with gw.client("AH") as ah:
        request = ah_status(ah, gw, "SH", case_id)
        await ah.submit(request)
    return envelope_of(request).exchange_id


def answer(client, gw, in_reply_to: str, *, to: str = "AH", kind: str = "case.status"):
    return client.build(
        recipient=gw.env.member_id(to),
        kind=kind,
        payload=status_payload("C-R", "accepted"),
        dialect=CANONICAL,
        in_reply_to=in_reply_to,
    )


async def refused(gw, region: str, signed, code: grpc.StatusCode, reason: str) -> str:
    before = written_rows(gw)
    async with gw.client(region) as client:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await client.submit(signed)
    assert (info.value.code(), reason_of(info.value)) == (code, reason), info.value.details()
    assert written_rows(gw) == before, "a refused answer wrote something"
    return info.value.details()


async def test_malformed_and_unknown_requests_are_refused(gw):
    async with gw.client("SH") as sh:
        for bad in ("not-a-uuid", str(uuid.uuid4()).upper(), " " + str(uuid.uuid4())):
            await refused(
                gw, "SH", answer(sh, gw, bad), grpc.StatusCode.INVALID_ARGUMENT, "malformed"
            )
        details = await refused(
            gw, "SH", answer(sh, gw, str(uuid.uuid4())), grpc.StatusCode.NOT_FOUND,
            "unknown_request",
        )  # fmt: skip
    assert "no logged exchange" in details


async def test_an_answer_must_match_its_request(gw):
    request_id = await ask(gw, "C-MISMATCH")
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    async with gw.client("ZJ") as zj:  # a bystander answering
        await refused(gw, "ZJ", answer(zj, gw, request_id), invalid, "answer_mismatch")
    async with gw.client("SH") as sh:
        # to someone other than the requester
        await refused(gw, "SH", answer(sh, gw, request_id, to="ZJ"), invalid, "answer_mismatch")
        # not the answer kind of case.status
        details = await refused(
            gw, "SH", answer(sh, gw, request_id, kind="evidence.response"), invalid,
            "answer_mismatch",
        )  # fmt: skip
        assert "case.status" in details and "evidence.response" in details
    async with gw.client("AH") as ah:  # the requester answering itself
        signed = answer(ah, gw, request_id, to="SH")
        await refused(gw, "AH", signed, invalid, "answer_mismatch")


async def test_a_request_has_one_answer_and_an_answer_none(gw):
    request_id = await ask(gw, "C-ONCE")
    async with gw.client("SH") as sh:
        first = answer(sh, gw, request_id)
        await sh.submit(first)
        await sh.submit(first)  # the same bytes again: idempotent, not a second answer
        await refused(
            gw, "SH", answer(sh, gw, request_id), grpc.StatusCode.ALREADY_EXISTS,
            "already_answered",
        )  # fmt: skip
    async with gw.client("AH") as ah:  # an answer is not a request
        signed = ah_status(ah, gw, "SH", "C-ONCE", in_reply_to=envelope_of(first).exchange_id)
        await refused(gw, "AH", signed, grpc.StatusCode.INVALID_ARGUMENT, "answer_mismatch")


async def test_of_two_concurrent_answers_exactly_one_is_written(gw):
    for attempt in range(5):
        request_id = await ask(gw, f"C-RACE-{attempt}")
        before = written_rows(gw)
        async with gw.client("SH") as sh:
            answers = [answer(sh, gw, request_id) for _ in range(2)]
            outcomes = await asyncio.gather(
                *(sh.submit(a) for a in answers), return_exceptions=True
            )
        receipts = [o for o in outcomes if isinstance(o, X.Receipt)]
        errors = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
        assert len(receipts) == 1 and len(errors) == 1, outcomes
        assert reason_of(errors[0]) == "already_answered"
        assert written_rows(gw) == tuple(n + 1 for n in before)
        assert gw.gateway.store.answer_to(request_id).exchange_id == receipts[0].exchange_id


async def test_status_is_for_the_parties_only(gw):
    request_id = await ask(gw, "C-STATUS")
    async with gw.client("SH") as sh:  # the recipient may look
        got = await sh.exchange.GetStatus(X.GetStatusRequest(exchange_id=request_id))
        assert got.state == X.EXCHANGE_STATE_ACCEPTED and got.expects_answer
    async with gw.client("ZJ") as zj:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await zj.exchange.GetStatus(X.GetStatusRequest(exchange_id=request_id))
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert reason_of(info.value) == "not_permitted"
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await zj.exchange.GetStatus(X.GetStatusRequest(exchange_id=str(uuid.uuid4())))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        watch = zj.exchange.WatchStatus(X.WatchStatusRequest(exchange_ids=[request_id]))
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await asyncio.wait_for(watch.read(), 30)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        too_many = [str(uuid.uuid4()) for _ in range(1001)]
        watch = zj.exchange.WatchStatus(X.WatchStatusRequest(exchange_ids=too_many))
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await asyncio.wait_for(watch.read(), 30)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert reason_of(info.value) == "malformed"


async def test_a_push_given_up_is_failed_undeliverable(tmp_path):
    gw = GatewayThread(
        tmp_path,
        pull_regions=("SH", "JS", "AH"),
        endpoints={"ZJ": "http://127.0.0.1:9"},  # nothing listens there
        push_backoff_seconds=0.05,
        push_backoff_max_seconds=0.1,
        push_max_attempts=2,
    ).start()
    try:
        async with gw.client("SH") as sh:
            request = status_update(sh, gw.env, to="ZJ")
            await sh.submit(request)
        failed = await until_state(
            gw, "SH", envelope_of(request).exchange_id, X.EXCHANGE_STATE_FAILED
        )
        assert failed.failure == X.FAILURE_REASON_UNDELIVERABLE and failed.attempts == 2
        assert failed.detail.startswith("gave up after 2 attempts")
    finally:
        gw.stop()
