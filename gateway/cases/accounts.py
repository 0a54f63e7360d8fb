"""Accounts (window clerks bound to a G60 city, province handlers, auditors) and sessions.

Passwords are hashed with argon2id (RFC 9106; ``argon2-cffi``) at the OWASP Password Storage
Cheat Sheet parameters (m=19 MiB, t=2, p=1, 16-byte salt), stored in the PHC string format
(``$argon2id$v=19$m=19456,t=2,p=1$salt$hash``). Hashes of an earlier scheme (``scrypt$n$r$p$
salt$hash``, RFC 7914) still verify and are replaced by argon2id at the next successful
sign-in, as are argon2 hashes whose parameters differ from the current ones
(``check_needs_rehash``). Every sign-in attempt costs exactly one password verification,
for unknown usernames too (against a dummy hash), so neither timing nor work tells which
usernames exist. Failed attempts are throttled (``throttle.SignInThrottle``). Session tokens
are 32 random bytes (URL-safe base64); only their SM3 digest is stored, and they expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.cases.errors import CaseForbidden, CaseInvalid, CaseNotFound
from gateway.cases.model import CITIES
from gateway.cases.store import CaseStore
from gateway.cases.throttle import SignInThrottle
from gateway.regions import REGIONS
from ledger.crypto import sm3

__all__ = ["Account", "Accounts", "Role", "hash_password", "password_hasher", "verify_password"]

# OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
ARGON2_TIME_COST, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM = 2, 19 * 1024, 1
SESSION_SECONDS = 8 * 3600
_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,63}")
# ``replace=True``: the account's row is overwritten (an upsert SQLite and PostgreSQL take).
_REPLACE = (
    " ON CONFLICT (username) DO UPDATE SET role = excluded.role, city = excluded.city,"
    " region = excluded.region, display_name = excluded.display_name,"
    " password_hash = excluded.password_hash, created_at = excluded.created_at"
)


def password_hasher() -> PasswordHasher:
    """The current argon2id parameters (a new one, so tests may count or vary it)."""
    return PasswordHasher(
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
        hash_len=32,
        salt_len=16,
    )


class Role(StrEnum):
    CLERK = "clerk"  # 窗口工作人员: bound to a G60 city
    HANDLER = "handler"  # 承办地审批人员: bound to a region (drives the handling side)
    AUDITOR = "auditor"  # 审计人员: reads timelines and verifies receipts


@dataclass(frozen=True)
class Account:
    username: str
    role: Role
    display_name: str
    city: str | None = None
    region: str | None = None

    def to_dict(self) -> dict:
        city = CITIES.get(self.city) if self.city else None
        return {
            "username": self.username,
            "role": self.role.value,
            "display_name": self.display_name,
            "city": self.city,
            "city_name": city.name_zh if city else None,
            "region": self.region,
        }


def hash_password(password: str, *, hasher: PasswordHasher | None = None) -> str:
    """An argon2id PHC string for ``password`` (random salt)."""
    return (hasher or password_hasher()).hash(password)


def verify_password(password: str, stored: str, *, hasher: PasswordHasher | None = None) -> bool:
    """Whether ``password`` matches ``stored`` (argon2id, or a legacy scrypt hash)."""
    return _check(password, stored, hasher or password_hasher())[0]


def _check(password: str, stored: str, hasher: PasswordHasher) -> tuple[bool, bool]:
    """(matches, should be rehashed): one verification, whatever the scheme."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored), True
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return True, hasher.check_needs_rehash(stored)


