"""Errors raised by ledger.anchor.

Hierarchy (``code`` is each error's ``ledger.errors.Code``)::

    ledger.errors.Error
    └── AnchorError               ANCHOR             an anchoring operation failed (artifact,
        │                                            receipt, decoding)
        ├── ChainUnavailable      CHAIN_UNAVAILABLE  the node could not be reached or did not
        │                                            answer in time
        └── ContractRevert        CONTRACT_REVERT    the contract refused the call with a named
                                                     custom error (``error_name``)

Foreign exceptions (web3, requests, eth-tester) are translated in one place,
`ledger.anchor._translate`, and chained with ``raise ... from exc``.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import Code, Error

__all__ = ["AnchorError", "ChainUnavailable", "ContractRevert"]


class AnchorError(Error):
    """An anchoring operation failed."""

    code = Code.ANCHOR


class ChainUnavailable(AnchorError):
    """The chain node could not be reached, or a receipt did not arrive in time.

    Retrying later is safe: a transaction that was sent may still be mined, and the contract
    refuses a second anchor of the same tree size with ``TreeSizeNotGrowing``.
    """

    code = Code.CHAIN_UNAVAILABLE


class ContractRevert(AnchorError):
    """The contract reverted; ``error_name`` is the Solidity custom error (e.g. ``ZeroRoot``).

    ``error_args`` maps the error's parameter names to decoded values. A revert without a
    known custom error has ``error_name`` ``"Error"`` (a reason string), ``"Panic"`` or
    ``"unknown"``.
    """

    code = Code.CONTRACT_REVERT

    def __init__(self, error_name: str, error_args: dict[str, Any] | None = None) -> None:
        self.error_name = error_name
        self.error_args = dict(error_args or {})
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.error_args.items())
        super().__init__(f"contract reverted: {error_name}({shown})")


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)
