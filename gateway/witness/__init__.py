"""The gateway's side of witnessing (issue 17, docs/witness.md): it gathers the members'
witness cosignatures of its log's checkpoints and hands them out in receipts.

- :class:`WitnessStore`: the cosignature lines kept, in the gateway's database;
- :class:`WitnessCollector`: the worker posting each new checkpoint to the registry's
  witnesses (C2SP tlog-witness ``add-checkpoint``), never on the exchange path;
- :class:`WitnessReceipts`: receipts with their cosignatures and witness status, and the
  upgrade of a receipt to a later witnessed checkpoint;
- :class:`Witnessing`: the three, as the running gateway holds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.witness.collector import WitnessCollector, WitnessState
from gateway.witness.errors import WitnessCode, WitnessError
from gateway.witness.receipts import NOT_WITNESSED, WITNESSED, WitnessReceipts
from gateway.witness.store import WitnessStore

__all__ = [
    "NOT_WITNESSED",
    "WITNESSED",
    "WitnessCode",
    "WitnessCollector",
    "WitnessError",
    "WitnessReceipts",
    "WitnessState",
    "WitnessStore",
    "Witnessing",
]


@dataclass(frozen=True)
class Witnessing:
    """The store, the receipts over it and the collector filling it (one per gateway)."""

    store: WitnessStore
    receipts: WitnessReceipts
    collector: WitnessCollector
