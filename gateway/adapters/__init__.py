"""Adapters: partner dialects mapped to and from the canonical (Shanghai) model.

The contract is ``Adapter`` (its docstring is the whole of it); canonical payload schemas
are in ``schema``; province packages are found through ``AdapterRegistry`` (entry-point
group ``yrd_gateway.adapters``) and never imported by name from ``gateway``.
"""

from gateway.adapters.base import KINDS, REQUEST_KINDS, RESPONSE_KIND, Adapter
from gateway.adapters.canonical import CanonicalAdapter
from gateway.adapters.errors import AdapterError, DeliveryError, RegistryError
from gateway.adapters.mapping import MappedAdapter
from gateway.adapters.registry import (
    ENTRY_POINT_GROUP,
    AdapterRegistry,
    default_registry,
    register_adapter,
)
from gateway.adapters.schema import ENUMS, SCHEMAS, validate
from gateway.adapters.simulator import build_simulator
from gateway.adapters.transport import Delivery, HttpTransport

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENUMS",
    "KINDS",
    "REQUEST_KINDS",
    "RESPONSE_KIND",
    "SCHEMAS",
    "Adapter",
    "AdapterError",
    "AdapterRegistry",
    "CanonicalAdapter",
    "Delivery",
    "DeliveryError",
    "HttpTransport",
    "MappedAdapter",
    "RegistryError",
    "build_simulator",
    "default_registry",
    "register_adapter",
    "validate",
]
