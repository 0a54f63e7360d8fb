"""Zhejiang adapter: the Zhejiang dialect, defined by ``mapping.json``.

The simulator's sample store is ``samples.json``. Published under the entry-point group
``yrd_gateway.adapters`` as ``adapters.zhejiang:create_adapter``. The identity-assertion format
is ``identity.py`` (mapping data ``identity.json``), attached as ``adapter.identity``.
"""

from __future__ import annotations

from pathlib import Path

from adapters.zhejiang.identity import create_format
from gateway.dialects import MappedAdapter
from gateway.identity.province import with_identity

__all__ = ["create_adapter"]

_HERE = Path(__file__).parent


def create_adapter() -> MappedAdapter:
    """A Zhejiang adapter from its mapping file, with its sample certificate store."""
    adapter = MappedAdapter.from_file(_HERE / "mapping.json", samples=_HERE / "samples.json")
    return with_identity(adapter, create_format())
