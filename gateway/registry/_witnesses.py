"""``witnesses`` and ``witness_quorum`` of a registry document (docs/registry.md, "Witness").

Apart from ``_parse`` for the same reason as ``_auditors``: it uses ``_parse``'s field
primitives and ``parse_document`` imports it when it runs, which keeps the import one-way.
A witness is a member's ``yrd-witness`` (C2SP tlog-witness): the name its cosignature lines
carry, its SM2 public key, the URL prefix the gateway posts ``add-checkpoint`` to, and the
log origins it witnesses. The quorum is how many of the witnesses of the gateway's own log
a checkpoint needs before receipts on it say "witnessed" (0: no quorum is asked for).
"""

from __future__ import annotations

import re
from typing import Any

from gateway.registry._model import Witness
from gateway.registry._parse import _int, _join, _list, _object, _str
from gateway.registry.errors import RegistryFormatError
from ledger.crypto import PublicKey
from ledger.errors import KeyFormatError

__all__ = ["MAX_WITNESSES", "WITNESS_NAME_RE", "parse_witnesses"]

WITNESS_NAME_RE = re.compile(r"[A-Za-z0-9._:/-]{1,128}")
"""A cosignature key name: one word (C2SP: no spaces, no ``+``), 1-128 characters."""
MAX_WITNESSES = 64
_MAX_URL = 2048


def _url(value: Any, field: str) -> str:
    url = _str(value, field)
    if (
        len(url) > _MAX_URL
        or not url.startswith(("https://", "http://"))
        or any(c.isspace() for c in url)
    ):
        raise RegistryFormatError(
            field, f"expected an http(s) URL of at most {_MAX_URL} characters"
        )
    return url


def _witness(value: Any, field: str) -> Witness:
    obj = _object(value, field, {"name", "public_key", "url", "logs"})
    name = _str(obj["name"], _join(field, "name"), pattern=WITNESS_NAME_RE)
    text = _str(obj["public_key"], _join(field, "public_key"))
    try:
        public = PublicKey.from_pem(text)
    except KeyFormatError as exc:
        raise RegistryFormatError(_join(field, "public_key"), str(exc)) from exc
    where = _join(field, "logs")
    logs: list[str] = []
    for i, item in enumerate(_list(obj["logs"], where)):
        origin = _str(item, f"{where}[{i}]")
        if "\n" in origin or origin != origin.strip():
            raise RegistryFormatError(f"{where}[{i}]", "must be one line without padding")
        if origin in logs:
            raise RegistryFormatError(f"{where}[{i}]", f"duplicate origin {origin!r}")
        logs.append(origin)
    return Witness(name, public, _url(obj["url"], _join(field, "url")), tuple(logs))


def parse_witnesses(value: Any, quorum: Any, origin: str) -> tuple[tuple[Witness, ...], int]:
    """The witnesses (a possibly empty list) and the quorum of the log ``origin``.

    Names and keys are unique among witnesses (a key shared with another owner is caught by
    the document's key check); the quorum is an integer from 0 to the number of witnesses
    that list ``origin``. Raises RegistryFormatError naming the first offending field.
    """
    items = _list(value, "witnesses", non_empty=False)
    if len(items) > MAX_WITNESSES:
        raise RegistryFormatError(
            "witnesses", f"expected at most {MAX_WITNESSES} witnesses, got {len(items)}"
        )
    witnesses: list[Witness] = []
    names: dict[str, int] = {}
    for i, item in enumerate(items):
        witness = _witness(item, f"witnesses[{i}]")
        if witness.name in names:
            raise RegistryFormatError(
                f"witnesses[{i}].name",
                f"duplicate witness {witness.name} (also witnesses[{names[witness.name]}])",
            )
        names[witness.name] = i
        witnesses.append(witness)
    k = _int(quorum, "witness_quorum", 0)
    ours = sum(1 for w in witnesses if origin in w.logs)
    if k > ours:
        raise RegistryFormatError(
            "witness_quorum",
            f"expected at most the {ours} witnesses of log {origin!r}, got {k}",
        )
    return tuple(witnesses), k
