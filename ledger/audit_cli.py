"""``yrd-audit``: verify receipts and consistency proofs offline (needs only ``ledger``).

Exit codes: 0 valid, 1 a check failed (the message names it), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import merkle
from .checkpoint import verify_checkpoint
from .errors import CheckpointError, ProofError, ReceiptError
from .receipt import verify_receipt
from .trust import TrustStore

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def _read(path: str, what: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if not data.strip():
        raise UsageError(f"{what} {path} is empty")
    return data


def _trust(path: str) -> TrustStore:
    try:
        return TrustStore.load(_read(path, "trust file"))
    except ReceiptError as exc:
        raise UsageError(str(exc)) from exc


def cmd_verify(args: argparse.Namespace) -> int:
    trust = _trust(args.trust)
    raw = _read(args.receipt, "receipt")
    try:
        receipt = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"receipt {args.receipt} is not json: {exc}") from exc
    try:
        verified = verify_receipt(receipt, trust)
    except ReceiptError as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for check in verified.checks:
        print(f"ok   {check}")
    if args.rpc:
        return _verify_anchor(args, receipt, verified)
    print(f"VALID: entry {verified.leaf_index} is in the log at tree size {verified.tree_size}")
    return EXIT_OK


def _verify_anchor(
    args, receipt, verified
) -> int:  # pragma: no cover - replaced when anchoring lands
    raise UsageError("--rpc needs ledger.anchor, which is not available in this build")


def _load_proof(path: str) -> tuple[int | None, int | None, list[bytes]]:
    raw = _read(path, "proof file")
    try:
        document = json.loads(raw)
        items = document["proof"] if isinstance(document, dict) else document
        proof = [bytes.fromhex(p) for p in items]
        old = document.get("old_size") if isinstance(document, dict) else None
        new = document.get("new_size") if isinstance(document, dict) else None
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"proof file {path} must be json {{old_size, new_size, proof: [hex...]}}"
        ) from exc
    return old, new, proof


def cmd_consistency(args: argparse.Namespace) -> int:
    trust = _trust(args.trust)
    notes = [_read(p, "checkpoint").decode("utf-8", "replace") for p in (args.old, args.new)]
    old_size, new_size, proof = _load_proof(args.proof)
    try:
        signed = []
        for label, note in zip(("old", "new"), notes, strict=True):
            origin = note.split("\n", 1)[0]
            trusted = trust.key_for(origin)
            try:
                signed.append(verify_checkpoint(note, trusted.public_key, origin, trusted.key_name))
            except CheckpointError as exc:
                raise ReceiptError(f"{label} checkpoint signature: {exc}") from exc
            print(f"ok   {label} checkpoint signature (size {signed[-1].size})")
        old, new = signed
        if old.checkpoint.origin != new.checkpoint.origin:
            raise ReceiptError("origin: the two checkpoints are from different logs")
        for label, claimed, actual in (("old", old_size, old.size), ("new", new_size, new.size)):
            if claimed is not None and claimed != actual:
                raise ReceiptError(f"proof {label}_size {claimed} != checkpoint size {actual}")
        try:
            merkle.verify_consistency(old.size, new.size, proof, old.root, new.root)
        except ProofError as exc:
            raise ReceiptError(f"consistency proof: {exc}") from exc
    except ReceiptError as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print("ok   consistency proof")
    print(f"VALID: tree {new.size} extends tree {old.size}")
    return EXIT_OK


_EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = []


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yrd-audit", description="Verify YRD Gateway receipts")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="verify a receipt offline (and on chain with --rpc)")
    verify.add_argument("receipt")
    verify.add_argument("--trust", required=True, help="trust file (JSON) or log public key PEM")
    verify.add_argument("--rpc", help="JSON-RPC URL of the anchoring chain")
    verify.add_argument("--contract", help="AnchorRegistry address (default: from the receipt)")
    verify.set_defaults(func=cmd_verify)
    cons = sub.add_parser("consistency", help="verify that NEW extends OLD")
    cons.add_argument("old")
    cons.add_argument("new")
    cons.add_argument("--proof", required=True)
    cons.add_argument("--trust", required=True)
    cons.set_defaults(func=cmd_consistency)
    for extend in _EXTENSIONS:
        extend(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"yrd-audit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
