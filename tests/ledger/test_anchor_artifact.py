"""The committed artifact matches its source, and foreign errors are all translated."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pytest
import requests
from eth_tester.exceptions import TransactionFailed
from web3 import Web3
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    ProviderConnectionError,
    TimeExhausted,
    Web3RPCError,
)

import ledger.anchor
from ledger.anchor import AnchorError, ChainUnavailable, ContractRevert, EmbeddedChain
from ledger.anchor._artifact import load_artifact
from ledger.anchor._translate import translated
from ledger.errors import Error
from tests.ledger.chain_fixtures import CONTRACTS


def test_artifact_records_the_sha256_of_the_committed_source() -> None:
    source = (CONTRACTS / "AnchorRegistry.sol").read_bytes()
    assert load_artifact().source_sha256 == hashlib.sha256(source).hexdigest()


def test_artifact_solc_version_is_the_pinned_one() -> None:
    pinned = json.loads((CONTRACTS / "package.json").read_text())["devDependencies"]["solc"]
    assert load_artifact().solc_version.startswith(pinned + "+")


def test_artifact_matches_a_fresh_compile() -> None:
    if shutil.which("node") is None:
        pytest.skip("node not on PATH: cannot recompile the contract")
    if not (CONTRACTS / "node_modules" / "solc").is_dir():
        pytest.skip("ledger/contracts/node_modules missing: run `npm ci` in ledger/contracts")
    fresh = subprocess.run(
        ["node", "build.js", "--out", "-"],
        cwd=CONTRACTS,
        capture_output=True,
        check=True,
        timeout=300,
    ).stdout.decode()
    committed = (CONTRACTS / "AnchorRegistry.json").read_text()
    assert fresh == committed, "AnchorRegistry.json is stale: run `node build.js`"


def test_embedded_chain_runs_the_artifact_bytecode() -> None:
    chain = EmbeddedChain()
    address = chain.deploy()
    code = chain._w3.eth.get_code(address)
    assert code.to_0x_hex() == load_artifact().deployed_bytecode


def test_all_is_sorted_and_complete() -> None:
    public = sorted(n for n in vars(ledger.anchor) if not n.startswith("_") and n != "annotations")
    assert ledger.anchor.__all__ == sorted(ledger.anchor.__all__)
    assert set(ledger.anchor.__all__) == set(public) - {"errors"}


def test_errors_have_the_ledger_root() -> None:
    for cls in (AnchorError, ChainUnavailable, ContractRevert):
        assert issubclass(cls, Error)


def _selector(signature: str) -> str:
    return Web3.keccak(text=signature)[:4].hex()


_ZERO_ROOT_DATA = "0x" + _selector("ZeroRoot()")
_PANIC_DATA = "0x4e487b71" + (0x11).to_bytes(32, "big").hex()

# Every foreign exception the chains can meet, and what it must become.
FOREIGN = [
    (requests.ConnectionError("refused"), ChainUnavailable, None),
    (requests.Timeout("slow"), ChainUnavailable, None),
    (ProviderConnectionError("down"), ChainUnavailable, None),
    (TimeExhausted("no receipt"), ChainUnavailable, None),
    (ConnectionRefusedError("refused"), ChainUnavailable, None),
    (ContractCustomError(_ZERO_ROOT_DATA, data=_ZERO_ROOT_DATA), ContractRevert, "ZeroRoot"),
    (ContractPanicError("panic", data=_PANIC_DATA), ContractRevert, "Panic"),
    (ContractLogicError("reverted", data="0xdeadbeef"), ContractRevert, "unknown"),
    (TransactionFailed(bytes.fromhex(_ZERO_ROOT_DATA[2:])), ContractRevert, "ZeroRoot"),
    (Web3RPCError("insufficient funds"), AnchorError, None),
    (requests.HTTPError("502"), AnchorError, None),
    (ValueError("bad response"), AnchorError, None),
]


@pytest.mark.parametrize(("foreign", "ours", "name"), FOREIGN, ids=lambda x: type(x).__name__)
def test_foreign_exceptions_are_translated(
    foreign: Exception, ours: type[AnchorError], name: str | None
) -> None:
    with pytest.raises(ours) as excinfo, translated(load_artifact(), "test"):
        raise foreign
    assert excinfo.value.__cause__ is foreign
    if name is not None:
        assert excinfo.value.error_name == name
