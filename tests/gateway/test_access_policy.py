"""The access policy of Exchange and Audit on a real gateway (docs/access.md).

Members see their own exchanges, auditors see the whole log and every receipt but cannot
submit or pull, a certificate in no role sees nothing, and walking leaf indexes tells an
outsider nothing. The table in docs/access.md is checked against ``access.POLICY`` and
against what the server does.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway.app.pki import CertPair, issue
from gateway.client import GatewayClient
from gateway.encoding import canonical_json
from gateway.pb.yrd.v1 import (
    audit_pb2,
    exchange_pb2,
    identity_pb2,
    identity_pb2_grpc,
    licences_pb2,
    licences_pb2_grpc,
    matters_pb2,
    matters_pb2_grpc,
)
from gateway.rpc.access import POLICY, Role, Scope, entry_parties
from gateway.rpc.status import reason_of
from gateway.tls import TlsFiles
from ledger import merkle
from tests.envelopes import status_update
from tests.gateway.harness import GatewayThread

DOCS = Path(__file__).resolve().parents[2] / "docs" / "access.md"
DEADLINE = 30.0  # s: a stream that never yields fails the test, never hangs it
DENIED = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(tmp_path_factory.mktemp("gw-access")).start()
    yield thread
    thread.stop()


def _client(gw: GatewayThread, pair: CertPair, as_region: str = "SH") -> GatewayClient:
    """A client presenting ``pair``'s certificate, building envelopes as ``as_region``'s
    member with that member's own signing key."""
    return GatewayClient(
        gw.target,
        member=gw.env.member_id(as_region),
        key=gw.env.member_keys[as_region],
        tls=TlsFiles(gw.env.ca.cert_pem, pair.cert_pem, pair.key_pem),
    )


def auditor(gw: GatewayThread, as_region: str = "SH") -> GatewayClient:
    return _client(gw, gw.env.auditor, as_region)


def stranger(gw: GatewayThread) -> GatewayClient:
    """A certificate the gateway's CA signed, bound to no member and no auditor."""
    return _client(gw, issue(gw.env.ca, "stranger", server=False))


@pytest.fixture(scope="module")
def exchanges(gw) -> dict[str, exchange_pb2.Receipt]:
    """``sh_zj``: SH -> ZJ (a delivery for ZJ to pull); ``sh_js``: SH -> JS."""

    async def submit() -> dict[str, exchange_pb2.Receipt]:
        out = {}
        async with gw.client("SH") as client:
            for name, to in (("sh_zj", "ZJ"), ("sh_js", "JS")):
                out[name] = await client.submit(status_update(client, gw.env, to))
        return out

    return asyncio.run(submit())


def _exchange_id(receipt: exchange_pb2.Receipt) -> str:
    return json.loads(receipt.receipt_json)["exchange_id"]


async def _denied(call: Awaitable[Any], code: grpc.StatusCode, reason: str) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() == code, info.value.details()
    assert reason_of(info.value) == reason
    return info.value.details() or ""


def _counts(gw: GatewayThread) -> tuple[int, int]:
    return gw.gateway.log.size, gw.gateway.store.outbox_depth()


# -- auditors ----------------------------------------------------------------------------


async def test_auditor_calls_every_audit_rpc_and_any_receipt(gw, exchanges):
    async with auditor(gw) as client:
        checkpoint = await client.audit.GetCheckpoint(audit_pb2.GetCheckpointRequest())
        assert checkpoint.tree_size >= 2
        consistency = await client.audit.GetConsistencyProof(
            audit_pb2.GetConsistencyProofRequest(old_size=1, new_size=checkpoint.tree_size)
        )
        assert consistency.new_size == checkpoint.tree_size
        anchors = await client.audit.GetAnchors(audit_pb2.GetAnchorsRequest())
        assert list(anchors.anchors) == []  # anchoring is off in the harness
        for receipt in exchanges.values():  # neither exchange is the auditor's
            exchange_id = _exchange_id(receipt)
            by_id = await client.audit.GetInclusionProof(
                audit_pb2.GetInclusionProofRequest(exchange_id=exchange_id)
            )
            by_index = await client.audit.GetInclusionProof(
                audit_pb2.GetInclusionProofRequest(leaf_index=receipt.leaf_index)
            )
            assert by_id == by_index
            merkle.verify_inclusion(
                merkle.leaf_hash(by_id.entry),
                by_id.leaf_index,
                by_id.tree_size,
                list(by_id.hashes),
                by_id.checkpoint.root,
            )
            again = await client.exchange.GetReceipt(
                exchange_pb2.GetReceiptRequest(exchange_id=exchange_id)
            )
            assert again.leaf_index == receipt.leaf_index
            assert again.entry == receipt.entry


