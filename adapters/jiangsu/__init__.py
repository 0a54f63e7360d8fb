"""Jiangsu dialect plugin: its parts, each defined by data in this package.

- codec: ``mapping.json`` (field names, codes, units, formats, endpoints), read by
  ``gateway.dialects.MappedCodec``;
- simulator: the generic sample simulator with the sample store ``samples.json``;
- transport: the default HTTP push client;
- identity: the province identity platform's assertion format, ``identity.py`` with its
  mapping data ``identity.json``.

Published under the entry-point group ``yrd_gateway.adapters`` as
``adapters.jiangsu:create_adapter``.
"""

from __future__ import annotations

from pathlib import Path

from adapters.jiangsu.identity import create_format
from gateway.dialects import Dialect, MappedCodec, SampleSimulator

__all__ = ["create_adapter"]

_HERE = Path(__file__).parent


def create_adapter() -> Dialect:
    """The Jiangsu dialect: mapping-file codec, sample simulator, identity format."""
    return Dialect(
        codec=MappedCodec.from_file(_HERE / "mapping.json"),
        simulator_factory=SampleSimulator.from_file(_HERE / "samples.json"),
        identity=create_format(),
    )
