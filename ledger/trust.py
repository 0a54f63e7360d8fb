"""Trusted log keys for offline verification (the ``--trust`` file of ``yrd-audit``).

Two forms are accepted:

- a JSON trust file (``format: yrd-trust/v1``) listing logs: ``origin``, ``key_name``
  (defaults to the origin), ``public_key`` (PEM) and optionally ``key_id`` to pin; and
  optionally ``witnesses``: ``name`` (the cosignature key name), ``public_key`` (PEM),
  optionally ``key_id`` (see docs/witness.md);
- a bare SM2 public key PEM, trusted for any origin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .cosignature import TrustedWitness
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
    def __init__(
        self, logs: list[TrustedLog], witnesses: list[TrustedWitness] | None = None
    ) -> None:
        if not logs:
            raise ReceiptError("trust file lists no log keys", ReceiptCheck.TRUST_FILE)
        self.logs = logs
        self.witnesses = list(witnesses or [])

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
        return cls(logs, _witnesses(document.get("witnesses") or []))

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


def _witnesses(items: Any) -> list[TrustedWitness]:
    if not isinstance(items, list):
        raise ReceiptError("trust file witnesses must be a list", ReceiptCheck.TRUST_FILE)
    witnesses = []
    for n, item in enumerate(items):
        try:
            name, pem = item["name"], item["public_key"]
            key = PublicKey.from_pem(pem)
        except (KeyError, TypeError) as exc:
            raise ReceiptError(
                f"trust file witnesses[{n}] needs name and public_key", ReceiptCheck.TRUST_FILE
            ) from exc
        except KeyFormatError as exc:
            raise ReceiptError(
                f"trust file witnesses[{n}].public_key: {exc}", ReceiptCheck.TRUST_FILE
            ) from exc
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            raise ReceiptError(
                f"trust file witnesses[{n}].name must be one word", ReceiptCheck.TRUST_FILE
            )
        pinned = item.get("key_id")
        if pinned and pinned != key.key_id:
            raise ReceiptError(
                f"trust file witnesses[{n}]: key_id does not match public_key",
                ReceiptCheck.TRUST_FILE,
            )
        witnesses.append(TrustedWitness(name, key))
    return witnesses


def trust_document(
    origin: str,
    public_key: PublicKey,
    key_name: str | None = None,
    witnesses: list[TrustedWitness] | None = None,
) -> dict[str, Any]:
    """A trust file naming one log key and its witnesses (what the gateway hands auditors)."""
    document: dict[str, Any] = {
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
    if witnesses:
        document["witnesses"] = [
            {
                "name": w.name,
                "key_id": w.public_key.key_id,
                "public_key": w.public_key.to_pem().decode(),
            }
            for w in witnesses
        ]
    return document