async def test_auditor_is_not_a_member(gw, exchanges):
    before = _counts(gw)
    async with auditor(gw, as_region="SH") as client:
        # SH's own envelope, signed with SH's key, still refused: the certificate is no member's
        details = await _denied(
            client.exchange.Submit(status_update(client, gw.env, "ZJ")),
            grpc.StatusCode.UNAUTHENTICATED,
            "unauthenticated",
        )
        assert "no client certificate bound to a member" in details
        results = await client.submit_many([status_update(client, gw.env, "ZJ")])
        assert results[0].error.reason == "UNAUTHENTICATED"
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async with asyncio.timeout(DEADLINE), client.pull() as deliveries:
                async for _ in deliveries:
                    pytest.fail("an auditor's certificate was given a delivery")
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # nor is it a member to the other services
        matters = matters_pb2_grpc.MattersStub(client.channel)
        await _denied(
            matters.List(matters_pb2.ListMattersRequest()),
            grpc.StatusCode.UNAUTHENTICATED,
            "unauthenticated",
        )
        identity = identity_pb2_grpc.IdentityStub(client.channel)
        await _denied(
            identity.Recognize(identity_pb2.RecognizeRequest(assertion=b"x")),
            grpc.StatusCode.UNAUTHENTICATED,
            "unauthenticated",
        )
        licences = licences_pb2_grpc.LicencesStub(client.channel)
        await _denied(
            licences.Verify(licences_pb2.VerifyLicenceRequest(licence=b"{}")),
            grpc.StatusCode.UNAUTHENTICATED,
            "unauthenticated",
        )
    assert _counts(gw) == before, "a refused auditor must write nothing"


async def test_certificate_in_no_role_is_refused_everywhere(gw, exchanges):
    exchange_id = _exchange_id(exchanges["sh_zj"])
    calls: list[Callable[[GatewayClient], Awaitable[Any]]] = [
        lambda c: c.audit.GetCheckpoint(audit_pb2.GetCheckpointRequest()),
        lambda c: c.audit.GetConsistencyProof(
            audit_pb2.GetConsistencyProofRequest(old_size=1, new_size=2)
        ),
        lambda c: c.audit.GetAnchors(audit_pb2.GetAnchorsRequest()),
        lambda c: c.audit.GetInclusionProof(audit_pb2.GetInclusionProofRequest(leaf_index=0)),
        lambda c: c.audit.GetInclusionProof(
            audit_pb2.GetInclusionProofRequest(exchange_id=exchange_id)
        ),
        lambda c: c.exchange.GetReceipt(exchange_pb2.GetReceiptRequest(exchange_id=exchange_id)),
        lambda c: c.exchange.Submit(status_update(c, gw.env, "ZJ")),
    ]
    async with stranger(gw) as client:
        for call in calls:
            await _denied(call(client), grpc.StatusCode.UNAUTHENTICATED, "unauthenticated")


async def test_auditor_outside_its_validity_is_refused(tmp_path):
    def expire(document: dict) -> None:
        document["auditors"][0]["not_before"] = "2020-01-01T00:00:00Z"
        document["auditors"][0]["not_after"] = "2021-01-01T00:00:00Z"

    gw = GatewayThread(tmp_path, mutate=expire).start()
    try:
        async with auditor(gw) as client:
            details = await _denied(
                client.audit.GetCheckpoint(audit_pb2.GetCheckpointRequest()),
                grpc.StatusCode.UNAUTHENTICATED,
                "unauthenticated",
            )
        assert "auditor/dev expired at 2021-01-01T00:00:00Z" in details
    finally:
        gw.stop()


# -- members -----------------------------------------------------------------------------


