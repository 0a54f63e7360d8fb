"""The signed "verified up to" marker: how far a full check of the stored log got.

Verifying every entry on every start costs 20-25 s per million entries on a loaded
two-core machine (bench/log_verify.py), so a start of a large log verifies only what was
added since the last start: the marker names a size and root that were verified, signed
with the log key so nobody can move it forward past unverified entries. ``yrdgw ledger
verify`` checks everything, whatever the marker says.

The marker is one line in a file beside the log database:
``<size> <root hex> <signature hex>``, the SM2 signature (GB/T 32918.2) over
``yrd-verified-up-to\\n<origin>\\n<size>\\n<root hex>\\n`` with its own user ID, so it can
never be taken for a checkpoint signature.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..crypto import PrivateKey, PublicKey
from ..errors import Error

__all__ = ["VerifiedMarker", "read_marker", "write_marker"]

MARKER_USER_ID = b"yrd-verified-up-to"


@dataclass(frozen=True, slots=True)
class VerifiedMarker:
    size: int
    root: bytes


def _body(origin: str, size: int, root: bytes) -> bytes:
    return f"yrd-verified-up-to\n{origin}\n{size}\n{root.hex()}\n".encode()


def read_marker(path: Path | None, public_key: PublicKey, origin: str) -> VerifiedMarker | None:
    """The marker at ``path`` if present and validly signed; None otherwise (verify all)."""
    if path is None:
        return None
    try:
        size_text, root_hex, sig_hex = path.read_text(encoding="ascii").split()
        size, root, signature = int(size_text), bytes.fromhex(root_hex), bytes.fromhex(sig_hex)
        public_key.verify(_body(origin, size, root), signature, MARKER_USER_ID)
    except (OSError, ValueError, UnicodeError, Error):
        return None
    if size < 0 or len(root) != 32:
        return None
    return VerifiedMarker(size, root)


def write_marker(path: Path | None, key: PrivateKey, origin: str, size: int, root: bytes) -> None:
    """Replace the marker atomically (temporary file, fsync, rename)."""
    if path is None:
        return
    line = f"{size} {root.hex()} {key.sign(_body(origin, size, root), MARKER_USER_ID).hex()}\n"
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", encoding="ascii") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError:
        return  # the marker only saves time: without it the next start verifies everything
