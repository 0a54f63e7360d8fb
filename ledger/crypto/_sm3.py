"""SM3 hashing (GB/T 32905-2016) on the fast path of ``cryptography``."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

DIGEST_SIZE = 32


class SM3Hasher:
    """Streaming SM3: ``update`` any number of times, then ``digest`` once.

    Single use, like the contexts of ``cryptography``: a second ``digest`` raises.
    """

    __slots__ = ("_ctx",)

    def __init__(self, data: bytes = b"") -> None:
        self._ctx: hashes.Hash | None = hashes.Hash(hashes.SM3())
        if data:
            self._ctx.update(data)

    def update(self, data: bytes) -> SM3Hasher:
        if self._ctx is None:
            raise ValueError("sm3 context already finalised")
        self._ctx.update(data)
        return self

    def copy(self) -> SM3Hasher:
        if self._ctx is None:
            raise ValueError("sm3 context already finalised")
        clone = SM3Hasher()
        clone._ctx = self._ctx.copy()
        return clone

    def digest(self) -> bytes:
        if self._ctx is None:
            raise ValueError("sm3 context already finalised")
        ctx, self._ctx = self._ctx, None
        return ctx.finalize()

    def hexdigest(self) -> str:
        return self.digest().hex()


def sm3(data: bytes) -> bytes:
    """Return the 32-byte SM3 digest of ``data``."""
    ctx = hashes.Hash(hashes.SM3())
    ctx.update(data)
    return ctx.finalize()


def sm3_file(path: str, chunk_size: int = 1 << 20) -> bytes:
    """SM3 of a file's contents, read in chunks so memory stays flat."""
    ctx = hashes.Hash(hashes.SM3())
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            ctx.update(chunk)
    return ctx.finalize()
