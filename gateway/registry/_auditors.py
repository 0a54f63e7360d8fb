"""``auditors`` of a registry document -> ``Auditor`` models (docs/registry.md, "Auditor").

Apart from ``_parse`` so that the member parser stays readable (it uses ``_parse``'s field
primitives; ``parse_document`` imports this module when it runs, which keeps the import
one-way). :func:`parse_auditors` runs after the members and is given the fingerprints they
hold, so one certificate never names both a member and an auditor.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gateway.registry._model import Auditor, normalize_fingerprint
from gateway.registry._parse import _join, _list, _object, _str, parse_time
from gateway.registry.errors import RegistryFormatError

__all__ = ["AUDITOR_ID_RE", "parse_auditors"]

AUDITOR_ID_RE = re.compile(r"auditor/[A-Za-z0-9._-]{1,64}")


def _auditor(value: Any, field: str) -> Auditor:
    obj = _object(
        value, field, {"id", "display_name", "tls_fingerprints", "not_before", "not_after"}
    )
    fingerprints = []
    where = _join(field, "tls_fingerprints")
    for i, item in enumerate(_list(obj["tls_fingerprints"], where)):
        try:
            fingerprints.append(normalize_fingerprint(item))
        except ValueError as exc:
            raise RegistryFormatError(f"{where}[{i}]", str(exc)) from None
    not_before = parse_time(obj["not_before"], _join(field, "not_before"))
    not_after = parse_time(obj["not_after"], _join(field, "not_after"))
    if not_after <= not_before:
        raise RegistryFormatError(_join(field, "not_after"), "must be later than not_before")
    return Auditor(
        id=_str(obj["id"], _join(field, "id"), pattern=AUDITOR_ID_RE),
        display_name=_str(obj["display_name"], _join(field, "display_name")),
        tls_fingerprints=tuple(fingerprints),
        not_before=not_before,
        not_after=not_after,
    )


def parse_auditors(
    value: Any, field: str, member_fingerprints: Mapping[str, object]
) -> tuple[Auditor, ...]:
    """The auditors listed at ``field`` (a possibly empty list).

    Each has a unique id ``auditor/<name>``, a display name, at least one TLS client
    certificate fingerprint and a validity period. A fingerprint belongs to one party only:
    one already bound to a member (``member_fingerprints``) or to another auditor is refused.
    Raises RegistryFormatError naming the first offending field.
    """
    auditors: list[Auditor] = []
    owner: dict[str, str] = {fp: str(who) for fp, who in member_fingerprints.items()}
    seen: set[str] = set()
    for i, item in enumerate(_list(value, field, non_empty=False)):
        where = f"{field}[{i}]"
        auditor = _auditor(item, where)
        if auditor.id in seen:
            raise RegistryFormatError(_join(where, "id"), f"duplicate auditor {auditor.id}")
        seen.add(auditor.id)
        for j, fp in enumerate(auditor.tls_fingerprints):
            if fp in owner and owner[fp] != auditor.id:
                raise RegistryFormatError(
                    f"{where}.tls_fingerprints[{j}]", f"fingerprint already bound to {owner[fp]}"
                )
            owner[fp] = auditor.id
        auditors.append(auditor)
    return tuple(auditors)
