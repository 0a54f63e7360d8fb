"""Reading the last confirmed anchor without leaving the process changed.

``ledger.anchor`` imports web3, which imports ``py_ecc``, which raises the interpreter's
recursion limit to 100,000 (deep JSON then overflows the C stack instead of raising
RecursionError). The log needs only one read of the anchor rows at open, so the limit is put
back as it was after the import.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["last_confirmed"]


def last_confirmed(path: str | Path, origin: str) -> tuple[int, bytes] | None:
    """See :func:`ledger.anchor._anchor_store.last_confirmed`."""
    limit = sys.getrecursionlimit()
    try:
        from ..anchor._anchor_store import last_confirmed as read
    finally:
        sys.setrecursionlimit(limit)
    return read(path, origin)
