"""The dialect catalogue: where the gateway finds partner dialects, never by import.

Province plugins are published under the entry-point group ``yrd_gateway.adapters``; each
entry point names a factory returning a :class:`~gateway.dialects.bundle.Dialect` (or a
``Dialect`` itself). ``register_dialect`` adds one at run time (tests, configuration).
Shanghai's canonical dialect is always present; an installed Shanghai dialect whose codec
is the canonical codec (``adapters.shanghai``: the same dialect plus Shanghai's identity
format) takes the built-in one's place, once.

Not to be confused with the trust registry (``gateway.registry``: who may exchange what),
the matter catalogue (``gateway.matters``: GB/T 39554 matters) or the anchor registry (the
EVM contract): this one only answers "which dialect does region X speak".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from typing import Any

from gateway.dialects.bundle import Dialect
from gateway.dialects.canonical import CanonicalCodec, canonical_dialect
from gateway.dialects.errors import CatalogueError
from gateway.errors import clip

__all__ = [
    "ENTRY_POINT_GROUP",
    "DialectCatalogue",
    "default_dialects",
    "register_dialect",
]

ENTRY_POINT_GROUP = "yrd_gateway.adapters"


class DialectCatalogue:
    """Dialects by region (one per region) and by wire-format name.

    Lookups raise ``CatalogueError`` (from ``gateway.dialects.errors``) whose ``field`` is
    ``region``, ``dialect`` or ``entry_point:<name>``.
    """

    def __init__(self, dialects: Iterable[Dialect] = (), *, canonical: bool = True) -> None:
        self._by_region: dict[str, Dialect] = {}
        self._builtin: Dialect | None = None
        if canonical:
            self._builtin = self.register(canonical_dialect())
        for dialect in dialects:
            self.register(dialect)

    def register(self, dialect: Dialect, *, replace: bool = False) -> Dialect:
        """Add ``dialect``; a second dialect for a region needs ``replace=True``, except
        a canonical-codec dialect taking the built-in canonical one's place."""
        if not isinstance(dialect, Dialect):
            raise CatalogueError("dialect", f"expected a Dialect, got {type(dialect).__name__}")
        current = self._by_region.get(dialect.region)
        supersedes = current is self._builtin and isinstance(dialect.codec, CanonicalCodec)
        if current is not None and not replace and current is not dialect and not supersedes:
            raise CatalogueError(
                "region", f"{dialect.region} already has {current.name}, got {dialect.name}"
            )
        clash = self._by_name().get(dialect.name)
        if clash is not None and clash.region != dialect.region:
            raise CatalogueError("dialect", f"{dialect.name} already used by {clash.region}")
        self._by_region[dialect.region] = dialect
        return dialect

    def load_entry_points(
        self,
        group: str = ENTRY_POINT_GROUP,
        *,
        entry_points: Callable[..., Iterable[Any]] = metadata.entry_points,
        replace: bool = False,
    ) -> list[str]:
        """Load every entry point of ``group``; return their names. Bad ones raise."""
        loaded = []
        for ep in entry_points(group=group):
            try:
                target = ep.load()
                dialect = target if isinstance(target, Dialect) else target()
            except Exception as exc:
                raise CatalogueError(f"entry_point:{ep.name}", f"failed to load: {exc!r}") from exc
            self.register(dialect, replace=replace)
            loaded.append(ep.name)
        return loaded

    def get(self, region: str) -> Dialect:
        try:
            return self._by_region[region]
        except KeyError:
            raise CatalogueError("region", f"no dialect for region {clip(region)}") from None

    def by_dialect(self, name: str) -> Dialect:
        """The dialect whose wire format is ``name`` (e.g. ``js-json/1``)."""
        try:
            return self._by_name()[name]
        except KeyError:
            raise CatalogueError("dialect", f"no dialect named {clip(name)}") from None

    def regions(self) -> list[str]:
        return sorted(self._by_region)

    def __contains__(self, region: object) -> bool:
        return region in self._by_region

    def __iter__(self) -> Iterator[Dialect]:
        return iter([self._by_region[r] for r in self.regions()])

    def __len__(self) -> int:
        return len(self._by_region)

    def _by_name(self) -> dict[str, Dialect]:
        return {d.name: d for d in self._by_region.values()}


_default: DialectCatalogue | None = None


def default_dialects() -> DialectCatalogue:
    """The process-wide catalogue: canonical dialect plus installed entry points (loaded
    once)."""
    global _default
    if _default is None:
        _default = DialectCatalogue()
        _default.load_entry_points()
    return _default


def register_dialect(dialect: Dialect, *, replace: bool = False) -> Dialect:
    """Register ``dialect`` in the process-wide catalogue (for tests and configuration)."""
    return default_dialects().register(dialect, replace=replace)
