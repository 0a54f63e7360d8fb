"""Verifying, against the chain, that a checkpoint is covered by an anchored root.

The public entry point for auditors (``yrd-audit anchor`` and ``anchors`` use it); needs only
``ledger`` and a chain view, never the gateway. The code lives in `ledger.anchor`'s private
modules, one concern each: the read-only JSON-RPC view (`_reader`), the receipt's ``anchor``
object (`_claim`) and the checks themselves (`_verify`, whose docstring says when a checkpoint
is covered).
"""

from __future__ import annotations

from .anchor._claim import AnchorCheckError, AnchorClaim, parse_anchor_claim
from .anchor._reader import JsonRpcReader
from .anchor._verify import (
    AnchorCheck,
    ChainView,
    PairCheck,
    check_anchor_history,
    verify_anchored,
)

__all__ = [
    "AnchorCheck",
    "AnchorCheckError",
    "AnchorClaim",
    "ChainView",
    "JsonRpcReader",
    "PairCheck",
    "check_anchor_history",
    "parse_anchor_claim",
    "verify_anchored",
]
