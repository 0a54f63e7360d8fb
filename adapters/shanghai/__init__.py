"""Shanghai's dialect plugin: the canonical dialect with Shanghai's identity format.

Shanghai is the home side: its exchange dialect is the canonical model itself
(``gateway.dialects.canonical``, always in the catalogue). What this package adds is the
identity part: the unified identity platform's ID token, ``identity.py`` with its mapping
data ``identity.json``, and so the identity provider of Shanghai's simulator.

Published under the entry-point group ``yrd_gateway.adapters`` as
``adapters.shanghai:create_adapter``; the catalogue lets it take the place of the built-in
canonical dialect because its codec is the canonical codec.
"""

from __future__ import annotations

from dataclasses import replace

from adapters.shanghai.identity import create_format
from gateway.dialects import Dialect, canonical_dialect

__all__ = ["create_adapter"]


def create_adapter() -> Dialect:
    """The canonical dialect (codec, simulator of Shanghai's samples) with Shanghai's
    identity format."""
    return replace(canonical_dialect(), identity=create_format())
