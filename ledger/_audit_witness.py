"""``yrd-audit``'s witness checks: the quorum of ``verify --witnesses`` and ``misbehaviour``.

Kept apart from ``ledger.audit_cli`` (which reads the files and owns the exit codes) so that
each stays short; everything here works on parsed input and prints the report lines.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from .checkpoint import SIG_PREFIX
from .clitext import one_line
from .cosignature import signature_lines
from .errors import CheckpointError, EvidenceError, ReceiptCheck, ReceiptError
from .evidence import verify_evidence
from .quorum import QuorumResult, check_quorum
from .trust import TrustStore

__all__ = ["fact", "failure", "report_misbehaviour", "report_quorum", "unchecked"]


def _utc(timestamp: int) -> str:
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):  # a witness clock far off: show the number
        return f"POSIX time {timestamp}"


def _names(names: list[str]) -> str:
    return ", ".join(names) or "none"


def report_quorum(note: str, trust: TrustStore, quorum: int) -> QuorumResult:
    """Check ``quorum`` cosignatures on the (already verified) ``note`` and print one line per
    trusted witness. The caller turns an unreached quorum into its verdict (:func:`failure`)."""
    try:
        result = check_quorum(note, trust.witnesses, quorum)
    except CheckpointError as exc:  # not expected: the log's checks parsed this note already
        raise ReceiptError(f"witness quorum: {exc}", ReceiptCheck.WITNESS_QUORUM) from exc
    for found in result.found:
        print(f"ok   witness {found.name} (cosigned {_utc(found.timestamp)})")
    for name in result.invalid:
        print(f"--   witness {name}: invalid cosignature (does not verify; not counted)")
    for name in result.missing:
        print(f"--   witness {name}: no cosignature")
    if result.reached:
        print(f"ok   witness quorum ({len(result.found)} valid, {quorum} required)")
    return result


def failure(result: QuorumResult) -> ReceiptError:
    """The verdict for an unreached quorum, naming who cosigned and who did not."""
    return ReceiptError(
        f"witness quorum: {len(result.found)} valid cosignature(s), {result.quorum} required "
        f"(found: {_names([f.name for f in result.found])}; missing: {_names(result.missing)}"
        f"; invalid: {_names(result.invalid)})",
        ReceiptCheck.WITNESS_QUORUM,
    )


def fact(result: QuorumResult | None) -> str:
    """What the VALID line says about witnesses: how many were checked, or that none were."""
    if result is None:
        return "witnesses not checked (no --witnesses)"
    trusted = len(result.found) + len(result.missing) + len(result.invalid)
    return f"cosigned by {len(result.found)} of {trusted} trusted witnesses, quorum {result.quorum}"


def unchecked(receipt: dict[str, Any], note: str, log_key_name: str) -> str:
    """Why no witness was checked, what the note carries and what the receipt claims."""
    lines = [
        line
        for line in signature_lines(note)
        if line[len(SIG_PREFIX) :].partition(" ")[0] != log_key_name
    ]
    text = f"the checkpoint carries {len(lines)} cosignature line(s)"
    claim = receipt.get("witnesses")
    if isinstance(claim, dict):
        text += (
            f"; the receipt says {claim.get('status')!s}, quorum {claim.get('quorum')!s} "
            "(not checked)"
        )
    return one_line(text + "; run with --witnesses K to require K of the trusted witnesses")


def report_misbehaviour(document: Any, trust: TrustStore) -> bool:
    """``misbehaviour``: print what the evidence proves; True when it proves a split view.

    The document's ``witness`` and ``recorded_at`` are the recorder's word, not signed; the
    proof is the two notes alone (see :mod:`ledger.evidence`).
    """
    try:
        split = verify_evidence(document, trust)
    except EvidenceError as exc:
        print(f"NOT PROVEN: {one_line(exc)}", file=sys.stderr)
        return False
    key_id = trust.key_for(split.origin).public_key.key_id
    print("ok   evidence format")
    print(f"ok   cosigned checkpoint signature (size {split.first.size})")
    print(f"ok   offered checkpoint signature (size {split.second.size})")
    print(f"ok   same size ({split.size})")
    print("ok   different roots")
    recorded = document.get("recorded_at")
    print(
        one_line(
            f"--   recorded by witness {split.witness or '(unnamed)'} at {recorded} "
            "(the document's word, not signed)"
        )
    )
    print(
        f"PROVEN: split view of {one_line(split.origin)} at size {split.size}: roots "
        f"{split.first.root.hex()} and {split.second.root.hex()}, both signed by log key "
        f"{key_id}"
    )
    return True
