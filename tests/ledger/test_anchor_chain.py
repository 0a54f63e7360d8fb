"""The Chain contract, run against both implementations with the real AnchorRegistry bytecode.

``embedded`` runs in-process; ``jsonrpc`` runs JsonRpcChain against a Hardhat node on loopback
(skipped if ledger/contracts/node_modules is missing).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from web3 import Web3

from ledger.anchor import (
    AnchorRecord,
    Chain,
    ContractRevert,
    EmbeddedChain,
    JsonRpcChain,
    TxRef,
)
from tests.ledger.chain_fixtures import (  # noqa: F401 -- pytest fixture
    ADMIN_KEY,
    ANCHORER_KEY,
    OUTSIDER_KEY,
    hardhat_node,
)

SH = "yrd.gov.cn/log/sh"
JS = "yrd.gov.cn/log/js"
ROOT_A = bytes.fromhex("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
ROOT_B = bytes.fromhex("debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")


@dataclass
class Roles:
    admin: Chain
    anchorer: Chain
    outsider: Chain


@pytest.fixture(params=["embedded", "jsonrpc"])
def roles(request: pytest.FixtureRequest) -> Roles:
    if request.param == "embedded":
        admin = EmbeddedChain()
        admin.deploy()
        return Roles(
            admin, admin.as_account(admin.accounts[1]), admin.as_account(admin.accounts[2])
        )
    node = request.getfixturevalue("hardhat_node")
    admin = JsonRpcChain(node.url, ADMIN_KEY, timeout=30)
    address = admin.deploy()
    return Roles(
        admin,
        JsonRpcChain(node.url, ANCHORER_KEY, address, timeout=30),
        JsonRpcChain(node.url, OUTSIDER_KEY, address, timeout=30),
    )


@pytest.fixture
def granted(roles: Roles) -> Roles:
    roles.admin.grant(SH, roles.anchorer.account)
    return roles


def _revert_name(excinfo: pytest.ExceptionInfo[ContractRevert]) -> str:
    return excinfo.value.error_name


def test_deploy_binds_the_contract_with_the_deployer_as_admin(roles: Roles) -> None:
    assert Web3.is_checksum_address(roles.admin.contract_address)
    assert roles.anchorer.contract_address == roles.admin.contract_address


def test_anchor_then_wait_returns_the_record(granted: Roles) -> None:
    tx = granted.anchorer.anchor(SH, 7, ROOT_A)
    assert isinstance(tx, TxRef)
    record = granted.anchorer.wait(tx)
    assert isinstance(record, AnchorRecord)
    assert (record.origin, record.tree_size, record.root) == (SH, 7, ROOT_A)
    assert record.tx_hash == tx.tx_hash
    assert record.anchorer == granted.anchorer.account
    assert record.block_number > 0 and record.timestamp > 0


def test_lookup_and_latest_read_contract_storage(granted: Roles) -> None:
    first = granted.anchorer.wait(granted.anchorer.anchor(SH, 7, ROOT_A))
    second = granted.anchorer.wait(granted.anchorer.anchor(SH, 12, ROOT_B))

    found = granted.outsider.lookup(SH, 7)
    assert found is not None
    assert (found.root, found.block_number, found.timestamp) == (
        ROOT_A,
        first.block_number,
        first.timestamp,
    )
    assert granted.outsider.lookup(SH, 8) is None
    latest = granted.outsider.latest(SH)
    assert latest is not None
    assert (latest.tree_size, latest.root, latest.block_number) == (12, ROOT_B, second.block_number)
    assert granted.outsider.latest(JS) is None


def test_events_are_decoded_per_origin_in_order(granted: Roles) -> None:
    granted.admin.grant(JS, granted.anchorer.account)
    granted.anchorer.wait(granted.anchorer.anchor(SH, 1, ROOT_A))
    granted.anchorer.wait(granted.anchorer.anchor(JS, 1, ROOT_B))
    granted.anchorer.wait(granted.anchorer.anchor(SH, 2, ROOT_B))

    events = granted.outsider.events(SH)
    assert [(e.tree_size, e.root) for e in events] == [(1, ROOT_A), (2, ROOT_B)]
    assert all(e.origin == SH and e.anchorer == granted.anchorer.account for e in events)
    later = granted.outsider.events(SH, from_block=events[1].block_number)
    assert [e.tree_size for e in later] == [2]


def test_unauthorised_account_is_refused_on_chain(granted: Roles) -> None:
    with pytest.raises(ContractRevert) as excinfo:
        granted.outsider.anchor(SH, 1, ROOT_A)
    assert _revert_name(excinfo) == "NotAnchorer"
    assert excinfo.value.error_args["caller"] == granted.outsider.account


def test_anchorer_of_one_origin_cannot_anchor_another(granted: Roles) -> None:
    with pytest.raises(ContractRevert) as excinfo:
        granted.anchorer.anchor(JS, 1, ROOT_A)
    assert _revert_name(excinfo) == "NotAnchorer"


def test_shrinking_size_is_refused(granted: Roles) -> None:
    granted.anchorer.wait(granted.anchorer.anchor(SH, 10, ROOT_A))
    with pytest.raises(ContractRevert) as excinfo:
        granted.anchorer.anchor(SH, 9, ROOT_B)
    assert _revert_name(excinfo) == "TreeSizeNotGrowing"
    assert excinfo.value.error_args["latestSize"] == 10
    assert excinfo.value.error_args["treeSize"] == 9


def test_duplicate_size_is_refused(granted: Roles) -> None:
    granted.anchorer.wait(granted.anchorer.anchor(SH, 10, ROOT_A))
    with pytest.raises(ContractRevert) as excinfo:
        granted.anchorer.anchor(SH, 10, ROOT_B)
    assert _revert_name(excinfo) == "TreeSizeNotGrowing"
    assert granted.outsider.lookup(SH, 10).root == ROOT_A


def test_zero_root_is_refused(granted: Roles) -> None:
    with pytest.raises(ContractRevert) as excinfo:
        granted.anchorer.anchor(SH, 1, bytes(32))
    assert _revert_name(excinfo) == "ZeroRoot"


def test_only_the_admin_grants(roles: Roles) -> None:
    with pytest.raises(ContractRevert) as excinfo:
        roles.outsider.grant(SH, roles.outsider.account)
    assert _revert_name(excinfo) == "NotAdmin"
    assert not roles.admin.is_anchorer(SH, roles.outsider.account)


def test_revoke_withdraws_the_right_to_anchor(granted: Roles) -> None:
    granted.anchorer.wait(granted.anchorer.anchor(SH, 1, ROOT_A))
    assert granted.admin.is_anchorer(SH, granted.anchorer.account)
    granted.admin.revoke(SH, granted.anchorer.account)
    assert not granted.admin.is_anchorer(SH, granted.anchorer.account)
    with pytest.raises(ContractRevert) as excinfo:
        granted.anchorer.anchor(SH, 2, ROOT_B)
    assert _revert_name(excinfo) == "NotAnchorer"


def test_deploy_for_another_admin(roles: Roles) -> None:
    roles.admin.deploy(admin=roles.anchorer.account)
    with pytest.raises(ContractRevert) as excinfo:
        roles.admin.grant(SH, roles.admin.account)
    assert _revert_name(excinfo) == "NotAdmin"


@pytest.mark.parametrize(
    ("size", "root", "error"),
    [
        (-1, ROOT_A, ValueError),
        (2**64, ROOT_A, ValueError),
        (1, ROOT_A[:31], ValueError),
        (1, ROOT_A.hex(), ValueError),
        ("1", ROOT_A, TypeError),
    ],
)
def test_malformed_arguments_are_refused_before_sending(
    granted: Roles, size: object, root: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        granted.anchorer.anchor(SH, size, root)  # type: ignore[arg-type]
