"""``yrd-sequencer``: run a candidate sequencer for one log origin on PostgreSQL.

    python -m ledger.sequencer_cli --database postgresql://... --key log.pem --origin ORIGIN

Run two or more per origin (on different hosts): one leads, the others wait and take over
within seconds when it stops (docs/ledger.md, "The log on PostgreSQL"). The key file is the
log's SM2 private key in PEM (``PRIVATE KEY``), as the gateway's ``log_key_path``. Logs
``sequencer for ORIGIN: leader`` / ``standby``. Exit status: 0 on SIGTERM/SIGINT, 2 for a
bad argument, key file or database URL, 3 when the stored log does not verify with this key
(IntegrityError: it refuses to sequence).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ledger.signals import stop_event_on_signals

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_INTEGRITY = 3


def _fail(message: str, status: int) -> int:
    print(f"yrd-sequencer: error: {message}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="yrd-sequencer", description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True, help="postgresql:// URL")
    parser.add_argument("--key", required=True, help="the log's SM2 private key (PEM)")
    parser.add_argument("--origin", required=True, help="the log origin to sequence")
    parser.add_argument("--batch-max", type=int, default=4096, help="entries per checkpoint")
    parser.add_argument("--standby-poll", type=float, default=0.5, help="seconds between tries")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not args.database.startswith(("postgresql://", "postgres://")):
        return _fail(f"--database must be a postgresql:// URL, got {args.database[:40]!r}", 2)
    from .crypto import PrivateKey
    from .errors import Error, IntegrityError

    try:
        key = PrivateKey.from_pem(Path(args.key).read_bytes())
    except (OSError, ValueError, Error) as exc:
        return _fail(f"cannot load the log key from {args.key}: {exc}", EXIT_USAGE)
    try:
        import psycopg

        from .log._sequencer import Sequencer
        from .pg.migrations import migrate_ledger
    except ImportError as exc:
        return _fail(f"needs the 'postgres' extra (yrd-ledger[postgres]): {exc}", EXIT_USAGE)
    sequencer = Sequencer(
        args.database, key, args.origin, batch_max=args.batch_max, standby_poll=args.standby_poll
    )
    try:
        with sequencer.connect() as conn:
            migrate_ledger(conn)
    except psycopg.Error as exc:
        return _fail(f"cannot connect to the database: {' '.join(str(exc).split())}", 2)
    except Error as exc:
        return _fail(f"cannot bring the ledger schema up to date: {exc}", EXIT_USAGE)
    stop = stop_event_on_signals()  # never Event.set() in a handler
    try:
        sequencer.run(stop)
    except IntegrityError as exc:
        return _fail(
            f"refusing to sequence {args.origin}: IntegrityError [{exc.code.value}]: {exc}",
            EXIT_INTEGRITY,
        )
    except psycopg.Error as exc:
        return _fail(f"cannot connect to the database: {' '.join(str(exc).split())}", 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
