"""The gateway is composed in one place (``gateway.app.compose.compose``) from typed parts.

- every part is constructed there, with the type its declaration names, and nothing is added
  to the gateway after construction (``start`` only fills the parts declared for it);
- no ``Any`` in the composition's signatures;
- the project's own services are imported normally: one that fails to import fails the
  gateway's import, loudly (it used to be skipped silently, switching off evidence logging);
- the one commit path is idempotent on the exchange id and refuses other bytes for it;
- uvicorn runs through its public ``Server`` API and leaves the process's signal handlers
  to ``yrdgw serve``.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import subprocess
import sys
import typing
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from gateway.app.anchoring import GatewayAnchorer
from gateway.app.compose import compose
from gateway.app.gateway import Gateway
from gateway.app.http_server import HttpServer
from gateway.app.instance import bind_listener
from gateway.errors import Refusal
from gateway.exchange.commit import ExchangeCommitter, VerifiedExchange
from gateway.exchange.envelopes import signed_envelope
from gateway.exchange.store import GatewayStore
from gateway.exchange.unit import ExchangeWriter
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import DEV_MEMBERS, Region
from ledger.crypto import PrivateKey, sm3
from ledger.log import MerkleLog, SQLiteStore
from tests.gateway.harness import GatewayThread

ROOT = Path(__file__).resolve().parents[2]
SENDER = str(DEV_MEMBERS[Region.JS].member_id)
RECIPIENT = str(DEV_MEMBERS[Region.SH].member_id)


def _declared(gateway: Gateway) -> dict[str, type]:
    """The parts ``Gateway.__init__`` declares, by attribute name, with their types."""
    names = {**vars(sys.modules[Gateway.__module__]), "GatewayAnchorer": GatewayAnchorer}
    hints = typing.get_type_hints(Gateway.__init__, names)
    hints.pop("return")
    return hints


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(tmp_path_factory.mktemp("composition")).start()
    yield thread
    thread.stop()


def test_every_part_is_constructed_with_its_declared_type(gw):
    gateway = gw.gateway
    assert gateway is not None
    checked = []
    for name, hint in _declared(gateway).items():
        if name in ("keys", "service_names", "seed", "registry_reload_seconds"):
            continue  # unpacked (keys) or kept private
        value = getattr(gateway, name)
        args = typing.get_args(hint)
        if type(None) in args:  # optional part: anchorer, dev_env
            if value is None:
                continue
            hint = next(a for a in args if a is not type(None))
        origin = typing.get_origin(hint) or hint
        assert isinstance(value, origin), f"{name}: expected {hint}, got {type(value)}"
        checked.append(name)
    assert {"storage", "committer", "core", "answer_relay", "cases", "push", "hub"} <= set(checked)
    assert gateway.log is gateway.storage.log and gateway.store is gateway.storage.store
    # the evidence relay is wired into delivery by composition, not by a plugin's side effect
    assert gateway.answer_relay.on_answer in gateway.push.answer_hooks
    assert gateway.core.committer is gateway.committer
    assert gateway.answer_relay.committer is gateway.committer


def test_no_any_in_the_composition():
    for fn in (Gateway.__init__, compose):
        for name, parameter in inspect.signature(fn).parameters.items():
            assert "Any" not in str(parameter.annotation), f"{fn.__qualname__}({name})"


def test_start_adds_no_attributes(tmp_path):
    """``start`` fills the parts declared for it (ports, the HTTP server) and adds none."""
    thread = GatewayThread(tmp_path)
    gateway = thread.compose()
    before = set(vars(gateway))
    thread.call(gateway.start())
    try:
        assert set(vars(gateway)) == before
        assert gateway.ready and gateway.http is not None and gateway.grpc_port > 0
    finally:
        thread.stop()


@pytest.mark.parametrize("broken", ["gateway.rpc.matters", "gateway.rpc.identity", "gateway.web"])
def test_a_bad_import_of_our_own_fails_loudly(broken):
    """A part that cannot be imported stops ``yrdgw serve`` at import, naming it."""
    script = (
        "import sys\n"
        "class Broken:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {broken!r}:\n"
        "            raise ImportError('broken on purpose: ' + name)\n"
        "sys.meta_path.insert(0, Broken())\n"
        "import gateway.app.serve\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert out.returncode != 0
    assert f"broken on purpose: {broken}" in out.stderr


# -- the one commit path -------------------------------------------------------------------
def _verified(key: PrivateKey, exchange_id: str, payload: bytes) -> VerifiedExchange:
    signed = signed_envelope(
        key=key, sender=SENDER, recipient=RECIPIENT, kind="case.submit", matter="010010300100",
        payload=payload, dialect="yrd-canonical/1", content_type="application/json",
        exchange_id=exchange_id,
    )  # fmt: skip
    envelope = exchange_pb2.Envelope.FromString(signed.envelope)
    return VerifiedExchange(
        signed,
        envelope,
        sm3(signed.envelope),
        SENDER,
        RECIPIENT,
        {"p": payload.decode()},
        1.0e9,
        "010010300100",
    )


async def test_the_commit_path_is_idempotent_and_refuses_other_bytes(tmp_path):
    key = PrivateKey.generate()
    db = tmp_path / "gateway.db"
    store = GatewayStore(db)
    log = MerkleLog(SQLiteStore(tmp_path / "log.db"), key, "composition.test/log")
    writer = ExchangeWriter(db, log)
    told: list[tuple[str, str]] = []
    committer = ExchangeCommitter(
        log=log,
        writer=writer,
        store=store,
        delivery_mode=lambda recipient: "pull",
        on_commit=lambda recipient, exchange_id: told.append((recipient, exchange_id)),
    )
    try:
        exchange_id = str(uuid.uuid4())
        exchange = _verified(key, exchange_id, b'{"n":1}')
        first = await committer.commit(exchange)
        assert not first.duplicate and first.receipt["leaf_index"] == 0
        row = store.exchange(exchange_id)
        assert row is not None and row.leaf_index == 0 and store.outbox_depth() == 1
        assert told == [(row.recipient, exchange_id)]
        # the same bytes again: the stored exchange, nothing written, nobody told
        again = await committer.commit(exchange)
        assert again.duplicate and again.receipt["leaf_index"] == 0 and log.size == 1
        # other bytes under the same id: refused, nothing written
        with pytest.raises(Refusal) as refused:
            await committer.commit(_verified(key, exchange_id, b'{"n":2}'))
        assert refused.value.reason == "conflict" and log.size == 1
        assert store.exchange_count() == 1 and len(told) == 1
    finally:
        await asyncio.to_thread(log.close)
        writer.close()
        store.close()


# -- uvicorn through its public API -----------------------------------------------------------
async def test_http_server_serves_on_our_socket_and_leaves_signals_alone():
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    sock = bind_listener("HTTP", "127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = HttpServer(app, "127.0.0.1")
    await server.start(sock)
    try:
        # this test runs in the main thread, where uvicorn would otherwise take the signals
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/ping")
        assert response.json() == {"pong": "yes"}
    finally:
        await server.stop()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


async def test_the_http_server_returns_once_started_not_at_its_deadline():
    """``start`` returns when the app's lifespan startup completed (uvicorn's serve task
    runs on): it once waited for both and so always sat out its whole ``within``."""
    app = FastAPI()
    sock = bind_listener("HTTP", "127.0.0.1", 0)
    server = HttpServer(app, "127.0.0.1")
    try:
        await asyncio.wait_for(server.start(sock, within=3600), timeout=60)
    finally:
        await server.stop()
