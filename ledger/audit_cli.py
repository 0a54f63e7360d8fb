"""``yrd-audit``: verify receipts, consistency proofs and split-view evidence offline (needs
only ``ledger``).

With ``--rpc`` it also checks, on the anchoring chain, that the receipt's checkpoint is covered
by an anchored root (`ledger.anchor_verify`), and its VALID line names the chain id, contract
and node it asked; without ``--rpc`` it says that the anchor was NOT checked (and what the
receipt claims), so a bare VALID is never mistaken for an on-chain check. ``anchors`` lists an
origin's anchors and checks that consecutive anchored roots are consistent.

``verify --witnesses K`` also requires K valid witness cosignatures (C2SP ``cosignature/v1``)
on the receipt's checkpoint by witnesses of the trust file, and names each one; without it,
it says the witnesses were not checked. ``misbehaviour`` checks a witness's evidence of a
split view (`ledger.evidence`). The witness parts live in ``ledger._audit_witness``, the
readers of outside input and their limits in ``ledger._audit_io``.

Exit codes: 0 valid, 1 a check failed (the message names it), 2 usage or input error, the
chain could not be reached, or the ``chain`` extra (web3) that the chain commands need is not
installed; 70 an unexpected error. Every error is one line on stderr, with any quoted input
escaped and cut short; a traceback only with ``YRD_DEBUG=1``. Only the chain commands import
web3/eth-*: ``verify`` without --rpc, ``consistency`` and --help run on ``yrd-ledger``'s core.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import _audit_witness as witness
from . import merkle
from ._audit_io import EXIT_INVALID, EXIT_OK, EXIT_USAGE, UsageError
from ._audit_io import ArgumentParser as _ArgumentParser
from ._audit_io import count_arg as _count
from ._audit_io import read_checkpoint as _checkpoint
from ._audit_io import read_json as _json
from ._audit_io import read_proof as _proof
from ._audit_io import read_trust as _trust
from ._extras import require
from .checkpoint import verify_checkpoint
from .clitext import one_line
from .errors import CheckpointError, MissingExtraError, ProofError, ReceiptCheck, ReceiptError
from .quorum import QuorumResult, check_quorum_size
from .receipt import VerifiedReceipt, verify_receipt
from .trust import TrustStore

if TYPE_CHECKING:
    from .anchor_verify import JsonRpcReader

__all__ = [
    "UsageError",
    "build_parser",
    "cmd_anchors",
    "cmd_consistency",
    "cmd_misbehaviour",
    "cmd_verify",
    "main",
]

EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): an unexpected error, reported in one line
MAX_EVIDENCE_BYTES = 1 << 20
"""Largest evidence document read: two checkpoint notes of at most 64 KiB each, in JSON."""


def _require_chain() -> None:
    """The chain commands' modules (web3, eth-*): imported here, never at start, so that
    ``verify`` without --rpc runs on the ``yrd-ledger`` core alone; MissingExtraError if absent."""
    require("ledger.anchor_verify", "chain", "yrd-audit --rpc (a chain over JSON-RPC)")


def cmd_verify(args: argparse.Namespace) -> int:
    """``verify``: (1) the receipt's log checks; (2) with --witnesses K, K valid cosignatures
    by trusted witnesses; (3) with --rpc, an anchor on chain covering its checkpoint."""
    if args.rpc:
        _require_chain()  # before any check: a missing extra is a usage error, not a verdict
    trust = _trust(args.trust)
    if args.witnesses is not None:
        try:  # a quorum the trust file cannot supply is the auditor's mistake, not a verdict
            check_quorum_size(trust.witnesses, args.witnesses)
        except ReceiptError as exc:
            raise UsageError(f"--witnesses {args.witnesses}: {exc}") from exc
    receipt = _json(args.receipt, "receipt")
    quorum: QuorumResult | None = None
    try:
        # (1): the log's own checks
        verified = verify_receipt(receipt, trust)
        for check in verified.checks:
            print(f"ok   {check}")
        # (2): the witnesses
        note = receipt["checkpoint"]  # verified above: a checkpoint note signed by the log
        if args.witnesses is None:
            key_name = verified.checkpoint.key_name
            print(f"--   witnesses not checked: {witness.unchecked(receipt, note, key_name)}")
        else:
            quorum = witness.report_quorum(note, trust, args.witnesses)
            if not quorum.reached:
                raise witness.failure(quorum)
    except ReceiptError as exc:
        print(f"INVALID: {one_line(exc)}", file=sys.stderr)
        return EXIT_INVALID
    # (3): the anchor
    if args.rpc:
        return _verify_anchor(args, receipt, verified, trust, witness.fact(quorum))
    print(f"--   anchor not checked: {_unchecked_anchor(receipt)}")
    checked = "log checks only" if quorum is None else "log and witness checks"
    print(
        f"VALID: entry {verified.leaf_index} is in the log at tree size {verified.tree_size}, "
        f"{witness.fact(quorum)} ({checked}; the anchor was NOT checked: no --rpc)"
    )
    return EXIT_OK


def _unchecked_anchor(receipt: dict[str, Any]) -> str:
    """Why no anchor was checked, and what the receipt claims, for ``verify`` without --rpc."""
    anchor = receipt.get("anchor")
    if not isinstance(anchor, dict):
        return "the receipt carries no anchor object (not anchored yet, or anchoring is off)"
    return one_line(
        f"the receipt claims an anchor at tree size {anchor.get('tree_size')} "
        f"(chain id {anchor.get('chain_id')}, contract {anchor.get('contract')}, "
        f"block {anchor.get('block_number')}); run with --rpc <chain JSON-RPC URL> to check it"
    )


def _verify_anchor(
    args: argparse.Namespace,
    receipt: dict[str, Any],
    verified: VerifiedReceipt,
    trust: TrustStore,
    witnessed: str,
) -> int:
    """``verify --rpc``: the receipt's checkpoint is covered by an anchor on the chain; the
    VALID line also says ``witnessed``, what was found of the witnesses."""
    from .anchor import AnchorError, ChainUnavailable
    from .anchor_verify import verify_anchored

    anchor = receipt.get("anchor")
    claim: dict[str, Any] = anchor if isinstance(anchor, dict) else {}
    contract = args.contract or claim.get("contract")
    if not contract:
        raise UsageError("--rpc needs --contract, or a receipt whose anchor names the contract")
    proof, anchored_size = None, None
    if args.proof:
        old, anchored_size, proof = _proof(args.proof)
        if old is not None and old != verified.tree_size:
            raise UsageError(
                f"proof file old_size {old} differs from the receipt's tree size "
                f"{verified.tree_size}"
            )
    try:
        view = _reader(args, contract)
        check = verify_anchored(receipt, view, trust, proof, anchored_size=anchored_size)
        chain_id = view.chain_id
    except ReceiptError as exc:  # an AnchorCheckError (the receipt was verified just before)
        print(f"INVALID: {one_line(exc)}", file=sys.stderr)
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
        f"(block {check.anchored.block_number}); anchor checked on chain id {chain_id}, "
        f"contract {view.contract_address}, via {args.rpc}; {witnessed}"
    )
    return EXIT_OK


def _reader(args: argparse.Namespace, contract: str) -> JsonRpcReader:
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
    _require_chain()
    from .anchor import AnchorError, ChainUnavailable
    from .anchor_verify import AnchorCheckError, check_anchor_history

    proofs = None
    if args.proofs:
        proofs = _json(args.proofs, "proofs file")
        if not isinstance(proofs, list):
            raise UsageError(
                f"proofs file {args.proofs} must be a json list of "
                "{old_size, new_size, proof: [hex...]}"
            )
    try:
        view = _reader(args, args.contract)
        records = view.events(args.origin, from_block=args.from_block)
    except AnchorCheckError as exc:
        print(f"INVALID: {one_line(exc)}", file=sys.stderr)
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
            f"{pair.new.tree_size} are inconsistent: {one_line(pair.error)}",
            file=sys.stderr,
        )
    if bad:
        return EXIT_INVALID
    print(
        f"VALID: {len(records)} anchors of {args.origin}, "
        f"{len(pairs) - len(unchecked)} consecutive pairs consistent, {len(unchecked)} unchecked"
    )
    return EXIT_OK


def cmd_consistency(args: argparse.Namespace) -> int:
    trust = _trust(args.trust)
    notes = [_checkpoint(args.old, "old"), _checkpoint(args.new, "new")]
    old_size, new_size, proof = _proof(args.proof)
    try:
        signed = []
        for label, note in zip(("old", "new"), notes, strict=True):
            origin = note.split("\n", 1)[0]
            trusted = trust.key_for(origin)
            try:
                signed.append(verify_checkpoint(note, trusted.public_key, origin, trusted.key_name))
            except CheckpointError as exc:
                raise ReceiptError(
                    f"{label} checkpoint signature: {exc}", ReceiptCheck.CHECKPOINT_SIGNATURE
                ) from exc
            print(f"ok   {label} checkpoint signature (size {signed[-1].size})")
        old, new = signed
        if old.checkpoint.origin != new.checkpoint.origin:
            raise ReceiptError(
                "origin: the two checkpoints are from different logs", ReceiptCheck.TRUSTED_KEY
            )
        for label, claimed, actual in (("old", old_size, old.size), ("new", new_size, new.size)):
            if claimed is not None and claimed != actual:
                raise ReceiptError(
                    f"proof {label}_size {claimed} != checkpoint size {actual}",
                    ReceiptCheck.CHECKPOINT_SIZE,
                )
        try:
            merkle.verify_consistency(old.size, new.size, proof, old.root, new.root)
        except ProofError as exc:
            raise ReceiptError(f"consistency proof: {exc}", ReceiptCheck.CONSISTENCY_PROOF) from exc
    except ReceiptError as exc:
        print(f"INVALID: {one_line(exc)}", file=sys.stderr)
        return EXIT_INVALID
    print("ok   consistency proof")
    print(f"VALID: tree {new.size} extends tree {old.size}")
    return EXIT_OK


def cmd_misbehaviour(args: argparse.Namespace) -> int:
    """``misbehaviour``: does a witness's evidence document prove a split view? Offline."""
    trust = _trust(args.trust)
    document = _json(args.evidence, "evidence", MAX_EVIDENCE_BYTES)
    return EXIT_OK if witness.report_misbehaviour(document, trust) else EXIT_INVALID


_EXTENSIONS: list[Callable[[argparse._SubParsersAction[Any]], None]] = []


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="yrd-audit", description="Verify YRD Gateway receipts")
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
    verify.add_argument(
        "--witnesses",
        type=_count,
        metavar="K",
        help="require K valid cosignatures by witnesses of the trust file (default: not checked)",
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
    misbehaviour = sub.add_parser(
        "misbehaviour", help="verify a witness's evidence of a split view offline"
    )
    misbehaviour.add_argument("evidence", help="evidence document (JSON) from a witness")
    misbehaviour.add_argument("--trust", required=True, help="trust file naming the log's key")
    misbehaviour.set_defaults(func=cmd_misbehaviour)
    for extend in _EXTENSIONS:
        extend(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (UsageError, MissingExtraError) as exc:
        print(f"yrd-audit: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into e.g. head: not an error of ours
        sys.stderr.close()
        return 0
    except Exception as exc:  # last resort: a bug of ours, still one line unless debugging
        if os.environ.get("YRD_DEBUG") == "1":
            raise
        print(f"yrd-audit: internal error: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