def _verify_scrypt(password: str, stored: str) -> bool:
    """The scheme before argon2id: ``scrypt$n$r$p$salt$hash`` (base64), RFC 7914."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=32,
        )
        return hmac.compare_digest(actual, base64.b64decode(digest))
    except (ValueError, TypeError):
        return False


class Accounts:
    """Accounts and sessions in ``store``; ``hasher`` and ``throttle`` are injectable."""

    def __init__(
        self,
        store: CaseStore,
        clock: Callable[[], float] = time.time,
        *,
        hasher: PasswordHasher | None = None,
        throttle: SignInThrottle | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.hasher = hasher or password_hasher()
        self.throttle = throttle or SignInThrottle(clock)
        # made now, so even the first unknown username costs one verification, no more
        self._dummy_hash = hash_password(secrets.token_urlsafe(32), hasher=self.hasher)

    def create(
        self,
        username: str,
        password: str,
        *,
        role: Role | str,
        display_name: str,
        city: str | None = None,
        region: str | None = None,
        replace: bool = False,
    ) -> Account:
        role = Role(role)
        if not _USERNAME.fullmatch(username):
            raise CaseInvalid("invalid", "用户名应为 3 至 64 位小写字母、数字或 _.-", "username")
        if len(password) < 8:
            raise CaseInvalid("invalid", "密码至少 8 位", "password")
        if role is Role.CLERK:
            if city is None or city not in CITIES:
                raise CaseInvalid("invalid", f"窗口账号须属于 G60 城市，收到 {city!r}", "city")
            region = CITIES[city].region
        elif role is Role.HANDLER and region not in REGIONS:
            raise CaseInvalid(
                "invalid", f"承办账号的省份须为 SH/JS/ZJ/AH，收到 {region!r}", "region"
            )
        # A name taken meanwhile (another process, on PostgreSQL) inserts nothing: refused too.
        conflict = _REPLACE if replace else " ON CONFLICT (username) DO NOTHING"
        insert = (
            "INSERT INTO accounts(username, role, city, region, display_name, password_hash,"  # noqa: S608 - fixed clauses
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)" + conflict
        )
        with self.store.transaction() as conn:
            if (
                not replace
                and conn.execute(
                    "SELECT 1 FROM accounts WHERE username = ?", (username,)
                ).fetchone()
            ):
                raise CaseInvalid("exists", f"账号 {username} 已存在", "username")
            added = conn.execute(
                insert,
                (username, role.value, city, region, display_name,
                 hash_password(password, hasher=self.hasher),
                 self.clock()),
            ).rowcount  # fmt: skip
            if added != 1:
                raise CaseInvalid("exists", f"账号 {username} 已存在", "username")
        return Account(username, role, display_name, city, region)

    def exists(self, username: str) -> bool:
        return self.store.one("SELECT 1 FROM accounts WHERE username = ?", (username,)) is not None

    def get(self, username: str) -> Account | None:
        row = self.store.one("SELECT * FROM accounts WHERE username = ?", (username,))
        if row is None:
            return None
        return Account(row["username"], Role(row["role"]), row["display_name"], row["city"],
                       row["region"])  # fmt: skip

    def sign_in(
        self, username: str, password: str, client: str | None = None
    ) -> tuple[str, Account]:
        """A new session token for good credentials; ``CaseForbidden`` otherwise.

        1. throttle: refuse (``SignInThrottled``, 429) while the account name or the client
           address is locked, before any password is checked; otherwise count the attempt
           as a failure until it succeeds (so concurrent guesses are counted too);
        2. verify: exactly one password verification, against a dummy hash for an unknown
           username, so unknown and known-but-wrong cost the same;
        3. on success, take the attempt back, rehash if the stored hash is scrypt or has old
           argon2 parameters, and open a session.
        """
        key = username[:64]  # no account name is longer; bounds what the throttle keeps
        # (1): throttle
        self.throttle.begin(key, client)
        # (2): verify
        row = self.store.one("SELECT password_hash FROM accounts WHERE username = ?", (username,))
        stored = row["password_hash"] if row else self._dummy_hash
        ok, rehash = _check(password, stored, self.hasher)
        if not ok or row is None:
            raise CaseForbidden("bad_credentials", "登录失败：用户名或密码错误")
        # (3): success
        self.throttle.succeeded(key, client)
        token = secrets.token_urlsafe(32)
        with self.store.transaction() as conn:
            if rehash:
                conn.execute(
                    "UPDATE accounts SET password_hash = ? WHERE username = ?",
                    (hash_password(password, hasher=self.hasher), username),
                )
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (self.clock(),))
            conn.execute(
                "INSERT INTO sessions(token_sm3, username, expires_at) VALUES (?, ?, ?)",
                (sm3(token.encode()).hex(), username, self.clock() + SESSION_SECONDS),
            )
        account = self.get(username)
        assert account is not None
        return token, account

    def session(self, token: str) -> Account | None:
        row = self.store.one(
            "SELECT username, expires_at FROM sessions WHERE token_sm3 = ?",
            (sm3(token.encode()).hex(),),
        )
        if row is None or row["expires_at"] < self.clock():
            return None
        return self.get(row["username"])

    def sign_out(self, token: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE token_sm3 = ?", (sm3(token.encode()).hex(),))

    # -- operator commands (``yrdgw accounts``, issue 14) ----------------------------------
    def all(self) -> list[Account]:
        """Every account, by role then username (``yrdgw accounts list``)."""
        rows = self.store.query("SELECT * FROM accounts ORDER BY role, username")
        return [Account(r["username"], Role(r["role"]), r["display_name"], r["city"],
                        r["region"]) for r in rows]  # fmt: skip

    def set_password(self, username: str, password: str) -> None:
        """Replace ``username``'s password and end its open sessions (a reset after a leak
        must not leave the old sessions working)."""
        if len(password) < 8:
            raise CaseInvalid("invalid", "密码至少 8 个字符", "password")
        with self.store.transaction() as conn:
            found = conn.execute(
                "UPDATE accounts SET password_hash = ? WHERE username = ?",
                (hash_password(password, hasher=self.hasher), username),
            ).rowcount
            if not found:
                raise CaseNotFound("not_found", f"没有账号 {username[:64]}", "username")
            conn.execute("DELETE FROM sessions WHERE username = ?", (username,))
