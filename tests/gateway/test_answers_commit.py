"""The one commit path keeps a request to one answer, and the relay logs a push member's
answer of every request kind through it (a real log and store in a temporary file)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from gateway.errors import Refusal
from gateway.exchange.answers import AnswerMismatch, AnswerRelay, answer_exchange_id
from gateway.exchange.commit import ExchangeCommitter, VerifiedExchange
from gateway.exchange.entry import decode_entry
from gateway.exchange.envelopes import signed_envelope
from gateway.exchange.store import GatewayStore
from gateway.exchange.unit import ExchangeWriter
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import DEV_MEMBERS, Region
from ledger.crypto import PrivateKey, sm3
from ledger.log import MerkleLog, SQLiteStore

ASKER = str(DEV_MEMBERS[Region.SH].member_id)
ASKED = str(DEV_MEMBERS[Region.ZJ].member_id)


def _verified(key, *, sender, recipient, kind, payload, in_reply_to="") -> VerifiedExchange:
    signed = signed_envelope(
        key=key, sender=sender, recipient=recipient, kind=kind, matter="010010300100",
        payload=payload, dialect="yrd-canonical/1", content_type="application/json",
        in_reply_to=in_reply_to,
    )  # fmt: skip
    envelope = exchange_pb2.Envelope.FromString(signed.envelope)
    return VerifiedExchange(
        signed,
        envelope,
        sm3(signed.envelope),
        sender,
        recipient,
        json.loads(payload),
        1.0e9,
        "010010300100",
    )


@pytest.fixture
async def parts(tmp_path):
    key = PrivateKey.generate()
    db = tmp_path / "gateway.db"
    store = GatewayStore(db)
    log = MerkleLog(SQLiteStore(tmp_path / "log.db"), key, "answers.test/log")
    writer = ExchangeWriter(db, log)
    committer = ExchangeCommitter(
        log=log, writer=writer, store=store, delivery_mode=lambda r: "pull"
    )
    yield key, store, log, committer
    await asyncio.to_thread(log.close)
    writer.close()
    store.close()


async def _request(key, committer, kind="case.submit", body=None) -> str:
    payload = json.dumps(body or {"case_id": "C-1"}).encode()
    asked = _verified(key, sender=ASKER, recipient=ASKED, kind=kind, payload=payload)
    await committer.commit(asked)
    return asked.exchange_id


async def test_two_concurrent_answers_commit_one(parts):
    key, store, log, committer = parts
    request_id = await _request(key, committer)

    def answer(n: int) -> VerifiedExchange:
        payload = json.dumps({"case_id": "C-1", "n": n}).encode()
        return _verified(
            key, sender=ASKED, recipient=ASKER, kind="case.status", payload=payload,
            in_reply_to=request_id,
        )  # fmt: skip

    answers = [answer(0), answer(1)]
    outcomes = await asyncio.gather(*(committer.commit(a) for a in answers), return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, Refusal)]
    assert len(refused) == 1 and refused[0].reason == "already_answered"
    assert log.size == 2 and store.exchange_count() == 2
    stored = store.answer_to(request_id)
    assert stored is not None and stored.in_reply_to == request_id
    assert decode_entry(log.entry(stored.leaf_index))["in_reply_to"] == request_id
    # the committed answer again is idempotent, not a second answer
    winner = next(a for a in answers if a.exchange_id == stored.exchange_id)
    assert (await committer.commit(winner)).duplicate


@pytest.mark.parametrize(
    ("kind", "asked", "answer"),
    [
        ("matter.lookup", {"matter_code": "010010300100"}, {"basic_code": "010010300100"}),
        ("case.submit", {"case_id": "C-9"}, {"case_id": "C-9", "status": "accepted"}),
        ("evidence.request", {"request_id": "R-1"}, {"request_id": "R-1"}),
    ],
)
async def test_the_relay_logs_an_answer_of_every_request_kind(parts, kind, asked, answer):
    key, store, log, committer = parts
    relay = AnswerRelay(committer=committer, store=store, signer=key)
    request = store.exchange(await _request(key, committer, kind, asked))
    answer_id = await relay.record(request, answer, channel="http-dev")
    assert answer_id == answer_exchange_id(request.exchange_id)
    row = store.exchange(answer_id)
    assert (row.sender, row.recipient, row.in_reply_to) == (ASKED, ASKER, request.exchange_id)
    assert await relay.record(request, answer) == answer_id and log.size == 2  # once only
    # an answer is not relayed again as a request
    await relay.on_answer(row, "case.status", answer, "http-dev")
    assert log.size == 2


async def test_the_relay_refuses_another_requests_answer(parts):
    key, store, log, committer = parts
    relay = AnswerRelay(committer=committer, store=store, signer=key)
    request = store.exchange(await _request(key, committer))
    with pytest.raises(AnswerMismatch, match="case_id"):
        await relay.record(request, {"case_id": "C-OTHER", "status": "accepted"})
    assert log.size == 1


async def test_the_relay_yields_to_an_answer_the_member_sent_itself(parts):
    key, store, log, committer = parts
    relay = AnswerRelay(committer=committer, store=store, signer=key)
    request_id = await _request(key, committer)
    own = _verified(
        key, sender=ASKED, recipient=ASKER, kind="case.status",
        payload=b'{"case_id":"C-1"}', in_reply_to=request_id,
    )  # fmt: skip
    await committer.commit(own)
    got = await relay.record(store.exchange(request_id), {"case_id": "C-1"})
    assert got == own.exchange_id and log.size == 2
    assert str(uuid.UUID(got)) == got
