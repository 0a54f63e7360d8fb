"""What both chains share: the contract calls, views, event decoding and revert handling.

Subclasses say how a transaction is sent (`_send`) and how its receipt is awaited
(`_receipt`); everything else talks to the contract through web3 the same way.
"""

from __future__ import annotations

import abc
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

# py_ecc (imported by web3) and py-evm (imported by eth-tester, through _translate) raise the
# interpreter's recursion limit to 100,000 as an import side effect. With that limit the C
# json parser recurses past the end of the C stack on deeply nested input and the whole
# process dies of SIGSEGV instead of raising RecursionError (issue 11, finding 1). Our
# contract makes no nested calls, so the EVM runs well within the usual limit: keep it.
_RECURSION_LIMIT = sys.getrecursionlimit()

from eth_typing import HexStr  # noqa: E402
from web3 import Web3  # noqa: E402
from web3.contract import Contract  # noqa: E402
from web3.logs import DISCARD  # noqa: E402
from web3.types import TxParams  # noqa: E402

from ledger.anchor._artifact import Artifact  # noqa: E402
from ledger.anchor._base import (  # noqa: E402
    AnchorRecord,
    Chain,
    TxRef,
    check_anchor_args,
    check_origin,
)
from ledger.anchor._translate import translated  # noqa: E402
from ledger.anchor.errors import AnchorError  # noqa: E402

sys.setrecursionlimit(_RECURSION_LIMIT)

_ZERO_ROOT = bytes(32)


