"""JsonRpcChain: AnchorRegistry on any Ethereum JSON-RPC node, transactions signed locally.

Works with Hyperledger Besu (QBFT), FISCO BCOS's web3 RPC, Hardhat and others. The private key
never leaves the process: transactions are signed with eth-account and sent raw.

- Nonces: a local counter per instance (one instance per account), taken from
  ``eth_getTransactionCount(account, "pending")`` on first use and again after a failed send
  or a receipt timeout; a send refused for its nonce is retried once with the resynced count.
- Fees: ``gas_price`` set (e.g. 0 on a zero-gas permissioned chain) sends legacy transactions
  at that price; otherwise EIP-1559 fees from the node's latest base fee and
  ``eth_maxPriorityFeePerGas`` (legacy ``eth_gasPrice`` if the node has no base fee).
- Gas: ``eth_estimateGas`` times ``gas_headroom``; the estimate is also where a revert is
  caught and decoded before anything is sent.
- Receipts: polled until the including block has ``confirmations`` blocks (1 = included,
  enough under QBFT's immediate finality) or ``timeout`` seconds pass (ChainUnavailable).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from typing import Any, cast

from eth_account import Account
from eth_typing import ChecksumAddress, HexStr
from web3 import HTTPProvider, Web3
from web3.exceptions import TransactionNotFound, Web3Exception, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware

from ledger.anchor._artifact import Artifact, load_artifact
from ledger.anchor._base import TxRef
from ledger.anchor._web3chain import Web3Chain
from ledger.anchor.errors import ChainUnavailable

__all__ = ["JsonRpcChain"]


class JsonRpcChain(Web3Chain):
    """One signing account on one JSON-RPC endpoint.

    ``contract_address`` binds to a deployed registry (or call `deploy`). ``request_timeout``
    bounds each HTTP request, ``timeout`` the wait for a receipt. Unreachable nodes raise
    ChainUnavailable without retries, so the caller decides when to try again.
    """

    def __init__(
        self,
        url: str,
        private_key_hex: str,
        contract_address: str | None = None,
        *,
        confirmations: int = 1,
        timeout: float = 60.0,
        request_timeout: float = 10.0,
        poll_interval: float = 0.2,
        gas_price: int | None = None,
        max_fee_per_gas: int | None = None,
        max_priority_fee_per_gas: int | None = None,
        gas_headroom: float = 1.25,
        artifact: Artifact | None = None,
    ) -> None:
        if confirmations < 1:
            raise ValueError(f"confirmations must be at least 1: got {confirmations}")
        if gas_headroom < 1.0:
            raise ValueError(f"gas headroom must be at least 1.0: got {gas_headroom}")
        provider = HTTPProvider(
            url, request_kwargs={"timeout": request_timeout}, exception_retry_configuration=None
        )
        w3 = Web3(provider)
        # QBFT/IBFT blocks carry validator data in extraData, longer than mainnet's 32 bytes.
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        super().__init__(
            w3, artifact or load_artifact(), contract_address, contextlib.nullcontext()
        )
        self._signer = Account.from_key(private_key_hex)
        self._confirmations = confirmations
        self._timeout = timeout
        self._poll = poll_interval
        self._gas_price = gas_price
        self._max_fee = max_fee_per_gas
        self._max_priority = max_priority_fee_per_gas
        self._headroom = gas_headroom
        self._send_lock = threading.Lock()
        self._nonce: int | None = None
        self._chain_id: int | None = None

    @property
    def account(self) -> str:
        address: str = self._signer.address
        return address

    def _send(self, call: Any) -> TxRef:
        with self._send_lock:
            estimate = call.estimate_gas({"from": self.account})
            fields = {
                "from": self.account,
                "chainId": self._get_chain_id(),
                "gas": math.ceil(estimate * self._headroom),
                **self._fees(),
            }
            try:
                return self._sign_and_send(call, fields)
            except Web3RPCError as exc:
                if "nonce" not in str(exc).lower():
                    raise
                # Another writer used this key, or the node lost our pending transactions:
                # the counter was just resynced, so one more try uses the node's count.
                return self._sign_and_send(call, fields)

    def _sign_and_send(self, call: Any, fields: dict[str, Any]) -> TxRef:
        try:
            if self._nonce is None:
                self._nonce = self._w3.eth.get_transaction_count(
                    cast(ChecksumAddress, self.account), "pending"
                )
            tx = call.build_transaction({**fields, "nonce": self._nonce})
            signed = Account.sign_transaction(tx, self._signer.key)
            tx_hash = self._w3.eth.send_raw_transaction(signed.raw_transaction)
        except BaseException:
            self._nonce = None  # resync from the node on the next send
            raise
        self._nonce += 1
        return TxRef(tx_hash.to_0x_hex())

    def _receipt(self, tx: TxRef, timeout: float | None) -> Any:
        limit = self._timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            receipt = self._poll_receipt(tx)
            if receipt is not None:
                depth = self._w3.eth.block_number - receipt["blockNumber"] + 1
                if depth >= self._confirmations:
                    return receipt
            if time.monotonic() >= deadline:
                self._nonce = None  # a lost transaction leaves a gap: resync before the next send
                got = "not mined" if receipt is None else f"{depth} confirmations"
                raise ChainUnavailable(
                    f"transaction {tx.tx_hash} not confirmed within {limit}s: "
                    f"expected {self._confirmations} confirmations, got {got}"
                )
            time.sleep(self._poll)

    def _poll_receipt(self, tx: TxRef) -> Any:
        try:
            return self._w3.eth.get_transaction_receipt(HexStr(tx.tx_hash))
        except TransactionNotFound:
            return None

    def _get_chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self._w3.eth.chain_id
        return self._chain_id

    def _fees(self) -> dict[str, int]:
        if self._gas_price is not None:
            return {"gasPrice": self._gas_price}
        base_fee = self._w3.eth.get_block("latest").get("baseFeePerGas")
        if base_fee is None:
            return {"gasPrice": self._w3.eth.gas_price}
        priority = self._max_priority
        if priority is None:
            try:
                priority = self._w3.eth.max_priority_fee
            except Web3Exception:  # nodes without eth_maxPriorityFeePerGas
                priority = 0
        max_fee = self._max_fee if self._max_fee is not None else 2 * base_fee + priority
        return {"maxFeePerGas": max_fee, "maxPriorityFeePerGas": priority}
