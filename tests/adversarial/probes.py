"""What the adversarial tests read from a running gateway: the rows a refusal must not write,
and a plain (synchronous) mTLS channel for raw requests."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import grpc


def written_rows(gw: Any) -> tuple[int, int, int]:
    """(leaves, exchanges, nonces): the log's file and the gateway's, read from the files."""
    counts = [
        count_rows(gw.data_dir / name, table)
        for name, table in (
            ("log.db", "leaves"),
            ("gateway.db", "exchanges"),
            ("gateway.db", "nonces"),
        )
    ]
    return counts[0], counts[1], counts[2]


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