class Web3Chain(Chain):
    """A Chain over a web3 instance; ``lock`` serialises access where the backend needs it."""

    def __init__(
        self,
        w3: Web3,
        artifact: Artifact,
        contract_address: str | None,
        lock: contextlib.AbstractContextManager[Any],
    ) -> None:
        self._w3 = w3
        self._artifact = artifact
        self._lock = lock
        self._contract: Contract | None = None
        if contract_address is not None:
            self._bind(contract_address)

    # -- what subclasses provide -------------------------------------------------------------

    @abc.abstractmethod
    def _send(self, call: Any) -> TxRef:
        """Send a prepared contract call or constructor from `account`; reverts must surface."""

    @abc.abstractmethod
    def _receipt(self, tx: TxRef, timeout: float | None) -> Any:
        """The receipt of ``tx`` once it has the required confirmations."""

    # -- the Chain interface -----------------------------------------------------------------

    @property
    def contract_address(self) -> str | None:
        return None if self._contract is None else self._contract.address

    def deploy(self, admin: str | None = None) -> str:
        admin = Web3.to_checksum_address(admin or self.account)
        factory = self._w3.eth.contract(abi=self._artifact.abi, bytecode=self._artifact.bytecode)
        with self._guard("deploy"):
            tx = self._send(factory.constructor(admin))
            receipt = self._confirmed(tx, None)
        if not receipt["contractAddress"]:
            raise AnchorError(f"deploy: receipt of {tx.tx_hash} has no contract address")
        self._bind(receipt["contractAddress"])
        address: str = self._require_contract().address
        return address

    def grant(self, origin: str, account: str) -> TxRef:
        check_origin(origin)
        fn = self._functions().grantAnchorer(origin, Web3.to_checksum_address(account))
        return self._transact_confirmed(fn, f"grant {origin}")

    def revoke(self, origin: str, account: str) -> TxRef:
        check_origin(origin)
        fn = self._functions().revokeAnchorer(origin, Web3.to_checksum_address(account))
        return self._transact_confirmed(fn, f"revoke {origin}")

    def is_anchorer(self, origin: str, account: str) -> bool:
        fn = self._functions().isAnchorer(origin, Web3.to_checksum_address(account))
        with self._guard("is_anchorer"):
            return bool(fn.call())

    def anchor(self, origin: str, tree_size: int, root: bytes) -> TxRef:
        check_anchor_args(origin, tree_size, root)
        fn = self._functions().anchor(origin, tree_size, bytes(root))
        with self._guard(f"anchor {origin} at size {tree_size}"):
            return self._send(fn)

    def wait(self, tx: TxRef, timeout: float | None = None) -> AnchorRecord:
        contract = self._require_contract()
        with self._guard(f"wait for {tx.tx_hash}"):
            receipt = self._confirmed(tx, timeout)
            logs = contract.events.Anchored().process_receipt(receipt, errors=DISCARD)
            if not logs:
                raise AnchorError(f"transaction {tx.tx_hash} recorded no Anchored event")
            timestamp = self._w3.eth.get_block(receipt["blockNumber"])["timestamp"]
        return _record(logs[0], timestamp)

    def lookup(self, origin: str, tree_size: int) -> AnchorRecord | None:
        check_anchor_args(origin, tree_size, _ZERO_ROOT)
        with self._guard(f"lookup {origin} at size {tree_size}"):
            root, block, timestamp = self._functions().anchorOf(origin, tree_size).call()
        if root == _ZERO_ROOT:
            return None
        return AnchorRecord(origin, tree_size, bytes(root), block, timestamp)

    def latest(self, origin: str) -> AnchorRecord | None:
        check_origin(origin)
        with self._guard(f"latest of {origin}"):
            size, root, block, timestamp = self._functions().latest(origin).call()
        if size == 0:
            return None
        return AnchorRecord(origin, size, bytes(root), block, timestamp)

    def events(
        self, origin: str, from_block: int = 0, to_block: int | None = None
    ) -> list[AnchorRecord]:
        check_origin(origin)
        contract = self._require_contract()
        with self._guard(f"events of {origin}"):
            logs = contract.events.Anchored.get_logs(
                from_block=from_block,
                to_block="latest" if to_block is None else to_block,
                argument_filters={"originHash": Web3.keccak(text=origin)},
            )
            times: dict[int, int] = {}
            for log in logs:
                if log["blockNumber"] not in times:
                    block = self._w3.eth.get_block(log["blockNumber"])
                    times[log["blockNumber"]] = block["timestamp"]
        ordered = sorted(logs, key=lambda log: (log["blockNumber"], log["logIndex"]))
        return [
            _record(log, times[log["blockNumber"]])
            for log in ordered
            if log["args"]["origin"] == origin
        ]

    # -- helpers -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        with self._lock, translated(self._artifact, doing):
            yield

    def _bind(self, address: str) -> None:
        self._contract = self._w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=self._artifact.abi
        )

    def _require_contract(self) -> Any:
        if self._contract is None:
            raise AnchorError("no contract bound: call deploy() or pass contract_address")
        return self._contract

    def _functions(self) -> Any:
        return self._require_contract().functions

    def _transact_confirmed(self, fn: Any, doing: str) -> TxRef:
        with self._guard(doing):
            tx = self._send(fn)
            self._confirmed(tx, None)
        return tx

    def _confirmed(self, tx: TxRef, timeout: float | None) -> Any:
        receipt = self._receipt(tx, timeout)
        if receipt["status"] != 1:
            raise self._replayed_revert(tx, receipt)
        return receipt

    def _replayed_revert(self, tx: TxRef, receipt: Any) -> AnchorError:
        """A mined transaction reverted: replay it as a call to learn the custom error."""
        sent = self._w3.eth.get_transaction(HexStr(tx.tx_hash))
        call: TxParams = {"from": sent["from"], "to": sent["to"], "data": sent["input"]}
        try:
            with translated(self._artifact, f"replay of {tx.tx_hash}"):
                self._w3.eth.call(call, receipt["blockNumber"])
        except AnchorError as exc:
            return exc
        return AnchorError(
            f"transaction {tx.tx_hash} reverted without a reason: "
            f"gas used {receipt['gasUsed']} (out of gas?)"
        )


def _record(log: Any, timestamp: int) -> AnchorRecord:
    args = log["args"]
    return AnchorRecord(
        origin=args["origin"],
        tree_size=args["treeSize"],
        root=bytes(args["root"]),
        block_number=log["blockNumber"],
        timestamp=timestamp,
        tx_hash=log["transactionHash"].to_0x_hex(),
        anchorer=args["anchorer"],
    )
