"""The witness a member runs: C2SP tlog-witness over HTTP, SM2 ``cosignature/v1``.

It keeps the latest checkpoint it cosigned per log origin, cosigns a new one only on a valid
consistency proof from it, never moves backwards (even across SIGKILL), and records two
conflicting log-signed checkpoints as evidence (``ledger.evidence``). Run it with
``yrd-witness serve`` (:mod:`ledger.witness.cli`); the protocol is in docs/witness.md.
"""

from __future__ import annotations

from ._http import WitnessServer
from ._service import MAX_BODY, Response, Witness
from ._store import Cosigned, WitnessStore
from .errors import WitnessCode, WitnessError

__all__ = [
    "MAX_BODY",
    "Cosigned",
    "Response",
    "Witness",
    "WitnessCode",
    "WitnessError",
    "WitnessServer",
    "WitnessStore",
]
