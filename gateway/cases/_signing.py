"""Signed envelopes for case exchanges: which member signs, and the shared envelope builder
(``gateway.exchange.envelopes``: serialise once, sign those exact bytes with SM2)."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.exchange.envelopes import signed_envelope
from ledger.crypto import PrivateKey

__all__ = ["member_for_key", "signed_envelope"]


def member_for_key(members: Mapping | tuple, region: str, key: PrivateKey) -> str | None:
    """The registered member of ``region`` that holds ``key`` (by key id), as text."""
    for member in members:
        if str(member.id.region) == region and member.key(key.public_key.key_id) is not None:
            return str(member.id)
    return None