async def test_member_gets_proofs_of_its_own_exchanges_only(gw, exchanges):
    receipt = exchanges["sh_zj"]
    exchange_id = _exchange_id(receipt)
    for party in ("SH", "ZJ"):  # sender and recipient
        async with gw.client(party) as client:
            for request in (
                audit_pb2.GetInclusionProofRequest(exchange_id=exchange_id),
                audit_pb2.GetInclusionProofRequest(leaf_index=receipt.leaf_index),
            ):
                proof = await client.audit.GetInclusionProof(request)
                assert proof.entry == receipt.entry
            await client.exchange.GetReceipt(
                exchange_pb2.GetReceiptRequest(exchange_id=exchange_id)
            )
    async with gw.client("AH") as outsider:
        for call in (
            outsider.audit.GetInclusionProof(
                audit_pb2.GetInclusionProofRequest(exchange_id=exchange_id)
            ),
            outsider.audit.GetInclusionProof(
                audit_pb2.GetInclusionProofRequest(leaf_index=receipt.leaf_index)
            ),
            outsider.exchange.GetReceipt(exchange_pb2.GetReceiptRequest(exchange_id=exchange_id)),
        ):
            details = await _denied(call, grpc.StatusCode.PERMISSION_DENIED, "not_permitted")
            for region in ("SH", "ZJ"):
                assert gw.env.member_id(region) not in details
        # checkpoints and consistency proofs are open to every member
        checkpoint = await outsider.audit.GetCheckpoint(audit_pb2.GetCheckpointRequest())
        await outsider.audit.GetConsistencyProof(
            audit_pb2.GetConsistencyProofRequest(old_size=1, new_size=checkpoint.tree_size)
        )


async def test_walking_leaf_indexes_reveals_nothing(gw, exchanges):
    """Every leaf inside the tree that is not AH's answers AH the same refusal (only the
    index differs); every leaf past it NOT_FOUND, as the public size says anyway."""
    ah = gw.env.member_id("AH")
    async with gw.client("AH") as outsider:
        checkpoint = await outsider.audit.GetCheckpoint(audit_pb2.GetCheckpointRequest())
        messages = set()
        for index in range(checkpoint.tree_size):
            if ah in entry_parties(gw.gateway.log.entry(index)):
                continue
            details = await _denied(
                outsider.audit.GetInclusionProof(
                    audit_pb2.GetInclusionProofRequest(
                        leaf_index=index, tree_size=checkpoint.tree_size
                    )
                ),
                grpc.StatusCode.PERMISSION_DENIED,
                "not_permitted",
            )
            messages.add(details.replace(f"leaf {index}", "leaf N"))
        assert len(messages) == 1, messages
        await _denied(
            outsider.audit.GetInclusionProof(
                audit_pb2.GetInclusionProofRequest(
                    leaf_index=checkpoint.tree_size, tree_size=checkpoint.tree_size
                )
            ),
            grpc.StatusCode.NOT_FOUND,
            "not_found",
        )


async def test_entries_that_are_not_exchanges(gw, exchanges):
    """An identity recognition is its relying party's and the auditors'; an entry of any
    other type only the auditors'. (Appended to the real log as Identity.Recognize does.)"""
    log = gw.gateway.log
    recognition = canonical_json(
        {
            "v": 1,
            "type": "identity.recognition",
            "relying_party": gw.env.member_id("JS"),
            "recognition_id": "r-1",
            "assertion_sm3": "00" * 32,
        }
    )
    other = canonical_json({"v": 1, "type": "case.note", "sender": gw.env.member_id("AH")})
    indexes = {}
    for name, entry in (("recognition", recognition), ("other", other)):
        result = await asyncio.to_thread(
            lambda e=entry, n=name: log.append_async(e, key=f"test:{n}").result(DEADLINE)
        )
        indexes[name] = result.index
    assert entry_parties(recognition) == {gw.env.member_id("JS")}
    assert entry_parties(other) == frozenset()

    async def proof(client: GatewayClient, name: str) -> audit_pb2.InclusionProof:
        return await client.audit.GetInclusionProof(
            audit_pb2.GetInclusionProofRequest(leaf_index=indexes[name])
        )

    async with gw.client("JS") as relying_party, gw.client("AH") as member, auditor(gw) as aud:
        assert (await proof(relying_party, "recognition")).entry == recognition
        assert (await proof(aud, "recognition")).entry == recognition
        assert (await proof(aud, "other")).entry == other
        for client, name in ((member, "recognition"), (relying_party, "other"), (member, "other")):
            await _denied(proof(client, name), grpc.StatusCode.PERMISSION_DENIED, "not_permitted")


# -- the documented table ------------------------------------------------------------------


def _documented() -> dict[str, dict[Role, Scope]]:
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("<!-- access-policy-table")[1].split("<!-- end access-policy-table")[0]
    rows = re.findall(r"^\|\s*`([A-Za-z.]+)`\s*\|\s*(\w+)\s*\|\s*(\w+)\s*\|$", table, re.M)
    return {m: {Role.MEMBER: Scope(a), Role.AUDITOR: Scope(b)} for m, a, b in rows}


