"""Optional extras: import a module that an extra installs, or fail naming that extra.

The gateway runs without ``reference`` (gmssl, the pure-Python SM2 cross-check) and without
``embedded-chain`` (eth-tester/py-evm, the in-process EVM). Choosing either without its extra
must not end in a bare ``ModuleNotFoundError`` from deep inside a library: ``require`` raises
one ``ledger.errors.MissingExtraError`` that says what needed it and the exact ``pip install`` line.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ledger.errors import MissingExtraError

__all__ = ["require"]


def require(module: str, extra: str, needed_by: str) -> ModuleType:
    """Import ``module``; if it (or what it imports) is missing, raise MissingExtraError."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(extra, needed_by) from exc
