"""``yrdgw ledger verify``: the full integrity check of a stopped gateway's log.

A start verifies only what was added since the last start (a signed verified-up-to marker);
this command checks everything: every entry, subtree hash, checkpoint root and signature, the
signer's history, the last confirmed anchor in ``anchors.db`` and, with a ``--config`` whose
``anchor_mode`` is ``jsonrpc``, the chain's latest anchor when the chain answers
(``ledger.log.verify_log_files``). It writes nothing. Exit 0 valid, 1 a check failed (the
line names the first bad index or size), 2 bad input (no database, no key). One line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gateway.app.data_files import GATEWAY_DB, LOG_DB
from gateway.errors import Error as GatewayError
from ledger.crypto import PrivateKey, PublicKey
from ledger.errors import Error, IntegrityError, KeyFormatError

__all__ = ["add_ledger_commands", "cmd_verify"]

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _public_key(args: argparse.Namespace, data_dir: Path) -> PublicKey:
    """The log key: ``--log-pub``, else the config's ``log_key_path``, else the dev key."""
    if args.log_pub:
        return PublicKey.from_pem(Path(args.log_pub).read_bytes())
    candidates = []
    if args.config:
        from gateway.app.settings import Settings

        settings = Settings.load(args.config, data_dir=data_dir)
        candidates.append(settings.path("log_key_path", "log.pem"))
    candidates += [data_dir / "log.pem", data_dir / "dev" / "keys" / "log.pem"]
    for path in candidates:
        if path.is_file():
            return PrivateKey.from_pem(path.read_bytes()).public_key
    raise FileNotFoundError("no log key found: give --log-pub or --config")


def _chain_reader(args: argparse.Namespace, data_dir: Path, notes: list[str]):
    """``origin -> (size, root) | None`` from the configured JSON-RPC chain, or None.

    An unreachable chain is not a failure (anchors may lag); it is said on stdout.
    """
    if not args.config:
        return None
    from gateway.app.settings import Settings

    settings = Settings.load(args.config, data_dir=data_dir)
    if settings.anchor_mode != "jsonrpc" or not settings.anchor_contract:
        return None

    def latest(origin: str) -> tuple[int, bytes] | None:
        from ledger.anchor import AnchorError, JsonRpcChain

        try:
            chain = JsonRpcChain(
                settings.anchor_rpc_url,
                settings.anchor_private_key.get_secret_value() or _READ_ONLY_KEY,
                settings.anchor_contract,
                timeout=10,
                request_timeout=5,
            )
            record = chain.latest(origin)
        except AnchorError as exc:
            notes.append(f"chain not checked: {exc}")
            return None
        notes.append("chain checked" if record else "chain has no anchor yet")
        return None if record is None else (record.tree_size, record.root)

    return latest


_READ_ONLY_KEY = "0x" + "11" * 32
"""Reads need no account of ours; a fixed throwaway key satisfies the client."""


def cmd_verify(args: argparse.Namespace) -> int:
    from ledger.log import verify_log_files

    data_dir = Path(args.data_dir)
    started = time.perf_counter()
    notes: list[str] = []
    try:
        database = data_dir / LOG_DB
        if not database.is_file() and (data_dir / GATEWAY_DB).is_file():
            database = data_dir / GATEWAY_DB  # a data directory from before the split
        if not database.is_file():
            raise FileNotFoundError(f"no log database {data_dir / LOG_DB}")
        public = _public_key(args, data_dir)
        verified = verify_log_files(
            database,
            public,
            args.origin,
            anchors=data_dir / "anchors.db",
            chain_latest=_chain_reader(args, data_dir, notes),
        )
    except IntegrityError as exc:
        print(f"yrdgw: invalid: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except (OSError, KeyFormatError, Error, GatewayError) as exc:
        print(f"yrdgw: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"log ok: {verified.size} entries, {verified.checkpoints} checkpoints, "
        f"{verified.signatures} signatures, root {verified.root.hex()} "
        f"({time.perf_counter() - started:.2f} s)" + "".join(f"; {n}" for n in notes)
    )
    return EXIT_OK


def add_ledger_commands(sub: argparse._SubParsersAction) -> None:
    ledger = sub.add_parser("ledger", help="check the gateway's stored log")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    verify = ledger_sub.add_parser(
        "verify", help="verify every entry, subtree, checkpoint and signature: exit 0/1/2"
    )
    verify.add_argument("--data-dir", required=True, help="the gateway's data directory")
    verify.add_argument("--config", help="TOML settings file naming log_key_path")
    verify.add_argument("--log-pub", help="the log's SM2 public key (PEM)")
    verify.add_argument("--origin", help="log origin (default: from the last checkpoint)")
    verify.set_defaults(func=cmd_verify)
