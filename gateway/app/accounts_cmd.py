"""``yrdgw accounts``: list, add and reset the web accounts of a data directory.

The accounts live in ``<data_dir>/cases.db`` (SQLite, WAL, a busy timeout), or with
``--database postgresql://...`` (else the settings' ``database``, once there is one) in the
PostgreSQL database that holds the gateway's cases, so the command
works while the gateway is stopped and safely while it runs: a running gateway reads each
account from the database at every sign-in, so an added account or a new password counts at
once. A reset also ends the account's open sessions.

A password is never taken as a command-line argument (it would sit in the shell history and
in ``ps``): it is generated and printed once, or read from the first line of stdin with
``--password-stdin``. Exit 0 done, 2 bad input (unknown account, bad role or city, no such
data directory).
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path
from typing import Any

from gateway.errors import Code, Error

__all__ = [
    "ROLE_NAMES",
    "AccountsCommandError",
    "add_accounts_command",
    "cmd_accounts",
]

ROLE_NAMES = {"clerk": "窗口工作人员", "handler": "承办地审批人员", "auditor": "审计人员"}


class AccountsCommandError(Error):
    """Bad input to ``yrdgw accounts``: exit 2."""

    code = Code.USAGE


def add_accounts_command(subparsers: Any) -> None:
    """Add ``accounts`` (list, add, reset-password) to the ``yrdgw`` subcommands."""
    parser = subparsers.add_parser(
        "accounts",
        help="list, add and reset web accounts (window clerk, handler, auditor)",
        description="Web accounts in <data-dir>/cases.db; safe while the gateway runs.",
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: the settings')")
    parser.add_argument("--config", help="TOML settings file naming the data directory")
    parser.add_argument(
        "--database",
        help="postgresql:// URL of the cases' database (default: <data-dir>/cases.db)",
    )
    sub = parser.add_subparsers(dest="accounts_command", required=True)
    sub.add_parser("list", help="every account with its role, city or province")
    add = sub.add_parser("add", help="add an account; prints its password unless --password-stdin")
    add.add_argument("username", help="3-64 of a-z 0-9 _ . -")
    add.add_argument("--role", required=True, choices=sorted(ROLE_NAMES))
    add.add_argument("--name", required=True, help="display name, e.g. 嘉兴G60窗口")
    add.add_argument("--city", help="a clerk's G60 city code, e.g. jiaxing")
    add.add_argument("--region", help="a handler's province: SH, JS, ZJ or AH")
    add.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    reset = sub.add_parser("reset-password", help="new password; ends the account's sessions")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    parser.set_defaults(func=cmd_accounts)


def cmd_accounts(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except AccountsCommandError as exc:
        print(f"yrdgw: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from gateway.cases.accounts import Accounts
    from gateway.cases.errors import CaseError

    accounts = Accounts(_store(args))
    try:
        if args.accounts_command == "list":
            _list(accounts)
        elif args.accounts_command == "add":
            password = _password(args.password_stdin)
            accounts.create(
                args.username,
                password,
                role=args.role,
                display_name=args.name,
                city=args.city,
                region=args.region,
            )
            _done(f"added {args.username} ({ROLE_NAMES[args.role]})", password, args)
        else:
            password = _password(args.password_stdin)
            accounts.set_password(args.username, password)
            _done(f"new password for {args.username}; its sessions are ended", password, args)
    except CaseError as exc:
        field = f" ({exc.field})" if exc.field else ""
        raise AccountsCommandError(f"{exc.code}{field}: {exc.message}") from exc
    return 0


def _store(args: argparse.Namespace) -> Any:
    from gateway.app.settings import Settings
    from gateway.cases.store import CaseStore
    from gateway.errors import Error as GatewayError
    from gateway.storage import is_postgres_url

    try:
        settings = Settings.load(args.config, data_dir=args.data_dir)
    except GatewayError as exc:
        raise AccountsCommandError(f"settings: {exc}") from exc
    given = getattr(args, "database", None)
    database = given or getattr(settings, "database", None)
    if database is not None and is_postgres_url(str(database)):
        try:
            return CaseStore(str(database))
        except GatewayError as exc:
            raise AccountsCommandError(f"database: {exc}") from exc
    if given is not None:
        raise AccountsCommandError("--database: not a postgresql:// URL")
    data_dir = settings.data_dir
    if not data_dir.is_dir():
        raise AccountsCommandError(f"no data directory {data_dir} (start the gateway once)")
    path = data_dir / "cases.db"
    if args.accounts_command != "add" and not path.exists():
        raise AccountsCommandError(f"no accounts yet: {path} does not exist")
    return CaseStore(path)


def _password(from_stdin: bool) -> str:
    if not from_stdin:
        return secrets.token_urlsafe(12)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise AccountsCommandError("--password-stdin: no password on stdin")
    return line


def _done(what: str, password: str, args: argparse.Namespace) -> None:
    print(f"yrdgw: {what}")
    if not args.password_stdin:
        print(f"yrdgw: password (shown once): {password}")


def _list(accounts: Any) -> None:
    from gateway.cases import CITIES, REGION_NAMES
    from gateway.regions import Region

    rows = accounts.all()
    print(f"{'username':<16} {'role':<8} {'角色':<8} where / display name")
    for a in rows:
        if a.city:
            where = f"{CITIES[a.city].name_zh} ({a.region})"
        elif a.region:
            where = f"{REGION_NAMES[Region(a.region)]} ({a.region})"
        else:
            where = "-"
        print(f"{a.username:<16} {a.role.value:<8} {ROLE_NAMES[a.role.value]:<8} {where} · "
              f"{a.display_name}")  # fmt: skip
    print(f"yrdgw: {len(rows)} account(s)")
