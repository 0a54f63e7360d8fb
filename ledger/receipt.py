"""Receipts: everything needed to verify one log entry offline (see docs/receipt.md).

A receipt is a JSON object::

    {
      "format": "yrd-receipt/v1",
      "origin": "yrd.gov.cn/gateway/log",
      "log_key_id": "<hex SM3 of the log's public point>",
      "leaf_index": 41,
      "tree_size": 64,
      "entry": "<base64 of the canonical entry bytes>",
      "leaf_hash": "<hex SM3(0x00 || entry)>",
      "inclusion_proof": ["<hex>", ...],
      "checkpoint": "<signed checkpoint note text>",
      "exchange_id": "<optional: the exchange this entry records>"
    }
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from . import merkle
from .checkpoint import SignedCheckpoint, verify_checkpoint
from .errors import CheckpointError, ProofError, ReceiptError
from .errors import ReceiptCheck as C
from .trust import TrustStore

__all__ = ["RECEIPT_FORMAT", "VerifiedReceipt", "build_receipt", "verify_receipt"]

RECEIPT_FORMAT = "yrd-receipt/v1"


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    leaf_index: int
    tree_size: int
    entry: bytes
    checkpoint: SignedCheckpoint
    checks: tuple[str, ...]


def build_receipt(
    *,
    origin: str,
    log_key_id: str,
    leaf_index: int,
    entry: bytes,
    proof: list[bytes],
    checkpoint: SignedCheckpoint,
    exchange_id: str | None = None,
) -> dict[str, Any]:
    receipt: dict[str, Any] = {
        "format": RECEIPT_FORMAT,
        "origin": origin,
        "log_key_id": log_key_id,
        "leaf_index": leaf_index,
        "tree_size": checkpoint.size,
        "entry": base64.b64encode(entry).decode(),
        "leaf_hash": merkle.leaf_hash(entry).hex(),
        "inclusion_proof": [p.hex() for p in proof],
        "checkpoint": checkpoint.text,
    }
    if exchange_id is not None:
        receipt["exchange_id"] = exchange_id
    return receipt


def _field(receipt: dict[str, Any], name: str, kind: type) -> Any:
    if name not in receipt:
        raise ReceiptError(f"receipt format: missing field {name!r}")
    value = receipt[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ReceiptError(f"receipt format: field {name!r} must be {kind.__name__}")
    return value


def _hex(value: str, what: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise ReceiptError(f"receipt format: {what} is not hex") from exc


def verify_receipt(receipt: dict[str, Any] | str | bytes, trust: TrustStore) -> VerifiedReceipt:
    """Verify a receipt offline. Raises :class:`ReceiptError` naming the failed check.

    Steps:
    (1) the receipt parses and has every field with the right type;
    (2) a trusted key exists for its origin and key id;
    (3) the checkpoint is signed by that key, for that origin;
    (4) the checkpoint's size is the receipt's tree size;
    (5) the leaf hash is SM3(0x00 || entry);
    (6) the inclusion proof leads from the leaf to the checkpoint's root.
    """
    checks: list[str] = []
    # (1): format
    if isinstance(receipt, str | bytes):
        try:
            receipt = json.loads(receipt)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ReceiptError(f"receipt format: not valid json: {exc}") from exc
    if not isinstance(receipt, dict):
        raise ReceiptError("receipt format: must be a json object")
    if receipt.get("format") != RECEIPT_FORMAT:
        raise ReceiptError(
            f"receipt format: expected {RECEIPT_FORMAT!r}, got {receipt.get('format')!r}"
        )
    origin = _field(receipt, "origin", str)
    key_id = _field(receipt, "log_key_id", str)
    index = _field(receipt, "leaf_index", int)
    size = _field(receipt, "tree_size", int)
    try:
        entry = base64.b64decode(_field(receipt, "entry", str), validate=True)
    except binascii.Error as exc:
        raise ReceiptError("receipt format: entry is not base64") from exc
    leaf = _hex(_field(receipt, "leaf_hash", str), "leaf_hash")
    proof_items = _field(receipt, "inclusion_proof", list)
    if not all(isinstance(p, str) for p in proof_items):
        raise ReceiptError("receipt format: inclusion_proof must be a list of hex strings")
    proof = [_hex(p, f"inclusion_proof[{n}]") for n, p in enumerate(proof_items)]
    note = _field(receipt, "checkpoint", str)
    checks.append("format")
    # (2): trusted key
    trusted = trust.key_for(origin, key_id)
    checks.append("trusted log key")
    # (3): checkpoint signature
    try:
        signed = verify_checkpoint(
            note, trusted.public_key, origin=origin, key_name=trusted.key_name
        )
    except CheckpointError as exc:
        raise ReceiptError(f"checkpoint signature: {exc}", C.CHECKPOINT_SIGNATURE) from exc
    checks.append("checkpoint signature")
    # (4): sizes agree
    if signed.size != size:
        raise ReceiptError(
            f"checkpoint size: receipt says tree size {size}, checkpoint says {signed.size}",
            C.CHECKPOINT_SIZE,
        )
    checks.append("checkpoint size")
    # (5): leaf hash
    if merkle.leaf_hash(entry) != leaf:
        raise ReceiptError("leaf hash: SM3(0x00 || entry) does not match leaf_hash", C.LEAF_HASH)
    checks.append("leaf hash")
    # (6): inclusion
    try:
        merkle.verify_inclusion(leaf, index, size, proof, signed.root)
    except ProofError as exc:
        raise ReceiptError(f"inclusion proof: {exc}", C.INCLUSION_PROOF) from exc
    checks.append("inclusion proof")
    return VerifiedReceipt(index, size, entry, signed, tuple(checks))
