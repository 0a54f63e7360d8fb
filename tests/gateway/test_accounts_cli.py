"""``yrdgw accounts`` (issue 14): list, add (window clerk, handler, auditor) and reset a
password, on a data directory while the gateway is stopped and while it runs.

The running case is the one that matters for an operator: a real gateway on loopback, the
command run as its own process against the same data directory, then a sign-in over HTTP
with the new password (and the old session refused: a reset ends the account's sessions).
The same gateway shows what ``serve --dev`` prints for newcomers (``dev_banner``).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gateway.app.accounts_cmd import ROLE_NAMES
from gateway.app.serve import dev_banner
from gateway.cases.accounts import Accounts, Role
from gateway.cases.errors import CaseForbidden
from gateway.cases.store import CaseStore
from gateway.cli import main
from tests.web.helpers import sign_in, start_web_gateway

ROOT = Path(__file__).resolve().parents[2]


def yrdgw(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The real command line, as an operator runs it (its own process)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )


def _password_of(out: str) -> str:
    line = next(x for x in out.splitlines() if "password (shown once):" in x)
    return line.rsplit(" ", 1)[1]


def test_add_list_and_reset_on_a_stopped_gateway(tmp_path: Path, capsys) -> None:
    data = str(tmp_path)
    assert main(["accounts", "--data-dir", data, "add", "jiaxing-1", "--role", "clerk",
                 "--name", "嘉兴G60窗口", "--city", "jiaxing"]) == 0  # fmt: skip
    password = _password_of(capsys.readouterr().out)
    assert main(["accounts", "--data-dir", data, "add", "handler-zj2", "--role", "handler",
                 "--name", "浙江承办", "--region", "ZJ"]) == 0  # fmt: skip
    assert main(["accounts", "--data-dir", data, "add", "auditor-2", "--role", "auditor",
                 "--name", "审计"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["accounts", "--data-dir", data, "list"]) == 0
    listing = capsys.readouterr().out
    expected = (("jiaxing-1", "clerk"), ("handler-zj2", "handler"), ("auditor-2", "auditor"))
    for user, role in expected:
        row = next(x for x in listing.splitlines() if x.startswith(user))
        assert role in row and ROLE_NAMES[role] in row
    assert "嘉兴" in listing and "浙江 (ZJ)" in listing and "3 account(s)" in listing
    accounts = Accounts(CaseStore(tmp_path / "cases.db"))
    token, acct = accounts.sign_in("jiaxing-1", password)
    assert acct.role is Role.CLERK and acct.city == "jiaxing"
    # reset: a generated password, printed once; the old one and the old session stop working
    assert main(["accounts", "--data-dir", data, "reset-password", "jiaxing-1"]) == 0
    new = _password_of(capsys.readouterr().out)
    assert new != password
    assert accounts.session(token) is None
    accounts.sign_in("jiaxing-1", new)
    with pytest.raises(CaseForbidden) as refused:
        accounts.sign_in("jiaxing-1", password)
    assert refused.value.code == "bad_credentials"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["add", "xyz", "--role", "clerk", "--name", "n"], "city"),  # a clerk needs a city
        (["add", "abc", "--role", "clerk", "--name", "n", "--city", "nowhere"], "city"),
        (["add", "abc", "--role", "handler", "--name", "n", "--region", "XX"], "region"),
        (["add", "A!", "--role", "auditor", "--name", "n"], "username"),
        (["reset-password", "nobody"], "not_found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_and_writes_nothing(
    tmp_path: Path, capsys, args: list[str], says: str
) -> None:
    assert main(["accounts", "--data-dir", str(tmp_path), "add", "keep", "--role", "auditor",
                 "--name", "k"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["accounts", "--data-dir", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("yrdgw: error:") and says in err and err.count("\n") == 1
    users = [a.username for a in Accounts(CaseStore(tmp_path / "cases.db")).all()]
    assert users == ["keep"]


def test_no_data_directory_or_no_accounts_is_refused(tmp_path: Path, capsys) -> None:
    assert main(["accounts", "--data-dir", str(tmp_path / "missing"), "list"]) == 2
    assert "no data directory" in capsys.readouterr().err
    assert main(["accounts", "--data-dir", str(tmp_path), "reset-password", "x"]) == 2
    assert "no accounts yet" in capsys.readouterr().err
    assert not (tmp_path / "cases.db").exists()  # a typo in --data-dir makes no database


def test_password_from_stdin_is_never_printed(tmp_path: Path) -> None:
    done = yrdgw(
        "accounts",
        "--data-dir",
        str(tmp_path),
        "add",
        "auditor-3",
        "--role",
        "auditor",
        "--name",
        "审计",
        "--password-stdin",
        stdin="a-long-secret-1\n",
    )
    assert done.returncode == 0, done.stderr
    assert "a-long-secret-1" not in done.stdout + done.stderr
    Accounts(CaseStore(tmp_path / "cases.db")).sign_in("auditor-3", "a-long-secret-1")
    short = yrdgw("accounts", "--data-dir", str(tmp_path), "reset-password", "auditor-3",
                  "--password-stdin", stdin="short\n")  # fmt: skip
    assert short.returncode == 2 and "password" in short.stderr


def test_reset_while_the_gateway_runs(tmp_path: Path) -> None:
    gw, sims = start_web_gateway(tmp_path)
    # where the running gateway keeps its accounts: cases.db, or its shared database
    where = ["--data-dir", str(tmp_path)]
    if gw.settings.database:
        where += ["--database", gw.settings.database]
    try:
        added = yrdgw("accounts", *where, "add", "wuhu-1", "--role",
                      "clerk", "--name", "芜湖G60窗口", "--city", "wuhu")  # fmt: skip
        assert added.returncode == 0, added.stderr
        client = sign_in(gw.http_url, "wuhu-1", _password_of(added.stdout))
        assert client.get("/api/auth/me").json()["city"] == "wuhu"
        reset = yrdgw("accounts", *where, "reset-password", "wuhu-1",
                      "--password-stdin", stdin="fresh-password-9\n")  # fmt: skip
        assert reset.returncode == 0, reset.stderr
        assert client.get("/api/auth/me").status_code == 401  # the old session is ended
        again = sign_in(gw.http_url, "wuhu-1", "fresh-password-9")
        assert again.get("/api/auth/me").json()["username"] == "wuhu-1"
        # what serve --dev (run.sh) prints: the page, each account with its role, the reset
        banner = "\n".join(dev_banner(gw.gateway.settings, gw.gateway))
        assert f"{gw.http_url}/web/" in banner.replace("localhost", "127.0.0.1")
        row = next(x for x in banner.splitlines() if "wuhu-1" in x)
        assert "clerk" in row and "窗口工作人员" in row and "wuhu" in row
        assert f"yrdgw accounts {' '.join(where)} reset-password" in banner
        stale = httpx.post(
            f"{gw.http_url}/api/auth/sign-in",
            json={"username": "wuhu-1", "password": _password_of(added.stdout)},
        )
        assert stale.status_code == 401
        client.close()
        again.close()
    finally:
        gw.stop()
        sims.stop()


def test_accounts_in_postgres_with_database(
    pg_url: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    base = ["accounts", "--data-dir", str(tmp_path), "--database", pg_url]
    assert main([*base, "add", "auditor-9", "--role", "auditor", "--name", "审计"]) == 0
    password = _password_of(capsys.readouterr().out)
    assert main([*base, "add", "auditor-9", "--role", "auditor", "--name", "again"]) == 2
    assert "exists (username)" in capsys.readouterr().err
    assert main([*base, "list"]) == 0
    assert "auditor-9" in capsys.readouterr().out
    store = CaseStore(pg_url)
    try:
        token, _ = Accounts(store).sign_in("auditor-9", password)
        monkeypatch.setattr("sys.stdin", io.StringIO("fresh-password-9\n"))
        assert main([*base, "reset-password", "auditor-9", "--password-stdin"]) == 0
        capsys.readouterr()
        assert Accounts(store).session(token) is None  # the reset ended the session
        Accounts(store).sign_in("auditor-9", "fresh-password-9")
    finally:
        store.close()
    assert not (tmp_path / "cases.db").exists()  # the accounts are in PostgreSQL only
    # a file path is not a database URL; an unreachable database is named, exit 2
    assert main(["accounts", "--database", str(tmp_path / "x.db"), "list"]) == 2
    assert "not a postgresql:// URL" in capsys.readouterr().err
    missing = pg_url.replace("postgres@/", "postgres@/no_such_db_", 1)
    assert main(["accounts", "--database", missing, "list"]) == 2
    assert "database:" in capsys.readouterr().err
