"""``yrdgw``: the gateway's command line.

Exit codes follow one rule everywhere: 0 success or valid, 1 a check failed (invalid
signature, refused document), 2 usage or input error (missing file, malformed PEM). Errors
are one line on stderr, never a traceback; an unexpected exception is ``yrdgw: internal
error: <type>: <message>`` and exit 70 (the traceback only with ``YRD_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from gateway.errors import Code, Error
from ledger.clitext import one_line
from ledger.crypto import DEFAULT_ID, PrivateKey, PublicKey, default_backend, sm3_file
from ledger.errors import KeyFormatError, SignatureError

__all__ = [
    "UsageError",
    "build_parser",
    "cmd_demo",
    "cmd_selfcheck",
    "cmd_serve",
    "cmd_sm2_keygen",
    "cmd_sm2_sign",
    "cmd_sm2_verify",
    "cmd_sm3",
    "main",
]

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): an unexpected error, reported in one line


class UsageError(Error):
    """Bad input on the command line: exit 2."""

    code = Code.USAGE


class _ArgumentParser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error of this CLI."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)} (see --help)\n")


def _read(path: str, what: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    return data


def _read_nonempty(path: str, what: str) -> bytes:
    data = _read(path, what)
    if not data:
        raise UsageError(f"{what} {path} is empty")
    return data


def _write(path: str, data: bytes, private: bool = False) -> None:
    try:
        target = Path(path)
        target.write_bytes(data)
        if private:
            target.chmod(0o600)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _user_id(value: str | None) -> bytes:
    return DEFAULT_ID if value is None else value.encode()


def _load_private(path: str) -> PrivateKey:
    try:
        return PrivateKey.from_pem(_read_nonempty(path, "key"))
    except KeyFormatError as exc:
        raise UsageError(f"bad private key {path}: {exc}") from exc


def _load_public(path: str) -> PublicKey:
    try:
        return PublicKey.from_pem(_read_nonempty(path, "public key"))
    except KeyFormatError as exc:
        raise UsageError(f"bad public key {path}: {exc}") from exc


def cmd_sm2_keygen(args: argparse.Namespace) -> int:
    key = PrivateKey.generate()
    _write(args.out_key, key.to_pem(), private=True)
    _write(args.out_pub, key.public_key.to_pem())
    print(f"key id {key.public_key.key_id}")
    return EXIT_OK


def cmd_sm2_sign(args: argparse.Namespace) -> int:
    key = _load_private(args.key)
    message = _read(args.input, "input file")
    _write(args.out, key.sign(message, _user_id(args.id)))
    return EXIT_OK


def cmd_sm2_verify(args: argparse.Namespace) -> int:
    public = _load_public(args.pub)
    message = _read(args.input, "input file")
    signature = _read_nonempty(args.sig, "signature file")
    try:
        public.verify(message, signature, _user_id(args.id))
    except SignatureError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print("signature ok")
    return EXIT_OK


def cmd_sm3(args: argparse.Namespace) -> int:
    try:
        print(sm3_file(args.file).hex())
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
    return EXIT_OK


def cmd_selfcheck(args: argparse.Namespace) -> int:
    """Sign and verify with both backends, each checking the other: the smallest proof of life."""
    from ledger.crypto import NATIVE_AVAILABLE

    key = PrivateKey.generate()
    message = b"yrd-gateway self-check"
    backends = ["reference"] + (["native"] if NATIVE_AVAILABLE else [])
    for signer in backends:
        signature = key.sign(message, backend=signer)
        for verifier in backends:
            key.public_key.verify(message, signature, backend=verifier)
            print(f"sm2 signed by {signer}, verified by {verifier}: ok")
    print(f"default backend: {default_backend()}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the gateway; any refusal to start (settings, trust, a held lock, a taken port,
    a log that fails its checks at open) is one line and exit 2."""
    import asyncio

    from gateway.app.serve import serve
    from gateway.app.settings import Settings
    from gateway.errors import Error as GatewayError
    from gateway.ops import heap, logs
    from ledger.errors import Error as LedgerError

    logs.configure()
    try:
        settings = Settings.load(
            args.config,
            data_dir=args.data_dir,
            database=args.database,
            workers=args.workers,
            dev=args.dev or None,
            grpc_port=args.grpc_port,
            http_port=args.http_port,
        )
        from gateway.app.workers import check_workers, is_worker, run_workers

        check_workers(settings)
        if settings.workers > 1 and not is_worker():
            return run_workers(settings, args.argv)

        def settle_heap(_gateway: object) -> None:
            heap.settle_after_start()

        asyncio.run(serve(settings, dev=settings.dev, ready=settle_heap))
    except (GatewayError, LedgerError) as exc:
        raise UsageError(f"cannot serve: {exc}") from exc
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from gateway.app import demo
    from gateway.errors import Error as GatewayError
    from ledger.errors import Error as LedgerError

    try:
        return demo.main(args.out, args.data_dir)
    except (GatewayError, LedgerError) as exc:
        raise UsageError(f"demo: {exc}") from exc


