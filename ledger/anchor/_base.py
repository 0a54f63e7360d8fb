"""The chain interface that the anchorer and auditors program against.

A `Chain` talks to one AnchorRegistry contract as one account (the signer). Implementations:
`EmbeddedChain` (in-process EVM, the default) and `JsonRpcChain` (any Ethereum JSON-RPC node,
e.g. Besu QBFT or FISCO BCOS web3 RPC).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

__all__ = ["AnchorRecord", "Chain", "TxRef"]

_UINT64_MAX = 2**64 - 1


@dataclass(frozen=True)
class TxRef:
    """A sent transaction, identified by its hash (``0x``-prefixed hex)."""

    tx_hash: str


@dataclass(frozen=True)
class AnchorRecord:
    """One anchored checkpoint: ``root`` of ``origin``'s log at ``tree_size``.

    ``tx_hash`` and ``anchorer`` are known when the record comes from a receipt or an event,
    and are None when it comes from contract storage (`Chain.lookup`, `Chain.latest`).
    """

    origin: str
    tree_size: int
    root: bytes
    block_number: int
    timestamp: int
    tx_hash: str | None = None
    anchorer: str | None = None


class Chain(abc.ABC):
    """One account's view of one AnchorRegistry contract.

    Contract of every implementation:

    - Transactions are sent from `account`; the contract decides authorisation. A revert is
      raised as `ContractRevert` whose ``error_name`` is the custom error (``NotAdmin``,
      ``NotAnchorer``, ``TreeSizeNotGrowing``, ``ZeroRoot``, ``ZeroAddress``).
    - A node that cannot be reached, or a receipt that does not arrive within the timeout,
      raises `ChainUnavailable`. Nothing else escapes but `AnchorError` and its subclasses, or
      ValueError/TypeError for malformed arguments (checked before anything is sent).
    - `deploy`, `grant` and `revoke` return once their transaction is confirmed; `anchor`
      returns as soon as the transaction is accepted, and `wait` confirms it.
    - Views read the latest block and return None when nothing is anchored.
    """

    @property
    @abc.abstractmethod
    def account(self) -> str:
        """Checksum address of the signing account."""

    @property
    @abc.abstractmethod
    def contract_address(self) -> str | None:
        """Checksum address of the bound contract, None before `deploy`."""

    @abc.abstractmethod
    def deploy(self, admin: str | None = None) -> str:
        """Deploy the registry for ``admin`` (default `account`), bind to it, return its address."""

    @abc.abstractmethod
    def grant(self, origin: str, account: str) -> TxRef:
        """Allow ``account`` to anchor for ``origin`` (admin only)."""

    @abc.abstractmethod
    def revoke(self, origin: str, account: str) -> TxRef:
        """Withdraw ``account``'s right to anchor for ``origin`` (admin only)."""

    @abc.abstractmethod
    def is_anchorer(self, origin: str, account: str) -> bool:
        """Whether ``account`` may anchor for ``origin``."""

    @abc.abstractmethod
    def anchor(self, origin: str, tree_size: int, root: bytes) -> TxRef:
        """Send an anchor of ``root`` (32 bytes) at ``tree_size``; confirm it with `wait`."""

    @abc.abstractmethod
    def wait(self, tx: TxRef, timeout: float | None = None) -> AnchorRecord:
        """Wait until ``tx`` is mined and confirmed; return the anchor it recorded.

        Raises ContractRevert if it was mined but reverted, ChainUnavailable on timeout, and
        AnchorError if the transaction is not an anchor.
        """

    @abc.abstractmethod
    def lookup(self, origin: str, tree_size: int) -> AnchorRecord | None:
        """The anchor of ``origin`` at exactly ``tree_size``, read from contract storage."""

    @abc.abstractmethod
    def latest(self, origin: str) -> AnchorRecord | None:
        """The anchor of ``origin`` with the largest tree size."""

    @abc.abstractmethod
    def events(
        self, origin: str, from_block: int = 0, to_block: int | None = None
    ) -> list[AnchorRecord]:
        """Decoded ``Anchored`` events of ``origin`` in block order (``to_block`` None: latest)."""

    def close(self) -> None:  # noqa: B027 -- optional hook, nothing to release by default
        """Release connections; the default does nothing."""


def check_anchor_args(origin: str, tree_size: int, root: bytes) -> None:
    """Reject malformed arguments before they reach the chain (the contract checks the rest)."""
    check_origin(origin)
    if not isinstance(tree_size, int) or isinstance(tree_size, bool):
        raise TypeError(f"tree size must be an int, got {type(tree_size).__name__}")
    if not 0 <= tree_size <= _UINT64_MAX:
        raise ValueError(f"tree size out of uint64 range: got {tree_size}")
    if not isinstance(root, bytes | bytearray) or len(root) != 32:
        got = len(root) if isinstance(root, bytes | bytearray) else type(root).__name__
        raise ValueError(f"root must be 32 bytes: got {got}")


def check_origin(origin: str) -> None:
    if not isinstance(origin, str) or not origin:
        raise ValueError(f"origin must be a non-empty string: got {origin!r}")
