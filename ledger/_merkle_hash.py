"""RFC 9162 tree hashing (section 2.1.1), with SM3 (GB/T 32905-2016) by default.

Internal module: import the public names from :mod:`ledger.merkle`.

The hash is injected, as in transparency-dev/merkle's ``LogHasher``: every builder and
verifier takes a ``hasher`` with three operations (``leaf``, ``node``, ``empty``) and a
``digest_size``. :data:`SM3_HASHER` is the default everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ledger.crypto import DIGEST_SIZE, sm3

__all__ = ["LEAF_PREFIX", "NODE_PREFIX", "SM3_HASHER", "LogHasher", "RFC9162Hasher"]

#: Domain-separation prefix of a leaf hash, ``HASH(0x00 || d)`` (RFC 9162 section 2.1.1).
LEAF_PREFIX = b"\x00"
#: Domain-separation prefix of an interior node hash, ``HASH(0x01 || l || r)``.
NODE_PREFIX = b"\x01"


@runtime_checkable
class LogHasher(Protocol):
    """What the Merkle builders and verifiers need from a hash.

    Contract: ``leaf(d)`` is the hash of leaf data ``d``; ``node(l, r)`` the hash of an
    interior node from its children's hashes; ``empty()`` the root of the empty tree. Every
    result is exactly ``digest_size`` bytes. Implementations must be stateless (safe to share
    between threads).
    """

    digest_size: int

    def leaf(self, data: bytes) -> bytes: ...

    def node(self, left: bytes, right: bytes) -> bytes: ...

    def empty(self) -> bytes: ...


class RFC9162Hasher:
    """The RFC 9162 hashing rules over any hash function.

    ``leaf(d) = H(0x00 || d)``, ``node(l, r) = H(0x01 || l || r)``, ``empty() = H("")``.
    """

    __slots__ = ("_empty", "_hash", "digest_size", "name")

    def __init__(self, hash_function: Callable[[bytes], bytes], digest_size: int, name: str):
        self._hash = hash_function
        self.digest_size = digest_size
        self.name = name
        self._empty = hash_function(b"")
        if len(self._empty) != digest_size:
            raise ValueError(
                f"hash function gives {len(self._empty)}-byte digests, not {digest_size}"
            )

    def leaf(self, data: bytes) -> bytes:
        return self._hash(LEAF_PREFIX + bytes(data))

    def node(self, left: bytes, right: bytes) -> bytes:
        return self._hash(NODE_PREFIX + bytes(left) + bytes(right))

    def empty(self) -> bytes:
        return self._empty

    def __repr__(self) -> str:
        return f"RFC9162Hasher({self.name})"


#: RFC 9162 with SM3: the tree hash of the YRD Gateway log.
SM3_HASHER = RFC9162Hasher(sm3, DIGEST_SIZE, "sm3")
