"""The signer's durable history: every (size, root) it released, in a file of its own.

The log's tables can be rolled back consistently (its last batch's leaves, subtree hashes and
checkpoint rows removed together) and still verify against themselves. The signer must still
never sign a different root for a size it already released, nor any smaller size. So it
keeps what it released outside those tables: an append-only file beside the log database,
one fixed-size record per checkpoint, fsync'd before the checkpoint is handed to anyone.

Record: ``size`` (8 bytes, big-endian) || ``root`` (32 bytes) || the first 4 bytes of
``SM3(size || root)``, a check against torn or bit-flipped records. Sizes strictly increase.
Only the last record is kept in memory.

A torn last record (a crash in the middle of an append) is cut off: the checkpoint it
describes was committed to the log but not yet released, and the log catches up on open.
Any other damage is an :class:`IntegrityError`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

from ..crypto import sm3
from ..errors import IntegrityCode, IntegrityError, StorageError

__all__ = ["SignedHistory"]

_RECORD = struct.Struct(">Q32s4s")


def _check(size: int, root: bytes) -> bytes:
    return sm3(struct.pack(">Q", size) + root)[:4]


class SignedHistory:
    """Append-only record of released checkpoints at ``path`` (None: kept in memory only)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.last: tuple[int, bytes] | None = None
        self.count = 0
        if path is not None and path.exists():
            for record in self.records(repair=True):
                self.last = record
                self.count += 1

    def records(self, repair: bool = False) -> Iterator[tuple[int, bytes]]:
        """Every ``(size, root)`` in order; ``repair`` cuts a torn last record off the file."""
        if self.path is None or not self.path.exists():
            return
        try:
            file_size = self.path.stat().st_size
            with self.path.open("rb") as handle:
                previous = -1
                offset = 0
                while True:
                    raw = handle.read(_RECORD.size)
                    if not raw:
                        return
                    last_one = offset + _RECORD.size >= file_size
                    if len(raw) < _RECORD.size or _RECORD.unpack(raw)[2] != _check(
                        *_RECORD.unpack(raw)[:2]
                    ):
                        if last_one and repair:
                            self._truncate(offset)
                            return
                        raise IntegrityError(
                            IntegrityCode.SIGNER_HISTORY,
                            f"signer history {self.path.name} is damaged at record "
                            f"{offset // _RECORD.size}",
                            size=None,
                        )
                    size, root, _ = _RECORD.unpack(raw)
                    if size <= previous:
                        raise IntegrityError(
                            IntegrityCode.SIGNER_HISTORY,
                            f"signer history {self.path.name} goes backwards at record "
                            f"{offset // _RECORD.size}: size {size} after {previous}",
                            size=size,
                        )
                    previous = size
                    offset += _RECORD.size
                    yield size, root
        except OSError as exc:
            raise StorageError(f"cannot read signer history {self.path}: {exc}") from exc

    def _truncate(self, length: int) -> None:
        assert self.path is not None
        with self.path.open("r+b") as handle:
            handle.truncate(length)
            os.fsync(handle.fileno())

    def append(self, size: int, root: bytes) -> None:
        """Record a released checkpoint durably (fsync'd) before it is handed out."""
        if self.last is not None and size <= self.last[0]:
            if (size, root) == self.last:
                return
            raise IntegrityError(
                IntegrityCode.SIGNER_HISTORY,
                f"refusing to record size {size}: signer history already ends at {self.last[0]}",
                size=size,
            )
        if self.path is not None:
            try:
                created = not self.path.exists()
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, _RECORD.pack(size, root, _check(size, root)))
                    os.fsync(fd)
                finally:
                    os.close(fd)
                if created:  # the new name must survive a crash too
                    directory = os.open(self.path.parent, os.O_RDONLY)
                    try:
                        os.fsync(directory)
                    finally:
                        os.close(directory)
            except OSError as exc:
                raise StorageError(f"cannot write signer history {self.path}: {exc}") from exc
        self.last = (size, bytes(root))
        self.count += 1
