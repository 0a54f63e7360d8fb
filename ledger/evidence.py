"""Evidence of a split view: two checkpoints signed by one log key that cannot both be true.

A witness that is offered a checkpoint conflicting with one it cosigned refuses it and keeps
both notes as a JSON document (``format: yrd-witness-evidence/v1``)::

    {
      "format": "yrd-witness-evidence/v1",
      "origin": "yrd.gov.cn/gateway/log",
      "witness": "<name of the witness that recorded it>",
      "recorded_at": "<ISO 8601 UTC>",
      "cosigned": "<the checkpoint note the witness had cosigned>",
      "offered": "<the conflicting checkpoint note it refused>"
    }

It is proof, checkable offline with only the log's public key, when both notes carry a valid
signature by the same trusted log key for the same origin and the same tree size with
different root hashes: a Merkle tree of one size has one root, so the log signed two
histories. (A refused consistency proof between different sizes is recorded too, but proves
nothing on its own: a faulty client can send a bad proof for an honest checkpoint.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .checkpoint import SignedCheckpoint, verify_checkpoint
from .errors import CheckpointError, EvidenceError, ReceiptError
from .trust import TrustStore

__all__ = ["EVIDENCE_FORMAT", "SplitView", "evidence_document", "verify_evidence"]

EVIDENCE_FORMAT = "yrd-witness-evidence/v1"


@dataclass(frozen=True, slots=True)
class SplitView:
    """Two signed checkpoints of one origin and size with different roots."""

    origin: str
    size: int
    first: SignedCheckpoint
    second: SignedCheckpoint
    witness: str


def evidence_document(
    origin: str, witness: str, cosigned: str, offered: str, recorded_at: datetime | None = None
) -> dict[str, Any]:
    """The evidence a witness records when ``offered`` conflicts with ``cosigned``."""
    when = (recorded_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "format": EVIDENCE_FORMAT,
        "origin": origin,
        "witness": witness,
        "recorded_at": when,
        "cosigned": cosigned,
        "offered": offered,
    }


def _note(document: dict[str, Any], field: str) -> str:
    value = document.get(field)
    if not isinstance(value, str) or not value:
        raise EvidenceError(f"evidence format: field {field!r} must be a checkpoint note")
    return value


def verify_evidence(document: Any, trust: TrustStore) -> SplitView:
    """Check that ``document`` proves a split view. Raises :class:`EvidenceError` naming the
    failed check: (1) format; (2) both notes are signed by the trusted log key of the
    evidence's origin; (3) same tree size; (4) different roots."""
    # (1): format
    if not isinstance(document, dict) or document.get("format") != EVIDENCE_FORMAT:
        raise EvidenceError(
            f"evidence format: expected a json object with format {EVIDENCE_FORMAT!r}"
        )
    origin = document.get("origin")
    if not isinstance(origin, str) or not origin:
        raise EvidenceError("evidence format: field 'origin' must be a non-empty string")
    witness = document.get("witness")
    witness = witness if isinstance(witness, str) else ""
    notes = [_note(document, "cosigned"), _note(document, "offered")]
    # (2): both signed by the one trusted log key
    try:
        trusted = trust.key_for(origin)
    except ReceiptError as exc:
        raise EvidenceError(f"log key: {exc}") from exc
    signed = []
    for label, note in zip(("cosigned", "offered"), notes, strict=True):
        try:
            signed.append(
                verify_checkpoint(
                    note, trusted.public_key, origin=origin, key_name=trusted.key_name
                )
            )
        except CheckpointError as exc:
            raise EvidenceError(f"{label} checkpoint signature: {exc}") from exc
    first, second = signed
    # (3): same size
    if first.size != second.size:
        raise EvidenceError(
            f"same size: the checkpoints have sizes {first.size} and {second.size}; two sizes "
            "alone prove no split view (a consistency proof between them may exist)"
        )
    # (4): different roots
    if first.root == second.root:
        raise EvidenceError(f"different roots: both checkpoints of size {first.size} agree")
    return SplitView(origin, first.size, first, second, witness)
