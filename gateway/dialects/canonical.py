"""Shanghai's dialect: the canonical model itself, as UTF-8 JSON (``yrd-canonical/1``).

Pass-through: ``to_canonical`` parses and validates, ``from_canonical`` validates and
writes compact JSON with sorted keys. Matter codes on the wire are canonical basic
codes; ``local_matter_code`` gives Shanghai's own codes from the matter catalogue.
``canonical_dialect()`` bundles the codec with a simulator serving Shanghai's samples.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from gateway.dialects.base import Codec
from gateway.dialects.bundle import Dialect
from gateway.dialects.errors import AdapterError
from gateway.dialects.schema import validate
from gateway.dialects.simulator import SampleSimulator
from gateway.matters.catalogue import Catalogue, default_catalogue
from gateway.matters.errors import MatterNotFound

__all__ = ["CanonicalCodec", "canonical_dialect"]

BODY = "<body>"


class CanonicalCodec(Codec):
    """The home side's codec (region ``SH``)."""

    region = "SH"
    dialect = "yrd-canonical/1"
    content_type = "application/json; charset=utf-8"

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self._catalogue = catalogue

    @property
    def catalogue(self) -> Catalogue:
        return self._catalogue or default_catalogue()

    def to_canonical(self, kind: str, payload: bytes) -> dict[str, Any]:
        try:
            data = json.loads(bytes(payload).decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise AdapterError(BODY, f"not valid utf-8: byte at {exc.start}") from exc
        except json.JSONDecodeError as exc:
            raise AdapterError(BODY, f"malformed json: {exc}") from exc
        if not isinstance(data, dict):
            raise AdapterError(BODY, f"expected a json object, got {type(data).__name__}")
        return validate(kind, data)

    def from_canonical(self, kind: str, canonical: Mapping[str, Any]) -> bytes:
        data = validate(kind, canonical)
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

    def local_matter_code(self, canonical_code: str) -> str:
        try:
            return self.catalogue.local_code(canonical_code, self.region)
        except MatterNotFound as exc:
            raise AdapterError("matter_code", exc.message) from exc

    def canonical_matter_code(self, local_code: str) -> str:
        try:
            return self.catalogue.resolve(local_code, self.region).basic_code
        except MatterNotFound as exc:
            raise AdapterError("matter_code", exc.message) from exc


def canonical_dialect(catalogue: Catalogue | None = None) -> Dialect:
    """Shanghai's dialect: the canonical codec, and a simulator with Shanghai's sample
    certificates; no identity format. Always in every ``DialectCatalogue``."""
    samples = resources.files("gateway.dialects.data").joinpath("sh_samples.json")
    certificates = json.loads(samples.read_text("utf-8"))["certificates"]
    return Dialect(
        codec=CanonicalCodec(catalogue),
        simulator_factory=SampleSimulator(tuple(certificates), catalogue),
    )