def _add_sm2(sub: argparse._SubParsersAction) -> None:
    sm2 = sub.add_parser("sm2", help="SM2 keys and signatures (GB/T 32918)")
    sm2_sub = sm2.add_subparsers(dest="sm2_command", required=True)
    keygen = sm2_sub.add_parser("keygen", help="generate a key pair (PKCS#8 + SPKI PEM)")
    keygen.add_argument("--out-key", required=True)
    keygen.add_argument("--out-pub", required=True)
    keygen.set_defaults(func=cmd_sm2_keygen)
    sign = sm2_sub.add_parser("sign", help="sign a file (DER signature)")
    sign.add_argument("--key", required=True)
    sign.add_argument("--in", dest="input", required=True)
    sign.add_argument("--out", required=True)
    sign.add_argument("--id", help="SM2 user id (default 1234567812345678)")
    sign.set_defaults(func=cmd_sm2_sign)
    verify = sm2_sub.add_parser("verify", help="verify a DER signature: exit 0 valid, 1 invalid")
    verify.add_argument("--pub", required=True)
    verify.add_argument("--in", dest="input", required=True)
    verify.add_argument("--sig", required=True)
    verify.add_argument("--id", help="SM2 user id (default 1234567812345678)")
    verify.set_defaults(func=cmd_sm2_verify)


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="yrdgw", description="YRD Gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_sm2(sub)
    sm3_parser = sub.add_parser("sm3", help="print the SM3 digest of a file (lowercase hex)")
    sm3_parser.add_argument("file")
    sm3_parser.set_defaults(func=cmd_sm3)
    check = sub.add_parser("selfcheck", help="sign and verify with every SM2 backend")
    check.set_defaults(func=cmd_selfcheck)
    serve = sub.add_parser("serve", help="run the gateway (gRPC + HTTP) until interrupted")
    serve.add_argument("--config", help="TOML settings file (see gateway/app/settings.py)")
    serve.add_argument(
        "--dev",
        action="store_true",
        help="province simulators, seeded window accounts and sample cases",
    )
    serve.add_argument("--data-dir", type=Path)
    serve.add_argument(
        "--database",
        help="postgresql:// URL shared by several front ends (default: SQLite in the data dir)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        help="gateway processes on this host sharing the ports (needs --database)",
    )
    serve.add_argument("--grpc-port", type=int)
    serve.add_argument("--http-port", type=int)
    serve.set_defaults(func=cmd_serve)
    demo = sub.add_parser("demo", help="run a scripted cross-region scenario and audit it")
    demo.add_argument("--out", help="directory for the receipts and trust file")
    demo.add_argument("--data-dir", help="data directory (default: a temporary one)")
    demo.set_defaults(func=cmd_demo)
    from gateway.registry.cli import add_registry_commands

    add_registry_commands(sub)
    from gateway.app.init_cmd import add_init_command

    add_init_command(sub)
    from gateway.app.ledger_cli import add_ledger_commands

    add_ledger_commands(sub)
    from gateway.app.accounts_cmd import add_accounts_command

    add_accounts_command(sub)
    from gateway.licences.cli import add_licence_commands

    add_licence_commands(sub)
    for extend in _EXTENSIONS:
        extend(sub)
    return parser


_EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])  # serve --workers re-runs it
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"yrdgw: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into e.g. head: not an error of ours
        sys.stderr.close()
        return 0
    except Exception as exc:  # last resort: a bug of ours, still one line unless debugging
        if os.environ.get("YRD_DEBUG") == "1":
            raise
        print(f"yrdgw: internal error: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
