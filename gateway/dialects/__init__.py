"""Dialects: partner wire formats mapped to and from the canonical (Shanghai) model.

A dialect is a ``Dialect`` bundle of small parts whose contracts are in ``base``: a
``Codec`` (canonical <-> wire), a ``TransportFactory``, a ``SimulatorFactory`` and an
optional identity format. Canonical payload schemas are in ``schema``; province plugins are
found through the ``DialectCatalogue`` (entry-point group ``yrd_gateway.adapters``) and
never imported by name from ``gateway``.
"""

from gateway.dialects.base import (
    KINDS,
    REQUEST_KINDS,
    RESPONSE_KIND,
    Codec,
    SimulatorFactory,
    Transport,
    TransportFactory,
)
from gateway.dialects.bundle import Dialect
from gateway.dialects.canonical import CanonicalCodec, canonical_dialect
from gateway.dialects.catalogue import (
    ENTRY_POINT_GROUP,
    DialectCatalogue,
    default_dialects,
    register_dialect,
)
from gateway.dialects.errors import AdapterError, CatalogueError, DeliveryError
from gateway.dialects.mapping import MappedCodec
from gateway.dialects.schema import ENUMS, SCHEMAS, validate
from gateway.dialects.simulator import SampleSimulator, build_simulator
from gateway.dialects.transport import Delivery, HttpTransport

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENUMS",
    "KINDS",
    "REQUEST_KINDS",
    "RESPONSE_KIND",
    "SCHEMAS",
    "AdapterError",
    "CanonicalCodec",
    "CatalogueError",
    "Codec",
    "Delivery",
    "DeliveryError",
    "Dialect",
    "DialectCatalogue",
    "HttpTransport",
    "MappedCodec",
    "SampleSimulator",
    "SimulatorFactory",
    "Transport",
    "TransportFactory",
    "build_simulator",
    "canonical_dialect",
    "default_dialects",
    "register_dialect",
    "validate",
]
