"""``yrdgw licence verify LICENCE --trust T [--holder-key K] [--at TIME]``: offline.

``LICENCE`` is a file holding the signed licence (its JSON, or that JSON in base64; ``-``
reads stdin); ``T`` is a licence trust file (``gateway.licences.trust``: the signed registry
and the governance key that signs it; the dev environment writes ``dev/licence-trust.json``).
``--at`` (RFC 3339, default now) is the time the licence and the registry are checked at;
``--revocations FILE`` (repeatable) adds a region's signed revocation list
(``gateway.licences.revocations``).
No network, nothing written. Output: one line per check, ``ok`` or ``FAILED`` with the
reason and message, then ``VALID`` or ``INVALID``.

Exit codes: 0 the licence is valid, 1 a check refused it, 2 usage or input error (no such
file, a trust file or revocation list that does not verify, a bad ``--at``).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import sys
from datetime import UTC, datetime
from pathlib import Path

from gateway.cli import UsageError as _Usage
from gateway.errors import ConfigError
from gateway.licences.errors import LicenceRejected
from gateway.licences.revocations import MAX_BYTES as MAX_LIST
from gateway.licences.revocations import load_revocation_list, merge
from gateway.licences.trust import load_licence_trust
from gateway.licences.verify import CHECKS, verify_licence

__all__ = ["add_licence_commands", "cmd_licence_verify"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
MAX_INPUT = 64 * 1024


def _read(path: str, what: str, limit: int) -> bytes:
    try:
        if path == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with Path(path).open("rb") as handle:
                data = handle.read(limit + 1)
    except OSError as exc:
        raise _Usage(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise _Usage(f"{what} {path}: larger than {limit} bytes")
    return data


def _licence_bytes(data: bytes) -> bytes:
    stripped = data.strip()
    if stripped.startswith(b"{"):
        return stripped
    try:
        return base64.b64decode(b"".join(stripped.split()), validate=True)
    except (binascii.Error, ValueError):
        return stripped  # fails the parse check, which says so


def cmd_licence_verify(args: argparse.Namespace) -> int:
    try:
        at = datetime.now(UTC)
        if args.at:
            try:
                at = datetime.fromisoformat(args.at)
            except ValueError:
                raise _Usage(
                    f"--at: expected rfc 3339 like 2026-12-01T00:00:00Z: {args.at!r}"
                ) from None
            if at.tzinfo is None:
                raise _Usage("--at: give an offset or Z")
        trust = _read(args.trust, "trust file", 16 * 1024 * 1024)
        licence = _licence_bytes(_read(args.licence, "licence", MAX_INPUT))
        try:
            registry = load_licence_trust(trust, at)
        except ConfigError as exc:
            raise _Usage(str(exc)) from exc
        lists = []
        for path in args.revocations or ():
            try:
                lists.append(
                    load_revocation_list(_read(path, "revocation list", MAX_LIST), registry)
                )
            except LicenceRejected as exc:
                raise _Usage(f"revocation list {path}: {exc.reason.wire}: {exc.message}") from exc
    except _Usage as exc:
        print(f"yrdgw: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        verified = verify_licence(
            licence,
            registry=registry,
            now=at,
            holder_key=args.holder_key or None,
            revoked=merge(lists),
        )
    except LicenceRejected as exc:
        for check in CHECKS[: CHECKS.index(exc.check)]:
            print(f"{check}: ok")
        print(f"{exc.check}: FAILED {exc.reason.wire}: {exc.message}")
        print(f"INVALID {exc.reason.wire} ({exc.chinese})")
        return EXIT_INVALID
    for check in CHECKS:
        skipped = check == "holder" and not args.holder_key
        print(f"{check}: {'skipped (no --holder-key)' if skipped else 'ok'}")
    print(
        f"VALID {verified.licence_type} ({verified.type_label}) {verified.licence_id} "
        f"issued by {verified.issuer.region} {verified.issuer.authority}, "
        f"holder {verified.holder.key} {verified.holder.display_name}"
    )
    return EXIT_OK


def add_licence_commands(sub: argparse._SubParsersAction) -> None:
    """``yrdgw licence verify``."""
    licence = sub.add_parser("licence", help="electronic licences (电子证照)")
    licence_sub = licence.add_subparsers(dest="licence_command", required=True)
    verify = licence_sub.add_parser(
        "verify", help="verify a signed e-licence offline: exit 0 valid, 1 refused, 2 usage"
    )
    verify.add_argument("licence", help="the signed licence file (json or base64; - for stdin)")
    verify.add_argument("--trust", required=True, help="licence trust file (signed registry)")
    verify.add_argument("--holder-key", help="the applicant's person key the holder must be")
    verify.add_argument("--at", help="check at this time (rfc 3339; default now)")
    verify.add_argument(
        "--revocations",
        action="append",
        metavar="FILE",
        help="a region's signed revocation list (repeatable); one that does not verify: exit 2",
    )
    verify.set_defaults(func=cmd_licence_verify)
