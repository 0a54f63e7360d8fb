"""Where the gateway finds adapters: entry points, explicit registration, never imports.

Adapters are published under the entry-point group ``yrd_gateway.adapters``; each entry
point names a factory (a callable returning an ``Adapter``), an ``Adapter`` subclass, or
an instance. ``register_adapter`` adds one at run time (tests, configuration). The
canonical Shanghai adapter is always present.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from typing import Any

from gateway.dialects.base import Adapter
from gateway.dialects.canonical import CanonicalAdapter
from gateway.dialects.errors import RegistryError
from gateway.errors import clip

__all__ = [
    "ENTRY_POINT_GROUP",
    "AdapterRegistry",
    "default_registry",
    "register_adapter",
]

ENTRY_POINT_GROUP = "yrd_gateway.adapters"


class AdapterRegistry:
    """Adapters by region (one per region) and by dialect name."""

    def __init__(self, adapters: Iterable[Adapter] = (), *, canonical: bool = True) -> None:
        self._by_region: dict[str, Adapter] = {}
        if canonical:
            self.register(CanonicalAdapter())
        for adapter in adapters:
            self.register(adapter)

    def register(self, adapter: Adapter, *, replace: bool = False) -> Adapter:
        """Add ``adapter``; a second adapter for a region needs ``replace=True``."""
        if not isinstance(adapter, Adapter):
            raise RegistryError("adapter", f"expected an Adapter, got {type(adapter).__name__}")
        current = self._by_region.get(adapter.region)
        if current is not None and not replace and current is not adapter:
            raise RegistryError(
                "region", f"{adapter.region} already has {current.dialect}, got {adapter.dialect}"
            )
        clash = self._by_dialect().get(adapter.dialect)
        if clash is not None and clash.region != adapter.region:
            raise RegistryError("dialect", f"{adapter.dialect} already used by {clash.region}")
        self._by_region[adapter.region] = adapter
        return adapter

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
                adapter = target() if isinstance(target, type) or callable(target) else target
            except Exception as exc:
                raise RegistryError(f"entry_point:{ep.name}", f"failed to load: {exc!r}") from exc
            self.register(adapter, replace=replace)
            loaded.append(ep.name)
        return loaded

    def get(self, region: str) -> Adapter:
        try:
            return self._by_region[region]
        except KeyError:
            raise RegistryError("region", f"no adapter for region {clip(region)}") from None

    def by_dialect(self, dialect: str) -> Adapter:
        try:
            return self._by_dialect()[dialect]
        except KeyError:
            raise RegistryError("dialect", f"no adapter for dialect {clip(dialect)}") from None

    def regions(self) -> list[str]:
        return sorted(self._by_region)

    def __contains__(self, region: object) -> bool:
        return region in self._by_region

    def __iter__(self) -> Iterator[Adapter]:
        return iter([self._by_region[r] for r in self.regions()])

    def __len__(self) -> int:
        return len(self._by_region)

    def _by_dialect(self) -> dict[str, Adapter]:
        return {a.dialect: a for a in self._by_region.values()}


_default: AdapterRegistry | None = None


def default_registry() -> AdapterRegistry:
    """The process-wide registry: canonical adapter plus installed entry points (loaded once)."""
    global _default
    if _default is None:
        _default = AdapterRegistry()
        _default.load_entry_points()
    return _default


def register_adapter(adapter: Adapter, *, replace: bool = False) -> Adapter:
    """Register ``adapter`` in the process-wide registry (for tests and configuration)."""
    return default_registry().register(adapter, replace=replace)
