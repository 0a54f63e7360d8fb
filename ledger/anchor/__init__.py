"""Anchoring checkpoint roots on an EVM chain (the AnchorRegistry contract).

Public names:

- `Chain`: the interface, whose docstring is the contract every implementation keeps;
- `EmbeddedChain`: in-process EVM, state in memory only (lost on restart);
- `JsonRpcChain`: any Ethereum JSON-RPC node (Besu QBFT, FISCO BCOS web3 RPC), signing locally;
- `TxRef`, `AnchorRecord`: what they return;
- `Anchorer`: anchors a log's checkpoints periodically, durably (`AnchorStore`, `AnchorRow`),
  with `AnchorLag` and `AnchorerStatus` for metrics;
- `AnchorError`, `ChainUnavailable`, `ContractRevert`: what they raise (see `errors`).

See docs/ledger.md for running a consortium chain and the gas measurements.
"""

from ledger.anchor._anchor_store import AnchorRow, AnchorStore
from ledger.anchor._anchorer import Anchorer
from ledger.anchor._base import AnchorRecord, Chain, TxRef
from ledger.anchor._embedded import EmbeddedChain
from ledger.anchor._jsonrpc import JsonRpcChain
from ledger.anchor._queries import AnchorerStatus, AnchorLag
from ledger.anchor.errors import AnchorError, ChainUnavailable, ContractRevert

__all__ = [
    "AnchorError",
    "AnchorLag",
    "AnchorRecord",
    "AnchorRow",
    "AnchorStore",
    "Anchorer",
    "AnchorerStatus",
    "Chain",
    "ChainUnavailable",
    "ContractRevert",
    "EmbeddedChain",
    "JsonRpcChain",
    "TxRef",
]
