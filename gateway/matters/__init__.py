"""Government-service matters: the canonical model, the catalogue and cross-region comparison.

Public names only; ``model``, ``catalogue`` and ``compare`` are the implementation.
The bundled catalogue is SAMPLE DATA, not an official list (see ``docs/matters.md``).
"""

from gateway.matters.catalogue import Catalogue, CatalogueEntry, default_catalogue
from gateway.matters.compare import Comparison, MaterialPresence, MaterialRow, compare_matter
from gateway.matters.errors import MatterError, MatterNotFound
from gateway.matters.model import (
    BASELINE_REGION,
    MATTER_TYPE_CODES,
    REGIONS,
    AssuranceLevel,
    Fee,
    HandlingMode,
    ImplementingBody,
    Material,
    MaterialForm,
    Matter,
    MatterType,
    OnlineDepth,
    TimeLimit,
    TimeUnit,
    implementation_code,
    uscc_is_valid,
)

__all__ = [
    "BASELINE_REGION",
    "MATTER_TYPE_CODES",
    "REGIONS",
    "AssuranceLevel",
    "Catalogue",
    "CatalogueEntry",
    "Comparison",
    "Fee",
    "HandlingMode",
    "ImplementingBody",
    "Material",
    "MaterialForm",
    "MaterialPresence",
    "MaterialRow",
    "Matter",
    "MatterError",
    "MatterNotFound",
    "MatterType",
    "OnlineDepth",
    "TimeLimit",
    "TimeUnit",
    "compare_matter",
    "default_catalogue",
    "implementation_code",
    "uscc_is_valid",
]
