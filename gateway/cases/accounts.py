"""Accounts (window clerks bound to a G60 city, province handlers, auditors) and sessions.

Passwords are hashed with scrypt (RFC 7914; ``hashlib.scrypt``, n=2^14, r=8, p=1, 16-byte
random salt) and stored as ``scrypt$n$r$p$salt$hash`` (base64). Session tokens are 32 random
bytes (URL-safe base64); only their SM3 digest is stored, and they expire.
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

from ledger.crypto import sm3

from .errors import CaseForbidden, CaseInvalid
from .model import CITIES
from .store import CaseStore

__all__ = ["Account", "Accounts", "Role", "hash_password", "verify_password"]

SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1
SESSION_SECONDS = 8 * 3600
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")


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


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=32,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


class Accounts:
    def __init__(self, store: CaseStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

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
        if not _USERNAME.match(username):
            raise CaseInvalid("invalid", f"username {username!r}: 3-64 of [a-z0-9_.-]", "username")
        if len(password) < 8:
            raise CaseInvalid("invalid", "password must be at least 8 characters", "password")
        if role is Role.CLERK:
            if city not in CITIES:
                raise CaseInvalid("invalid", f"clerk city must be a G60 city, got {city!r}", "city")
            region = CITIES[city].region
        elif role is Role.HANDLER and region not in ("SH", "JS", "ZJ", "AH"):
            raise CaseInvalid("invalid", f"handler region must be SH/JS/ZJ/AH, got {region!r}")
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        with self.store.transaction() as conn:
            if (
                not replace
                and conn.execute(
                    "SELECT 1 FROM accounts WHERE username = ?", (username,)
                ).fetchone()
            ):
                raise CaseInvalid("exists", f"account {username} already exists", "username")
            conn.execute(
                f"{verb} INTO accounts(username, role, city, region, display_name,"
                " password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (username, role.value, city, region, display_name, hash_password(password),
                 self.clock()),
            )  # fmt: skip
        return Account(username, role, display_name, city, region)

    def exists(self, username: str) -> bool:
        return self.store.one("SELECT 1 FROM accounts WHERE username = ?", (username,)) is not None

    def get(self, username: str) -> Account | None:
        row = self.store.one("SELECT * FROM accounts WHERE username = ?", (username,))
        if row is None:
            return None
        return Account(row["username"], Role(row["role"]), row["display_name"], row["city"],
                       row["region"])  # fmt: skip

    def sign_in(self, username: str, password: str) -> tuple[str, Account]:
        """A new session token for good credentials; ``CaseForbidden`` otherwise."""
        row = self.store.one("SELECT password_hash FROM accounts WHERE username = ?", (username,))
        # hash even for unknown users, so timing does not tell which usernames exist
        stored = row["password_hash"] if row else hash_password("", salt=b"\0" * 16)
        if not verify_password(password, stored) or row is None:
            raise CaseForbidden("bad_credentials", "sign-in: wrong username or password")
        token = secrets.token_urlsafe(32)
        with self.store.transaction() as conn:
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
