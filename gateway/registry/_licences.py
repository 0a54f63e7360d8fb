"""The registry's ``licence_issuers`` section: who may issue which e-licence (电子证照).

Per region, the authorities that issue licences (name, SM2 keys with validity, the licence
types each may issue) and the ids of licences the region has revoked, so that a licence can
be checked offline with nothing but the signed registry (docs/registry.md, docs/licences.md).
The section is optional and additive: a registry without it lists no licence issuer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gateway.registry._model import KeyEntry, Region
from gateway.registry.errors import RegistryFormatError

__all__ = [
    "LICENCE_ID_RE",
    "LICENCE_TYPE_RE",
    "LicenceAuthority",
    "LicenceIssuers",
    "LicenceRegion",
    "licence_keys",
    "parse_licence_issuers",
]

LICENCE_TYPE_RE = re.compile(r"[a-z][a-z0-9_]{1,63}")
LICENCE_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_REVOKED = 100_000


@dataclass(frozen=True)
class LicenceAuthority:
    """An issuing authority (e.g. 苏州市市场监督管理局): its keys and the types it issues."""

    region: Region
    name: str
    keys: tuple[KeyEntry, ...]
    licence_types: frozenset[str]


@dataclass(frozen=True)
class LicenceRegion:
    """One region's licence issuers and the ids of the licences it revoked."""

    region: Region
    authorities: tuple[LicenceAuthority, ...]
    revoked: frozenset[str]


class LicenceIssuers:
    """Lookups over the section: a licence key's authority, and revocation by region."""

    def __init__(self, regions: Iterable[LicenceRegion]) -> None:
        self.regions = tuple(regions)
        self._keys = {k.key_id: (a, k) for r in self.regions for a in r.authorities for k in a.keys}
        self._revoked = {r.region: r.revoked for r in self.regions}

    def key(self, key_id: str) -> tuple[LicenceAuthority, KeyEntry] | None:
        """The authority holding licence key ``key_id`` and the key's entry, or None."""
        return self._keys.get(key_id)

    def is_revoked(self, region: Region | str, licence_id: str) -> bool:
        """True if ``region`` lists ``licence_id`` as revoked."""
        try:
            return licence_id in self._revoked.get(Region(region), frozenset())
        except ValueError:
            return False

    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)


def licence_keys(regions: tuple[LicenceRegion, ...], field: str) -> Iterator[tuple[str, str, str]]:
    """(field path, key id, authority name) of every licence key, for the registry-wide
    uniqueness check of key ids."""
    for i, region in enumerate(regions):
        for j, authority in enumerate(region.authorities):
            for n, key in enumerate(authority.keys):
                yield f"{field}[{i}].authorities[{j}].keys[{n}]", key.key_id, authority.name


def parse_licence_issuers(value: Any, field: str) -> tuple[LicenceRegion, ...]:
    """Validate ``licence_issuers``: a list of regions, each listed once."""
    from gateway.registry._parse import _key, _list, _object, _str  # its primitives

    regions: list[LicenceRegion] = []
    seen: set[Region] = set()
    for i, item in enumerate(_list(value, field, non_empty=False)):
        where = f"{field}[{i}]"
        obj = _object(item, where, {"region", "authorities"}, {"revoked"})
        if obj["region"] not in Region.__members__:
            raise RegistryFormatError(
                f"{where}.region", f"expected one of SH, JS, ZJ, AH, got {obj['region']!r}"
            )
        region = Region(obj["region"])
        if region in seen:
            raise RegistryFormatError(f"{where}.region", f"region {region} listed twice")
        seen.add(region)
        authorities = []
        for j, raw in enumerate(_list(obj["authorities"], f"{where}.authorities")):
            at = f"{where}.authorities[{j}]"
            auth = _object(raw, at, {"name", "keys", "licence_types"})
            keys = _list(auth["keys"], f"{at}.keys")
            types = _list(auth["licence_types"], f"{at}.licence_types")
            authorities.append(
                LicenceAuthority(
                    region=region,
                    name=_str(auth["name"], f"{at}.name"),
                    keys=tuple(_key(k, f"{at}.keys[{n}]") for n, k in enumerate(keys)),
                    licence_types=frozenset(
                        _str(t, f"{at}.licence_types[{n}]", pattern=LICENCE_TYPE_RE)
                        for n, t in enumerate(types)
                    ),
                )
            )
        revoked = _list(obj.get("revoked", []), f"{where}.revoked", non_empty=False)
        if len(revoked) > MAX_REVOKED:
            raise RegistryFormatError(f"{where}.revoked", f"more than {MAX_REVOKED} ids")
        regions.append(
            LicenceRegion(
                region=region,
                authorities=tuple(authorities),
                revoked=frozenset(
                    _str(r, f"{where}.revoked[{n}]", pattern=LICENCE_ID_RE)
                    for n, r in enumerate(revoked)
                ),
            )
        )
    return tuple(regions)
