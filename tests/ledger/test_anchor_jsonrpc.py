"""JsonRpcChain against a real Hardhat node on loopback: outages, confirmations, fees, nonces."""

from __future__ import annotations

import pytest

from ledger.anchor import ChainUnavailable, JsonRpcChain
from tests.ledger.chain_fixtures import (  # noqa: F401 -- pytest fixtures
    ADMIN_KEY,
    ANCHORER_KEY,
    HardhatNode,
    free_port,
    hardhat_factory,
    hardhat_node,
)

SH = "yrd.gov.cn/log/sh"
ROOT = bytes.fromhex("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")


def _deploy_and_grant(url: str, **anchorer_options: object) -> JsonRpcChain:
    admin = JsonRpcChain(url, ADMIN_KEY, timeout=30)
    address = admin.deploy()
    anchorer = JsonRpcChain(url, ANCHORER_KEY, address, **anchorer_options)
    admin.grant(SH, anchorer.account)
    return anchorer


def test_unreachable_node_raises_chain_unavailable() -> None:
    chain = JsonRpcChain(
        f"http://127.0.0.1:{free_port()}",
        ANCHORER_KEY,
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        request_timeout=2,
        timeout=2,
    )
    with pytest.raises(ChainUnavailable, match="chain node unavailable"):
        chain.anchor(SH, 1, ROOT)
    with pytest.raises(ChainUnavailable):
        chain.latest(SH)


def test_stopped_node_then_restart(hardhat_factory) -> None:  # noqa: F811
    node = hardhat_factory()
    anchorer = _deploy_and_grant(node.url, request_timeout=2, timeout=10)
    anchorer.wait(anchorer.anchor(SH, 1, ROOT))

    node.stop()
    with pytest.raises(ChainUnavailable) as excinfo:
        anchorer.anchor(SH, 2, ROOT)
    assert excinfo.value.__cause__ is not None
    with pytest.raises(ChainUnavailable):
        anchorer.lookup(SH, 1)

    # A dev node restarts empty; the same admin key at nonce 0 redeploys to the same address,
    # so the very same JsonRpcChain instance carries on (its nonce resynced after the failure).
    hardhat_factory(node.port)
    address = JsonRpcChain(node.url, ADMIN_KEY).deploy()
    assert address == anchorer.contract_address
    JsonRpcChain(node.url, ADMIN_KEY, address).grant(SH, anchorer.account)
    record = anchorer.wait(anchorer.anchor(SH, 2, ROOT))
    assert record.tree_size == 2
    assert anchorer.latest(SH).tree_size == 2


def test_confirmations_wait_for_later_blocks(hardhat_node: HardhatNode) -> None:  # noqa: F811
    anchorer = _deploy_and_grant(hardhat_node.url, confirmations=3)
    tx = anchorer.anchor(SH, 1, ROOT)
    # Hardhat mines only on demand, so the anchor's block stays at one confirmation.
    with pytest.raises(ChainUnavailable, match="expected 3 confirmations, got 1"):
        anchorer.wait(tx, timeout=0.5)
    hardhat_node.rpc("evm_mine")
    hardhat_node.rpc("evm_mine")
    assert anchorer.wait(tx, timeout=10).tree_size == 1


def test_eip1559_fees_by_default(hardhat_node: HardhatNode) -> None:  # noqa: F811
    anchorer = _deploy_and_grant(hardhat_node.url)
    tx = anchorer.anchor(SH, 1, ROOT)
    anchorer.wait(tx)
    sent = hardhat_node.rpc("eth_getTransactionByHash", [tx.tx_hash])
    assert sent["type"] == "0x2"


def test_legacy_zero_gas_price_on_a_zero_base_fee_chain(hardhat_factory) -> None:  # noqa: F811
    node = hardhat_factory()
    # What a Besu network with min-gas-price=0 and zeroBaseFee looks like to a client.
    node.rpc("hardhat_setNextBlockBaseFeePerGas", ["0x0"])
    node.rpc("evm_mine")
    admin = JsonRpcChain(node.url, ADMIN_KEY, gas_price=0)
    address = admin.deploy()
    anchorer = JsonRpcChain(node.url, ANCHORER_KEY, address, gas_price=0)
    admin.grant(SH, anchorer.account)
    tx = anchorer.anchor(SH, 1, ROOT)
    anchorer.wait(tx)
    sent = node.rpc("eth_getTransactionByHash", [tx.tx_hash])
    assert (sent["type"], int(sent["gasPrice"], 16)) == ("0x0", 0)


def test_nonce_resyncs_when_another_writer_uses_the_key(
    hardhat_node: HardhatNode,  # noqa: F811
) -> None:
    first = _deploy_and_grant(hardhat_node.url)
    second = JsonRpcChain(hardhat_node.url, ANCHORER_KEY, first.contract_address)
    first.wait(first.anchor(SH, 1, ROOT))
    second.wait(second.anchor(SH, 2, ROOT))
    # first's local counter is now stale; the node refuses the nonce and first resyncs.
    first.wait(first.anchor(SH, 3, ROOT))
    assert [e.tree_size for e in second.events(SH)] == [1, 2, 3]


def test_constructor_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="confirmations"):
        JsonRpcChain("http://127.0.0.1:1", ADMIN_KEY, confirmations=0)
    with pytest.raises(ValueError, match="headroom"):
        JsonRpcChain("http://127.0.0.1:1", ADMIN_KEY, gas_headroom=0.5)
