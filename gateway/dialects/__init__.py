"""Adapters: partner dialects mapped to and from the canonical (Shanghai) model.

The contract is ``Adapter`` (its docstring is the whole of it); canonical payload schemas
are in ``schema``; province packages are found through ``AdapterRegistry`` (entry-point
group ``yrd_gateway.adapters``) and never imported by name from ``gateway``.
"""

from gateway.dialects.base import KINDS, REQUEST_KINDS, RESPONSE_KIND, Adapter
from gateway.dialects.canonical import CanonicalAdapter
from gateway.dialects.errors import AdapterError, DeliveryError, RegistryError
from gateway.dialects.mapping import MappedAdapter
from gateway.dialects.registry import (
    ENTRY_POINT_GROUP,
    AdapterRegistry,
    default_registry,
    register_adapter,
)
from gateway.dialects.schema import ENUMS, SCHEMAS, validate
from gateway.dialects.simulator import build_simulator
from gateway.dialects.transport import Delivery, HttpTransport

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
