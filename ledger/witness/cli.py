"""``yrd-witness``: the witness a member runs (C2SP tlog-witness with SM2 cosignatures).

    yrd-witness keygen KEYFILE
    yrd-witness serve --name NAME --key KEYFILE --logs TRUSTFILE --data DIR \\
        --listen HOST:PORT [--ready-file PATH]

``keygen`` writes a new SM2 private key (PKCS#8 PEM, mode 0600; never overwrites) and prints
its public key PEM. ``serve`` witnesses the logs of TRUSTFILE (a ``yrd-trust/v1`` file whose
``logs`` name origin and key), keeps its state in DIR/witness.db (one process per DIR), and
once listening prints ``yrd-witness: listening on http://HOST:PORT`` and writes that URL to
PATH (atomically). SIGTERM/SIGINT stop it cleanly. Exit status: 0 after a signal, 2 for a
bad argument, key, trust file, data directory or address (one line on stderr), 70 for an
unexpected error (a traceback only with ``YRD_DEBUG=1``). See docs/witness.md.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from ledger._audit_io import ArgumentParser, UsageError, read_input
from ledger.clitext import one_line
from ledger.crypto import PrivateKey
from ledger.errors import Error, ReceiptError, StorageError
from ledger.signals import stop_event_on_signals
from ledger.trust import TrustStore

__all__ = ["UsageError", "build_parser", "cmd_keygen", "cmd_serve", "main"]

EXIT_OK, EXIT_USAGE, EXIT_INTERNAL = 0, 2, 70
MAX_FILE_BYTES = 1 << 20
"""Largest key or trust file read; ours are a few kilobytes."""


def _read(path: str, what: str) -> bytes:
    return read_input(path, what, MAX_FILE_BYTES)


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--listen must be HOST:PORT, got {text!r}")
    return host, int(port)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be in (0, 3600] seconds, got {text}")
    return value


def cmd_keygen(args: argparse.Namespace) -> int:
    key = PrivateKey.generate()
    try:
        fd = os.open(args.keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise UsageError(f"{args.keyfile} exists; refusing to overwrite a key") from exc
    except OSError as exc:
        raise UsageError(f"cannot create {args.keyfile}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.to_pem())
        handle.flush()
        os.fsync(handle.fileno())
    sys.stdout.write(key.public_key.to_pem().decode())
    return EXIT_OK


@contextlib.contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """Hold DIR/witness.lock: two witnesses on one state would each trust a stale read."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle: IO[bytes] = (directory / "witness.lock").open("ab")
    except OSError as exc:
        raise UsageError(f"cannot use data directory {directory}: {exc.strerror or exc}") from exc
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise UsageError(f"another yrd-witness is serving from {directory}") from exc
        yield


def _write_ready(path: str, url: str) -> None:
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".ready-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(url + "\n")
    os.replace(tmp, target)


def cmd_serve(args: argparse.Namespace) -> int:
    from ._http import WitnessServer
    from ._service import Witness
    from ._store import WitnessStore
    from .errors import WitnessError

    host, port = _listen(args.listen)
    try:
        key = PrivateKey.from_pem(_read(args.key, "key file"))
    except Error as exc:
        if isinstance(exc, UsageError):
            raise
        raise UsageError(f"key file {args.key}: {exc}") from exc
    try:
        logs = TrustStore.load(_read(args.logs, "trust file"))
    except ReceiptError as exc:
        raise UsageError(f"trust file {args.logs}: {exc}") from exc
    stop = stop_event_on_signals()  # never Event.set() in a handler
    with _exclusive(Path(args.data)):
        try:
            store = WitnessStore(args.data)
        except StorageError as exc:
            raise UsageError(f"cannot open the witness database in {args.data}: {exc}") from exc
        try:
            witness = Witness(args.name, key, logs, store)
        except WitnessError as exc:
            store.close()
            raise UsageError(str(exc)) from exc
        try:
            server = WitnessServer(witness, host, port, request_timeout=args.request_timeout)
        except OSError as exc:
            store.close()
            raise UsageError(f"cannot listen on {args.listen}: {exc.strerror or exc}") from exc
        thread = threading.Thread(target=server.serve_forever, name="yrd-witness", daemon=True)
        thread.start()
        try:
            print(f"yrd-witness: listening on {server.url}", flush=True)
            if args.ready_file:
                _write_ready(args.ready_file, server.url)
            logging.getLogger("ledger.witness").info(
                "witness %s serving %s", witness.name, ", ".join(witness.origins)
            )
            while not stop.wait(1.0):
                pass
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
            store.close()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="yrd-witness", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    keygen = sub.add_parser("keygen", help="write a new SM2 witness key, print its public key")
    keygen.add_argument("keyfile", metavar="KEYFILE")
    keygen.set_defaults(func=cmd_keygen)
    serve = sub.add_parser("serve", help="serve C2SP tlog-witness over HTTP")
    serve.add_argument("--name", required=True, help="the cosignature key name")
    serve.add_argument("--key", required=True, help="the witness's SM2 private key (PEM)")
    serve.add_argument("--logs", required=True, help="yrd-trust/v1 file of the logs witnessed")
    serve.add_argument("--data", required=True, help="directory of witness.db")
    serve.add_argument("--listen", required=True, help="HOST:PORT (port 0 picks a free one)")
    serve.add_argument("--ready-file", help="write the URL here once listening")
    serve.add_argument(
        "--request-timeout",
        type=_seconds,
        default=10.0,
        help="seconds a connection may stay silent before it is closed (default 10)",
    )
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"yrd-witness: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # last resort: a bug of ours, still one line unless debugging
        if os.environ.get("YRD_DEBUG") == "1":
            raise
        print(
            f"yrd-witness: internal error: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
