"""``yrd-audit``: verify receipts and consistency proofs offline (needs only ``ledger``).

With ``--rpc`` it also checks, on the anchoring chain, that the receipt's checkpoint is covered
by an anchored root (`ledger.anchor_verify`); ``anchors`` lists an origin's anchors and checks
that consecutive anchored roots are consistent.

Exit codes: 0 valid, 1 a check failed (the message names it), 2 usage or input error, or the
chain could not be reached.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from . import merkle
from .checkpoint import verify_checkpoint
from .errors import CheckpointError, ProofError, ReceiptError
from .receipt import VerifiedReceipt, verify_receipt
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
        return _verify_anchor(args, receipt, verified, trust)
    print(f"VALID: entry {verified.leaf_index} is in the log at tree size {verified.tree_size}")
    return EXIT_OK


def _verify_anchor(
    args: argparse.Namespace, receipt: dict, verified: VerifiedReceipt, trust: TrustStore
) -> int:
    """``verify --rpc``: the receipt's checkpoint is covered by an anchor on the chain."""
    from .anchor import AnchorError, ChainUnavailable
    from .anchor_verify import AnchorCheckError, verify_anchored

    claim = receipt.get("anchor") if isinstance(receipt.get("anchor"), dict) else {}
    contract = args.contract or claim.get("contract")
    if not contract:
        raise UsageError("--rpc needs --contract, or a receipt whose anchor names the contract")
    proof, anchored_size = None, None
    if args.proof:
        old, anchored_size, proof = _load_proof(args.proof)
        if old is not None and old != verified.tree_size:
            raise UsageError(
                f"proof file old_size {old} differs from the receipt's tree size "
                f"{verified.tree_size}"
            )
    try:
        view = _reader(args, contract)
        check = verify_anchored(receipt, view, trust, proof, anchored_size=anchored_size)
    except AnchorCheckError as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ReceiptError as exc:  # pragma: no cover - verified offline just before
        print(f"INVALID: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ChainUnavailable as exc:
        raise UsageError(f"chain unreachable at {args.rpc}: {exc}") from exc
    except AnchorError as exc:
        raise UsageError(f"chain error at {args.rpc}: {exc}") from exc
    for line in check.checks:
        print(f"ok   {line}")
    print(
        f"VALID: entry {verified.leaf_index} is in the log at tree size {verified.tree_size}, "
        f"anchored on chain at size {check.anchored.tree_size} "
        f"(block {check.anchored.block_number})"
    )
    return EXIT_OK


def _reader(args: argparse.Namespace, contract: str):
    """A read-only view of the registry; AnchorCheckError if no contract is deployed there."""
    from .anchor_verify import AnchorCheckError, JsonRpcReader

    view = JsonRpcReader(args.rpc, contract, request_timeout=args.rpc_timeout)
    if not view.has_contract():
        raise AnchorCheckError(
            "anchor",
            f"no AnchorRegistry contract at {view.contract_address} on {args.rpc}",
            "",
            0,
        )
    return view


def cmd_anchors(args: argparse.Namespace) -> int:
    """``anchors``: list an origin's anchors and check consecutive roots are consistent."""
    from .anchor import AnchorError, ChainUnavailable
    from .anchor_verify import AnchorCheckError, check_anchor_history

    proofs = None
    if args.proofs:
        try:
            proofs = json.loads(_read(args.proofs, "proofs file"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"proofs file {args.proofs} is not json: {exc}") from exc
        if not isinstance(proofs, list):
            raise UsageError(
                f"proofs file {args.proofs} must be a json list of "
                "{old_size, new_size, proof: [hex...]}"
            )
    try:
        view = _reader(args, args.contract)
        records = view.events(args.origin, from_block=args.from_block)
    except AnchorCheckError as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ChainUnavailable as exc:
        raise UsageError(f"chain unreachable at {args.rpc}: {exc}") from exc
    except AnchorError as exc:
        raise UsageError(f"chain error at {args.rpc}: {exc}") from exc
    if not records:
        print(
            f"INVALID: anchor: no anchors for origin {args.origin} on contract {args.contract}",
            file=sys.stderr,
        )
        return EXIT_INVALID
    try:
        pairs = check_anchor_history(records, proofs)
    except ValueError as exc:
        raise UsageError(f"proofs file {args.proofs}: {exc}") from exc
    print(f"{'size':>12}  {'root':64}  {'block':>8}  time")
    for record in sorted(records, key=lambda r: r.tree_size):
        when = datetime.fromtimestamp(record.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        print(f"{record.tree_size:>12}  {record.root.hex()}  {record.block_number:>8}  {when}")
    bad = [p for p in pairs if p.status == "inconsistent"]
    unchecked = [p for p in pairs if p.status == "unchecked"]
    for pair in pairs:
        sizes = f"sizes {pair.old.tree_size} -> {pair.new.tree_size}"
        if pair.status == "consistent":
            print(f"ok   anchor consistency {sizes}")
        elif pair.status == "unchecked":
            print(f"--   anchor consistency {sizes} unchecked (no proof)")
    for pair in bad:
        print(
            f"INVALID: anchor consistency: anchors at sizes {pair.old.tree_size} and "
            f"{pair.new.tree_size} are inconsistent: {pair.error}",
            file=sys.stderr,
        )
    if bad:
        return EXIT_INVALID
    print(
        f"VALID: {len(records)} anchors of {args.origin}, "
        f"{len(pairs) - len(unchecked)} consecutive pairs consistent, {len(unchecked)} unchecked"
    )
    return EXIT_OK


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
    verify.add_argument(
        "--proof",
        help="consistency proof json {old_size, new_size, proof} from the receipt's tree size "
        "to an anchored size (default: the receipt's anchor.consistency_proof)",
    )
    verify.add_argument("--rpc-timeout", type=float, default=10.0, help=argparse.SUPPRESS)
    verify.set_defaults(func=cmd_verify)
    cons = sub.add_parser("consistency", help="verify that NEW extends OLD")
    cons.add_argument("old")
    cons.add_argument("new")
    cons.add_argument("--proof", required=True)
    cons.add_argument("--trust", required=True)
    cons.set_defaults(func=cmd_consistency)
    anchors = sub.add_parser(
        "anchors", help="list an origin's anchors on chain and check they are consistent"
    )
    anchors.add_argument("--rpc", required=True, help="JSON-RPC URL of the anchoring chain")
    anchors.add_argument("--contract", required=True, help="AnchorRegistry address")
    anchors.add_argument("--origin", required=True, help="log origin")
    anchors.add_argument(
        "--proofs", help="json list of {old_size, new_size, proof: [hex...]} between anchors"
    )
    anchors.add_argument("--from-block", type=int, default=0, help="first block to scan")
    anchors.add_argument("--rpc-timeout", type=float, default=10.0, help=argparse.SUPPRESS)
    anchors.set_defaults(func=cmd_anchors)
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
    except BrokenPipeError:  # output piped into e.g. head: not an error of ours
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
