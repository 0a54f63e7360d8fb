"""No blocking store call on the event loop (``gateway.exchange.loopguard``): the guard
catches one, and real flows on loopback against a guarded gateway make none.

The flows: submit, GetReceipt, WatchStatus/GetStatus, Pull with acks, push delivery with the
partner's answer relayed as an exchange (``tests/gateway/test_answers_flow.py``), and a case
over HTTP submitted, answered by the handling province's push answer (the answer watcher),
stepped by the handler and audited (``tests/gateway/test_cases_api.py``). Each also fails if
a background task swallowed an :class:`OnLoopError`: :func:`loopguard.violations` stays empty.
"""

from __future__ import annotations

import asyncio

import pytest

from gateway.app.compose import CaseOptions
from gateway.cases.accounts import Role
from gateway.exchange import loopguard
from gateway.exchange.loopguard import OnLoopError
from gateway.pb.yrd.v1 import audit_pb2
from gateway.pb.yrd.v1 import exchange_pb2 as X
from tests.envelopes import status_update
from tests.gateway import test_answers_flow as answers
from tests.gateway import test_cases_api as cases_api
from tests.gateway.harness import GatewayThread
from tests.gateway.test_adapter_flow import Simulators, push_gateway
from tests.web.helpers import BusinessClock, sign_in, start_web_gateway

PASSWORD = cases_api.PASSWORD


@pytest.fixture(scope="module")
def sims():
    yield from Simulators.serving("JS", "ZJ")


@pytest.fixture(scope="module")
def gw(tmp_path_factory, sims):
    thread = push_gateway(tmp_path_factory.mktemp("guarded"), sims, off_loop_guard=True).start()
    yield thread
    thread.stop()


@pytest.fixture
def clean():
    """Fails the test if the gateway hit the guard, even where the error was swallowed."""
    before = len(loopguard.violations())
    yield
    assert loopguard.violations()[before:] == []


async def test_the_guard_catches_a_store_call_on_the_gateway_loop(gw):
    store = gw.gateway.store

    async def on_the_loop():
        return store.exchange("no-such-exchange")

    async def through_the_facade():
        return await store.run(store.exchange, "no-such-exchange")

    before = len(loopguard.violations())
    with pytest.raises(OnLoopError) as caught:
        gw.call(on_the_loop())
    assert caught.value.code == "store_on_loop"
    assert "GatewayStore.exchange <- " in str(caught.value) and "on_the_loop" not in str(
        caught.value
    )
    assert "test_event_loop_guard.py" in loopguard.violations()[before]
    assert gw.call(through_the_facade()) is None
    assert store.exchange("no-such-exchange") is None  # the test's own thread: no loop
    # an unguarded loop (the test's) is not checked
    assert await asyncio.sleep(0, store.exchange("no-such-exchange")) is None


def test_a_gateway_without_the_guard_is_not_checked(tmp_path):
    thread = GatewayThread(tmp_path, off_loop_guard=False).start()
    try:
        store = thread.gateway.store

        async def on_the_loop():
            return store.exchange("no-such-exchange")

        assert thread.call(on_the_loop()) is None
    finally:
        thread.stop()


async def test_push_answer_relay_status_and_pull_stay_off_the_loop(gw, sims, clean):
    await answers.test_a_push_recipients_case_status_answer_is_an_exchange_to_the_requester(
        gw, sims
    )
    await answers.test_a_push_recipients_matter_answer_is_logged(gw)


async def test_pull_answer_and_ack_stay_off_the_loop(gw, clean):
    await answers.test_a_pull_recipient_answers_with_its_own_exchange(gw)


async def test_receipt_and_inclusion_proof_stay_off_the_loop(gw, clean):
    async with gw.client("SH") as sh:
        request = status_update(sh, gw.env, "AH")
        receipt = await sh.submit(request)
        exchange_id = answers.envelope_of(request).exchange_id
        again = await sh.exchange.GetReceipt(X.GetReceiptRequest(exchange_id=exchange_id))
        proof = await sh.audit.GetInclusionProof(
            audit_pb2.GetInclusionProofRequest(exchange_id=exchange_id)
        )
    assert again.leaf_index == receipt.leaf_index == proof.leaf_index


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    clock = BusinessClock(cases_api.START)
    gw, sims = start_web_gateway(
        tmp_path_factory.mktemp("guarded-cases"), CaseOptions(clock=clock), off_loop_guard=True
    )
    service = gw.gateway.cases
    service.accounts.create("suzhou-clerk", PASSWORD, role=Role.CLERK, display_name="c",
                            city="suzhou")  # fmt: skip
    service.accounts.create("zj-handler", PASSWORD, role=Role.HANDLER, display_name="h",
                            region="ZJ")  # fmt: skip
    clients = {u: sign_in(gw.http_url, u, PASSWORD) for u in ("suzhou-clerk", "zj-handler")}
    yield {"gw": gw, "sims": sims, "clock": clock, **clients}
    for c in clients.values():
        c.close()
    gw.stop()
    sims.stop()


def test_a_case_submitted_answered_stepped_and_audited_stays_off_the_loop(web, clean):
    case = cases_api._submit_accepted(web)  # the watcher records ZJ's push answer
    case_id = case["case_id"]
    handler, clerk = web["zj-handler"], web["suzhou-clerk"]
    r = handler.post(f"/api/cases/{case_id}/transitions", json={"to": "transferred"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "transferred"
    r = clerk.get(f"/api/audit/cases/{case_id}/exchanges")
    assert r.status_code == 200, r.text
    assert r.json()["exchanges"] and all(e["valid"] for e in r.json()["exchanges"])
