"""What the adversarial tests read from a running gateway: the rows a refusal must not write,
and a plain (synchronous) mTLS channel for raw requests."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import grpc

from gateway.storage.sql import connect


def written_rows(gw: Any) -> tuple[int, int, int]:
    """(leaves, exchanges, nonces) as stored, read from the databases themselves."""
    return log_rows(gw), gateway_rows(gw, "exchanges"), gateway_rows(gw, "nonces")


def gateway_rows(gw: Any, table: str) -> int:
    """Rows of the gateway's ``table``: in gateway.db, or the shared PostgreSQL database."""
    return int(query(gw, f"SELECT COUNT(*) FROM {table}")[0][0])


def log_rows(gw: Any) -> int:
    """Entries of the log as stored: log.db's leaves, or the origin's rows on PostgreSQL."""
    if gw.settings.database:
        origin = gw.gateway.log.origin
        return int(query(gw, "SELECT COUNT(*) FROM ledger_leaves WHERE origin = ?", origin)[0][0])
    return count_rows(gw.data_dir / "log.db", "leaves")


def query(gw: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """``sql`` on the gateway's database (gateway.db or the shared PostgreSQL one)."""
    conn = connect(gw.settings.database or gw.data_dir / "gateway.db")
    try:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def stored_blobs(gw: Any) -> list[tuple[str, bytes]]:
    """Everything the gateway stored, as (name, bytes): every file of its data directory
    and, on a shared PostgreSQL database, every table's rows (text and bytea alike)."""
    blobs = [(str(p), p.read_bytes()) for p in gw.data_dir.rglob("*") if p.is_file()]
    if gw.settings.database:
        conn = connect(gw.settings.database)
        try:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                ).fetchall()
            ]
            for table in tables:
                parts: list[bytes] = []
                for row in conn.execute(f'SELECT * FROM "{table}"').fetchall():
                    for value in row:
                        # text and bytes carry data; numbers (sizes, indexes, times) cannot
                        # carry a name or an ID number, and as digits they would look like one
                        if isinstance(value, bytes | bytearray | memoryview):
                            parts.append(bytes(value))
                        elif isinstance(value, str):
                            parts.append(value.encode())
                blobs.append((f"postgresql table {table}", b"\n".join(parts)))
        finally:
            conn.close()
    return blobs


def count_rows(path: Any, table: str) -> int:
    """Rows of ``table`` in the SQLite file ``path``."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def member_channel(gw: Any, region: str) -> Iterator[grpc.Channel]:
    """A synchronous channel with ``region``'s client certificate (for raw-bytes calls)."""
    cert = gw.env.clients[region]
    credentials = grpc.ssl_channel_credentials(
        root_certificates=gw.env.ca.cert_pem,
        private_key=cert.key_pem,
        certificate_chain=cert.cert_pem,
    )
    with grpc.secure_channel(gw.target, credentials) as channel:
        yield channel
