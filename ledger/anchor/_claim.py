"""A receipt's ``anchor`` object (docs/ledger.md, "Anchors in receipts"), parsed, and the error
every failed anchor check raises.

Separate from verification so the receipt format is checked in one place, before any chain is
asked: a malformed object fails as ``anchor format`` whatever the chain holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.errors import ReceiptCheck, ReceiptError

__all__ = ["AnchorCheckError", "AnchorClaim", "parse_anchor_claim"]


_CODES = {
    "anchor": ReceiptCheck.ANCHOR,
    "anchor consistency": ReceiptCheck.ANCHOR_CONSISTENCY,
    "anchor format": ReceiptCheck.ANCHOR_FORMAT,
}


class AnchorCheckError(ReceiptError):
    """The anchor check failed; ``check`` names it (``anchor``, ``anchor consistency``,
    ``anchor format``), ``origin`` and ``tree_size`` say for which checkpoint."""

    def __init__(self, check: str, detail: str, origin: str, tree_size: int) -> None:
        self.check = check
        self.origin = origin
        self.tree_size = tree_size
        super().__init__(f"{check}: {detail}", _CODES.get(check, ReceiptCheck.ANCHOR))


@dataclass(frozen=True, slots=True)
class AnchorClaim:
    """A receipt's ``anchor`` object, parsed (every field optional but ``tree_size``)."""

    tree_size: int
    root: bytes | None = None
    chain_id: int | None = None
    contract: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    consistency_proof: tuple[bytes, ...] | None = None


def parse_anchor_claim(obj: Any, origin: str = "", tree_size: int = 0) -> AnchorClaim:
    """Parse a receipt's ``anchor`` object; AnchorCheckError ``anchor format`` if malformed."""

    def bad(detail: str) -> AnchorCheckError:
        return AnchorCheckError("anchor format", detail, origin, tree_size)

    if not isinstance(obj, dict):
        raise bad("anchor must be a json object")

    def integer(name: str, required: bool = False) -> int | None:
        value = obj.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise bad(f"anchor.{name} must be a non-negative integer, got {value!r}")
        return value

    def hexbytes(value: Any, name: str, size: int | None = 32) -> bytes:
        if not isinstance(value, str):
            raise bad(f"{name} must be a hex string")
        try:
            raw = bytes.fromhex(value.removeprefix("0x"))
        except ValueError as exc:
            raise bad(f"{name} is not hex") from exc
        if size is not None and len(raw) != size:
            raise bad(f"{name} must be {size} bytes, got {len(raw)}")
        return raw

    size = integer("tree_size", required=True)
    assert size is not None
    root = None if obj.get("root") is None else hexbytes(obj["root"], "anchor.root")
    proof = obj.get("consistency_proof")
    if proof is not None:
        if not isinstance(proof, list):
            raise bad("anchor.consistency_proof must be a list of hex strings")
        proof = tuple(hexbytes(p, f"anchor.consistency_proof[{n}]") for n, p in enumerate(proof))
    for name in ("contract", "tx_hash"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            raise bad(f"anchor.{name} must be a string")
    return AnchorClaim(
        tree_size=size,
        root=root,
        chain_id=integer("chain_id"),
        contract=obj.get("contract"),
        tx_hash=obj.get("tx_hash"),
        block_number=integer("block_number"),
        consistency_proof=proof,
    )
