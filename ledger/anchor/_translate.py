"""The one place where web3, requests and eth-tester exceptions become ledger.anchor errors.

- a contract revert (web3 ContractLogicError and its custom-error/panic subclasses, or
  eth-tester TransactionFailed) -> ContractRevert named after the Solidity custom error
- no connection, a timed-out request, a receipt that never came -> ChainUnavailable
- any other web3 or RPC failure -> AnchorError
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import requests
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    RequestTimedOut,
    TimeExhausted,
    Web3Exception,
)

from ledger.anchor._artifact import Artifact
from ledger.anchor.errors import AnchorError, ChainUnavailable

try:  # eth-tester is only needed by the embedded chain
    from eth_tester.exceptions import TransactionFailed as _TesterFailed
except ImportError:  # pragma: no cover

    class _TesterFailed(Exception):  # type: ignore[no-redef]
        pass


_UNAVAILABLE: tuple[type[BaseException], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    ProviderConnectionError,
    RequestTimedOut,
    TimeExhausted,
    ConnectionError,
    TimeoutError,
)


@contextlib.contextmanager
def translated(artifact: Artifact, doing: str) -> Iterator[None]:
    """Run the body; re-raise foreign exceptions as ours, chained, naming what was being done."""
    try:
        yield
    except AnchorError:
        raise
    except ContractLogicError as exc:
        raise artifact.decode_revert(_data_bytes(exc.data)) from exc
    except _TesterFailed as exc:
        raise artifact.decode_revert(_tester_revert_bytes(exc)) from exc
    except _UNAVAILABLE as exc:
        raise ChainUnavailable(f"{doing}: chain node unavailable: {exc}") from exc
    except (Web3Exception, requests.RequestException, ValueError) as exc:
        raise AnchorError(f"{doing}: {type(exc).__name__}: {exc}") from exc


def _data_bytes(data: object) -> bytes:
    if isinstance(data, dict):  # some nodes nest the revert data one level down
        data = data.get("data")
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        try:
            return bytes.fromhex(data.removeprefix("0x"))
        except ValueError:
            return b""
    return b""


def _tester_revert_bytes(exc: BaseException) -> bytes:
    """py-evm keeps the raw revert bytes on the EVMRevert at the bottom of the chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for arg in current.args:
            if isinstance(arg, bytes):
                return arg
            if isinstance(arg, BaseException):
                found = _tester_revert_bytes(arg)
                if found:
                    return found
        current = current.__cause__ or current.__context__
    return b""