def test_documented_table_is_the_policy():
    assert _documented() == {m: dict(roles) for m, roles in POLICY.items()}


async def _ok(call: Awaitable[Any]) -> bool:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        if exc.code() in DENIED:
            return False
        raise
    return True


async def _first_status(client: GatewayClient, exchange_id: str) -> exchange_pb2.ExchangeStatus:
    """The first message of a WatchStatus stream on ``exchange_id`` (then cancelled)."""
    call = client.exchange.WatchStatus(exchange_pb2.WatchStatusRequest(exchange_ids=[exchange_id]))
    try:
        async with asyncio.timeout(DEADLINE):
            return await call.read()
    finally:
        call.cancel()


async def _pulls(client: GatewayClient) -> bool:
    try:
        async with asyncio.timeout(DEADLINE), client.pull() as deliveries:
            async for _ in deliveries:
                return True
    except grpc.aio.AioRpcError as exc:
        if exc.code() in DENIED:
            return False
        raise
    raise AssertionError("the pull stream ended without a delivery or a refusal")


async def test_server_does_what_the_table_says(gw, exchanges):
    """For each method and role: may the role call it on its own data, and on data that is
    not its own? (an auditor has no data of its own: both probes read the SH -> ZJ exchange;
    "own" for Submit and Pull means acting as the certificate's member)."""
    receipt = exchanges["sh_zj"]
    exchange_id = _exchange_id(receipt)
    reads: dict[str, Callable[[GatewayClient], Awaitable[Any]]] = {
        "Audit.GetCheckpoint": lambda c: c.audit.GetCheckpoint(audit_pb2.GetCheckpointRequest()),
        "Audit.GetConsistencyProof": lambda c: c.audit.GetConsistencyProof(
            audit_pb2.GetConsistencyProofRequest(old_size=1)
        ),
        "Audit.GetAnchors": lambda c: c.audit.GetAnchors(audit_pb2.GetAnchorsRequest()),
        "Audit.GetInclusionProof": lambda c: c.audit.GetInclusionProof(
            audit_pb2.GetInclusionProofRequest(leaf_index=receipt.leaf_index)
        ),
        "Exchange.GetReceipt": lambda c: c.exchange.GetReceipt(
            exchange_pb2.GetReceiptRequest(exchange_id=exchange_id)
        ),
        "Exchange.GetStatus": lambda c: c.exchange.GetStatus(
            exchange_pb2.GetStatusRequest(exchange_id=exchange_id)
        ),
        "Exchange.WatchStatus": lambda c: _first_status(c, exchange_id),
    }
    observed: dict[str, dict[Role, Scope]] = {}
    for method, call in reads.items():
        async with gw.client("SH") as party, gw.client("AH") as other, auditor(gw) as aud:
            member = (await _ok(call(party)), await _ok(call(other)))
            audit = (await _ok(call(aud)), await _ok(call(aud)))
        observed[method] = {Role.MEMBER: _scope(*member), Role.AUDITOR: _scope(*audit)}
    # Submit: SH's certificate sending as SH / as ZJ (with ZJ's key); the auditor's as SH
    async with gw.client("SH") as own, gw.client("SH", as_region="ZJ", key_region="ZJ") as other:
        member = (
            await _ok(own.submit(status_update(own, gw.env, "AH"))),
            await _ok(other.submit(status_update(other, gw.env, "AH"))),
        )
    async with auditor(gw) as aud:
        audit_ok = await _ok(aud.submit(status_update(aud, gw.env, "AH")))
    observed["Exchange.Submit"] = {
        Role.MEMBER: _scope(*member, acting=True),
        Role.AUDITOR: _scope(audit_ok, audit_ok, acting=True),
    }
    # Pull: ZJ's certificate pulling ZJ's deliveries / SH's; the auditor's pulling ZJ's
    async with gw.client("ZJ") as own, gw.client("ZJ", as_region="SH") as other:
        member = (await _pulls(own), await _pulls(other))
    async with auditor(gw, as_region="ZJ") as aud:
        audit_ok = await _pulls(aud)
    observed["Exchange.Pull"] = {
        Role.MEMBER: _scope(*member, acting=True),
        Role.AUDITOR: _scope(audit_ok, audit_ok, acting=True),
    }
    assert observed == _documented()


def _scope(own: bool, other: bool, *, acting: bool = False) -> Scope:
    if not own:
        return Scope.NONE
    if other:
        return Scope.ALL
    return Scope.SELF if acting else Scope.PARTY
