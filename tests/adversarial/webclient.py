"""Helpers for the HTTP-surface adversarial tests: accounts made before start, JSON calls,
streamed uploads and the server's memory figures from /proc."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from gateway.cases.accounts import Accounts, Role
from gateway.cases.store import CaseStore

PASSWORD = "correct horse battery"


def make_accounts(data_dir: Path) -> None:
    """A clerk (Suzhou) and an auditor in ``data_dir/cases.db``, before the gateway starts."""
    store = CaseStore(data_dir / "cases.db")
    accounts = Accounts(store)
    accounts.create("suzhou", PASSWORD, role=Role.CLERK, city="suzhou", display_name="clerk")
    accounts.create("auditor", PASSWORD, role=Role.AUDITOR, display_name="auditor")
    store.close()


def sign_in(base: str, username: str = "suzhou", password: str = PASSWORD) -> httpx.Response:
    return httpx.post(
        f"{base}/api/auth/sign-in", json={"username": username, "password": password}, timeout=30
    )


def token(base: str, username: str = "suzhou") -> str:
    response = sign_in(base, username)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def deep_json(depth: int, key: str = "username") -> bytes:
    doc = {key: "@", "password": "x"}
    return json.dumps(doc).replace('"@"', "[" * depth + "]" * depth).encode()


def zeros(total: int, chunk: int = 1 << 16) -> Iterator[bytes]:
    """``total`` zero bytes in ``chunk``-sized pieces, made as they are sent."""
    piece = bytes(chunk)
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        yield piece[:n]
        sent += n


def memory(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of ``pid`` in KiB."""
    out: dict[str, Any] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out
