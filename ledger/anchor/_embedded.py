"""EmbeddedChain: the AnchorRegistry bytecode running on an in-process EVM.

web3's EthereumTesterProvider on eth-tester/py-evm runs the committed artifact's bytecode, the
same bytes a production chain runs, with auto-mining (one block per transaction) and ten funded,
unlocked accounts. It needs no server, which makes it the default for one-machine deployments.

Its state lives in memory only: a restart starts from an empty chain with no contract. The
anchorer therefore deploys a fresh registry on start and re-anchors the checkpoints it has
persisted; anchors on the embedded chain show what this process saw, not what a consortium
agreed on (use JsonRpcChain against a permissioned chain for that).
"""

from __future__ import annotations

import threading
from typing import Any

from eth_typing import HexStr
from web3 import EthereumTesterProvider, Web3

from ledger._extras import require
from ledger.anchor._artifact import Artifact, load_artifact
from ledger.anchor._base import TxRef
from ledger.anchor._web3chain import Web3Chain
from ledger.anchor.errors import AnchorError

__all__ = ["EmbeddedChain"]

_DEFAULT_TIMEOUT = 10.0


class EmbeddedChain(Web3Chain):
    """An in-memory chain; `as_account` gives views of the same chain for other accounts.

    ``account`` defaults to the first funded account, which then deploys and administers.
    Instances made with `as_account` share the EVM, the bound contract and one lock, so they
    may be used from several threads.
    """

    def __init__(self, account: str | None = None, *, artifact: Artifact | None = None) -> None:
        for module in ("eth_tester", "eth"):  # eth-tester and py-evm: the embedded-chain extra
            require(module, "embedded-chain", 'the embedded chain (anchor_mode = "embedded")')
        w3 = Web3(EthereumTesterProvider())
        self._shared = _Shared(w3, artifact or load_artifact())
        super().__init__(w3, self._shared.artifact, None, self._shared.lock)
        self._account = self._pick(account)

    @property
    def account(self) -> str:
        return self._account

    @property
    def accounts(self) -> list[str]:
        """The chain's funded, unlocked accounts (checksum addresses)."""
        return list(self._shared.accounts)

    def as_account(self, account: str) -> EmbeddedChain:
        """A view of this same chain and contract that sends from ``account``."""
        other = object.__new__(EmbeddedChain)
        other._shared = self._shared
        Web3Chain.__init__(other, self._w3, self._artifact, self.contract_address, self._lock)
        other._account = self._pick(account)
        return other

    def deploy(self, admin: str | None = None) -> str:
        address = super().deploy(admin)
        self._shared.contract_address = address
        return address

    def _require_contract(self) -> Any:
        # A sibling may have deployed after this view was made.
        if self._contract is None and self._shared.contract_address is not None:
            self._bind(self._shared.contract_address)
        return super()._require_contract()

    def _pick(self, account: str | None) -> str:
        if account is None:
            return self._shared.accounts[0]
        address = Web3.to_checksum_address(account)
        if address not in self._shared.accounts:
            raise AnchorError(f"account {address} is not an account of the embedded chain")
        return address

    def _send(self, call: Any) -> TxRef:
        return TxRef(call.transact({"from": self._account}).to_0x_hex())

    def _receipt(self, tx: TxRef, timeout: float | None) -> Any:
        return self._w3.eth.wait_for_transaction_receipt(
            HexStr(tx.tx_hash), timeout=_DEFAULT_TIMEOUT if timeout is None else timeout
        )


class _Shared:
    """State shared by all account views of one embedded chain."""

    def __init__(self, w3: Web3, artifact: Artifact) -> None:
        self.artifact = artifact
        self.lock = threading.RLock()
        self.accounts = [Web3.to_checksum_address(a) for a in w3.eth.accounts]
        self.contract_address: str | None = None
