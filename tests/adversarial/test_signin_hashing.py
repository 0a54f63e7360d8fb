"""Finding 9: one password verification per sign-in (unknown users included), argon2id
with rehash of scrypt and of outdated argon2 parameters, and the lockout schedule.

Verifications are counted (never timed) by instrumenting the hash functions themselves.
"""

from __future__ import annotations

import base64
import hashlib
import sqlite3
import threading

import argon2
import psycopg
import pytest

from gateway.cases.accounts import Accounts, Role
from gateway.cases.errors import CaseForbidden
from gateway.cases.store import CaseStore
from gateway.cases.throttle import SignInThrottled

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(case_database):
    store = CaseStore(case_database)  # SQLite and PostgreSQL
    yield store
    store.close()


def _stored(store: CaseStore, username: str) -> str:
    return store.one("SELECT password_hash FROM accounts WHERE username = ?", (username,))[
        "password_hash"
    ]


def _set_stored(store: CaseStore, username: str, value: str) -> None:
    with store.transaction() as conn:
        conn.execute("UPDATE accounts SET password_hash = ? WHERE username = ?", (value, username))


def _legacy_scrypt(password: str) -> str:
    """A hash as the gateway stored it before argon2id (scrypt, n=2^14, r=8, p=1)."""
    salt = bytes(range(16))
    digest = hashlib.scrypt(password.encode(), salt=salt, n=1 << 14, r=8, p=1, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${1 << 14}$8$1${b64(salt).decode()}${b64(digest).decode()}"


def test_unknown_and_known_usernames_cost_the_same_number_of_verifications(store, monkeypatch):
    accounts = Accounts(store)
    accounts.create("suzhou", PASSWORD, role=Role.CLERK, city="suzhou", display_name="c")
    calls: list[str] = []
    for name in ("hash", "verify"):
        original = getattr(argon2.PasswordHasher, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            calls.append(f"argon2.{_name}")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(argon2.PasswordHasher, name, counted)
    real_scrypt = hashlib.scrypt

    def scrypt(*args, **kwargs):
        calls.append("scrypt")
        return real_scrypt(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", scrypt)
    per_attempt = {}
    for username in ("suzhou", "no-such-user"):
        calls.clear()
        with pytest.raises(CaseForbidden) as caught:
            accounts.sign_in(username, "wrong password", "192.0.2.1")
        assert caught.value.code == "bad_credentials"
        per_attempt[username] = list(calls)
    assert per_attempt["suzhou"] == per_attempt["no-such-user"] == ["argon2.verify"]


def test_new_passwords_are_argon2id_at_owasp_parameters(store):
    accounts = Accounts(store)
    accounts.create("auditor", PASSWORD, role=Role.AUDITOR, display_name="a")
    stored = _stored(store, "auditor")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert accounts.sign_in("auditor", PASSWORD)[1].username == "auditor"


def test_an_old_scrypt_hash_is_upgraded_on_sign_in(store):
    accounts = Accounts(store)
    accounts.create("auditor", "placeholder-pw", role=Role.AUDITOR, display_name="a")
    _set_stored(store, "auditor", _legacy_scrypt(PASSWORD))
    with pytest.raises(CaseForbidden):
        accounts.sign_in("auditor", "not the password")
    assert _stored(store, "auditor").startswith("scrypt$")  # only a success rehashes
    accounts.sign_in("auditor", PASSWORD)
    upgraded = _stored(store, "auditor")
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    accounts.sign_in("auditor", PASSWORD)
    assert _stored(store, "auditor") == upgraded  # current: not rehashed again


def test_outdated_argon2_parameters_are_rehashed_on_sign_in(store):
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    Accounts(store, hasher=weak).create("auditor", PASSWORD, role=Role.AUDITOR, display_name="a")
    assert "m=8192,t=1" in _stored(store, "auditor")
    Accounts(store).sign_in("auditor", PASSWORD)
    assert _stored(store, "auditor").startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_the_lock_grows_with_failures_and_ends_by_itself(store):
    clock = Clock()
    accounts = Accounts(store, clock)
    accounts.create("auditor", PASSWORD, role=Role.AUDITOR, display_name="a")
    for _ in range(5):
        with pytest.raises(CaseForbidden):
            accounts.sign_in("auditor", "wrong", "198.51.100.7")
    with pytest.raises(SignInThrottled) as locked:
        accounts.sign_in("auditor", PASSWORD, "198.51.100.7")
    assert locked.value.retry_after == 60
    clock.now += 61
    with pytest.raises(CaseForbidden):  # the 6th failure in 15 min: 2 minutes now
        accounts.sign_in("auditor", "wrong", "198.51.100.7")
    with pytest.raises(SignInThrottled) as locked:
        accounts.sign_in("auditor", PASSWORD, "198.51.100.7")
    assert locked.value.retry_after == 120
    clock.now += 121
    token, account = accounts.sign_in("auditor", PASSWORD, "198.51.100.7")
    assert token and account.username == "auditor"
    # a success clears the account's record: one new failure does not lock again
    with pytest.raises(CaseForbidden) as caught:
        accounts.sign_in("auditor", "wrong", "198.51.100.7")
    assert caught.value.code == "bad_credentials"
    assert accounts.sign_in("auditor", PASSWORD, "198.51.100.7")


def test_concurrent_guesses_cannot_slip_past_the_threshold(store):
    accounts = Accounts(store)
    accounts.create("auditor", PASSWORD, role=Role.AUDITOR, display_name="a")
    barrier = threading.Barrier(16)
    outcomes: list[str] = []

    def guess(n: int) -> None:
        barrier.wait(30)
        try:
            accounts.sign_in("auditor", f"guess-{n}", f"203.0.113.{n}")
        except CaseForbidden as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["bad_credentials"] * 5 + ["too_many_attempts"] * 11


def test_stored_hashes_never_hold_the_password(store, case_database):
    accounts = Accounts(store)
    accounts.create("auditor", PASSWORD, role=Role.AUDITOR, display_name="a")
    accounts.sign_in("auditor", PASSWORD)  # a session row too
    store.close()
    if store.postgres:
        with psycopg.connect(case_database) as conn:
            tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables"
                                                 " WHERE schemaname = 'public'")]  # fmt: skip
            dump = "\n".join(
                str(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"')
            )
    else:
        with sqlite3.connect(case_database) as conn:
            dump = "\n".join(conn.iterdump())
    assert "argon2id" in dump  # the dump holds the hash, so it would show the password
    assert PASSWORD not in dump
