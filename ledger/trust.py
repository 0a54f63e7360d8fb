"""Trusted log keys for offline verification (the ``--trust`` file of ``yrd-audit``).

Two forms are accepted:

- a JSON trust file (``format: yrd-trust/v1``) listing logs: ``origin``, ``key_name``
  (defaults to the origin), ``public_key`` (PEM) and optionally ``key_id`` to pin;
- a bare SM2 public key PEM, trusted for any origin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .crypto import PublicKey
from .errors import KeyFormatError, ReceiptCheck, ReceiptError

__all__ = ["TRUST_FORMAT", "TrustStore", "TrustedLog", "trust_document"]

TRUST_FORMAT = "yrd-trust/v1"


@dataclass(frozen=True, slots=True)
class TrustedLog:
    origin: str | None  # None: any origin (bare PEM)
    key_name: str | None
    public_key: PublicKey


class TrustStore:
    def __init__(self, logs: list[TrustedLog]) -> None:
        if not logs:
            raise ReceiptError("trust file lists no log keys", ReceiptCheck.TRUST_FILE)
        self.logs = logs

    @classmethod
    def load(cls, data: bytes) -> TrustStore:
        """Parse a trust file; raises ReceiptError naming what is wrong with it."""
        text = data.decode("utf-8", errors="replace").strip()
        if text.startswith("-----BEGIN"):
            try:
                return cls([TrustedLog(None, None, PublicKey.from_pem(data))])
            except KeyFormatError as exc:
                raise ReceiptError(
                    f"trust key is malformed: {exc}", ReceiptCheck.TRUST_FILE
                ) from exc
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ReceiptError(
                f"trust file is neither PEM nor JSON: {exc.msg}", ReceiptCheck.TRUST_FILE
            ) from exc
        if not isinstance(document, dict) or document.get("format") != TRUST_FORMAT:
            raise ReceiptError(
                f"trust file format must be {TRUST_FORMAT!r}", ReceiptCheck.TRUST_FILE
            )
        logs = []
        for n, item in enumerate(document.get("logs") or []):
            try:
                key = PublicKey.from_pem(item["public_key"])
                origin = item["origin"]
            except (KeyError, TypeError) as exc:
                raise ReceiptError(
                    f"trust file logs[{n}] needs origin and public_key", ReceiptCheck.TRUST_FILE
                ) from exc
            except KeyFormatError as exc:
                raise ReceiptError(
                    f"trust file logs[{n}].public_key: {exc}", ReceiptCheck.TRUST_FILE
                ) from exc
            pinned = item.get("key_id")
            if pinned and pinned != key.key_id:
                raise ReceiptError(
                    f"trust file logs[{n}]: key_id does not match public_key",
                    ReceiptCheck.TRUST_FILE,
                )
            logs.append(TrustedLog(origin, item.get("key_name") or origin, key))
        return cls(logs)

    def key_for(self, origin: str, key_id: str | None = None) -> TrustedLog:
        """The trusted key for ``origin`` (and ``key_id`` when given)."""
        for entry in self.logs:
            if entry.origin not in (None, origin):
                continue
            if key_id and entry.public_key.key_id != key_id:
                continue
            return entry
        suffix = f" with key id {key_id[:16]}..." if key_id else ""
        raise ReceiptError(
            f"trusted log key: no trusted key for origin {origin!r}{suffix}",
            ReceiptCheck.TRUSTED_KEY,
        )


def trust_document(
    origin: str, public_key: PublicKey, key_name: str | None = None
) -> dict[str, Any]:
    """A trust file naming one log key (what the gateway hands to auditors)."""
    return {
        "format": TRUST_FORMAT,
        "logs": [
            {
                "origin": origin,
                "key_name": key_name or origin,
                "key_id": public_key.key_id,
                "public_key": public_key.to_pem().decode(),
            }
        ],
    }
