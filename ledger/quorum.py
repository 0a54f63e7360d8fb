"""Witness quorum: does a checkpoint note carry K valid cosignatures by trusted witnesses?

A quorum of cosignatures (C2SP ``tlog-witness``) means K independent witnesses each checked
that this checkpoint extends everything they cosigned before. A log that shows two members
two histories then needs K witnesses to sign both, which honest witnesses never do. The
cosignatures themselves are checked by :func:`ledger.cosignature.verify_cosignatures`
(``cosignature/v1`` with SM2); this module only counts them against the trust file's list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .cosignature import TrustedWitness, verify_cosignatures
from .errors import ReceiptCheck, ReceiptError

__all__ = ["Cosigned", "QuorumResult", "check_quorum", "check_quorum_size"]


class Cosigned(NamedTuple):
    """A trusted witness whose cosignature verified, and the time it says it cosigned."""

    name: str
    timestamp: int  # POSIX seconds, from the cosignature (signed, so the witness vouches)


@dataclass(frozen=True, slots=True)
class QuorumResult:
    """Every trusted witness falls in exactly one of ``found``, ``invalid`` and ``missing``,
    each in the trust file's order; ``reached`` is ``len(found) >= quorum``."""

    quorum: int
    found: list[Cosigned]
    missing: list[str]  # no cosignature line by this witness's key
    invalid: list[str]  # a line by its key that does not verify (not counted)
    reached: bool


def check_quorum_size(witnesses: list[TrustedWitness], quorum: int) -> None:
    """Refuse a quorum no note could ever reach with these witnesses, before any check runs.

    Raises :class:`ReceiptError` with code ``ReceiptCheck.TRUST_FILE``: the trust material,
    not the note, is what cannot support the demand.
    """
    if quorum < 0:
        raise ReceiptError(
            f"witness quorum must be 0 or more, got {quorum}", ReceiptCheck.TRUST_FILE
        )
    if quorum > 0 and not witnesses:
        raise ReceiptError(
            f"witness quorum {quorum} needs witnesses, but the trust file lists none",
            ReceiptCheck.TRUST_FILE,
        )
    names = len({w.name for w in witnesses})  # a name listed twice is one witness
    if quorum > names:
        raise ReceiptError(
            f"witness quorum {quorum} exceeds the {names} witnesses in the trust file",
            ReceiptCheck.TRUST_FILE,
        )


def check_quorum(note: str, witnesses: list[TrustedWitness], quorum: int) -> QuorumResult:
    """Count the valid cosignatures on checkpoint ``note`` by ``witnesses`` against ``quorum``.

    The log's own signature on the note is not checked here (``verify_checkpoint`` does
    that); lines by keys not in ``witnesses`` are ignored, as C2SP asks, and a witness counts
    once however many lines it has. Raises :class:`ReceiptError` (``TRUST_FILE``) when the
    quorum is impossible (see :func:`check_quorum_size`) and
    :class:`~ledger.errors.CheckpointError` when ``note`` is not a checkpoint note.
    """
    check_quorum_size(witnesses, quorum)
    valid, bad = verify_cosignatures(note, witnesses)
    when = {v.witness.name: v.timestamp for v in valid}
    found, missing, invalid = [], [], []
    for witness in _distinct(witnesses):
        if witness.name in when:
            found.append(Cosigned(witness.name, when[witness.name]))
        elif witness.name in bad:
            invalid.append(witness.name)
        else:
            missing.append(witness.name)
    return QuorumResult(quorum, found, missing, invalid, len(found) >= quorum)


def _distinct(witnesses: list[TrustedWitness]) -> list[TrustedWitness]:
    """One entry per name: a witness listed twice must not be counted twice."""
    seen: set[str] = set()
    out = []
    for witness in witnesses:
        if witness.name not in seen:
            seen.add(witness.name)
            out.append(witness)
    return out
