"""A key-less, read-only view of an AnchorRegistry over JSON-RPC, for auditors.

Separate from `JsonRpcChain` because an auditor holds no key and must not be able to send:
this view reuses the contract reading of `Web3Chain` and refuses every transaction.
"""

from __future__ import annotations

import contextlib
from typing import Any, cast

from eth_typing import ChecksumAddress, HexStr
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

from ledger.anchor._artifact import Artifact, load_artifact
from ledger.anchor._base import TxRef
from ledger.anchor._web3chain import Web3Chain
from ledger.anchor.errors import AnchorError

__all__ = ["JsonRpcReader"]

_ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class JsonRpcReader(Web3Chain):
    """A key-less, read-only view of one AnchorRegistry on a JSON-RPC node (for auditors).

    `lookup`, `latest` and `events` work as on `JsonRpcChain`; anything that would send a
    transaction raises AnchorError. Unreachable nodes raise ChainUnavailable.
    """

    def __init__(
        self,
        url: str,
        contract_address: str,
        *,
        request_timeout: float = 10.0,
        artifact: Artifact | None = None,
    ) -> None:
        provider = HTTPProvider(
            url, request_kwargs={"timeout": request_timeout}, exception_retry_configuration=None
        )
        w3 = Web3(provider)
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        try:
            address = Web3.to_checksum_address(contract_address)
        except ValueError as exc:
            raise AnchorError(f"contract address is malformed: {contract_address!r}") from exc
        super().__init__(w3, artifact or load_artifact(), address, contextlib.nullcontext())
        self.url = url

    @property
    def account(self) -> str:
        return _ZERO_ADDRESS

    @property
    def chain_id(self) -> int:
        with self._guard("chain id"):
            return int(self._w3.eth.chain_id)

    def has_contract(self) -> bool:
        """Whether the bound address holds code (an empty chain has none)."""
        with self._guard(f"code at {self.contract_address}"):
            return len(self._w3.eth.get_code(cast(ChecksumAddress, self.contract_address))) > 0

    def _send(self, call: Any) -> TxRef:
        raise AnchorError("read-only chain view: cannot send transactions")

    def _receipt(self, tx: TxRef, timeout: float | None) -> Any:
        with self._guard(f"receipt of {tx.tx_hash}"):
            return self._w3.eth.get_transaction_receipt(HexStr(tx.tx_hash))
