"""The trust registry: the consortium's signed list of members, keys and permissions.

Like X-Road's global configuration (ARCHITECTURE.md section 5): one JSON document signed
with SM2 by the consortium's governance key, listing each member (region, USCC, subsystem),
its SM2 keys with validity periods, TLS certificate fingerprints, send and receive
permissions and delivery; the provinces' identity providers; the gateway's own log keys
and origin; the auditors, who read the log but are not members; and the members'
witnesses, who cosign the log's checkpoints, with the quorum receipts ask for. ``load_registry``
refuses an unsigned, badly signed, untrusted, expired or not-yet-valid registry;
``RegistryHolder`` keeps the last good copy across reloads. The format is documented in
``docs/registry.md``.
"""

from gateway.registry._dev import (
    DEV_AUDITOR_ID,
    DEV_LICENCE_AUTHORITIES,
    DEV_LICENCE_TYPES,
    DEV_LOG_ORIGIN,
    DEV_MEMBERS,
    DevMember,
    build_dev_registry,
    dev_licence_issuers,
    dev_member_id,
)
from gateway.registry._holder import RegistryHolder
from gateway.registry._licences import (
    LicenceAuthority,
    LicenceIssuers,
    LicenceRegion,
)
from gateway.registry._model import (
    Auditor,
    Delivery,
    DeliveryMode,
    GatewayKey,
    IdentityProvider,
    KeyEntry,
    KeyPurpose,
    LogConfig,
    Member,
    MemberId,
    Region,
    RegistryDocument,
    Rule,
    Witness,
    certificate_fingerprint,
    format_time,
    normalize_fingerprint,
)
from gateway.registry._parse import canonical_bytes, loads_strict, parse_document, parse_time
from gateway.registry._registry import Decision, TrustRegistry
from gateway.registry._signing import load_registry, sign_registry
from gateway.registry._uscc import check_character, is_valid_uscc, uscc_problem
from gateway.registry.errors import (
    RegistryError,
    RegistryExpired,
    RegistryExpiredRefusal,
    RegistryFormatError,
    RegistryLookupError,
    RegistryNotYetValid,
    RegistryRollbackError,
    RegistrySignatureError,
    RegistrySourceError,
    RegistryTrustError,
    RegistryUnsignedError,
    RegistryUntrustedKeyError,
    RegistryValidityError,
)

__all__ = [
    "DEV_AUDITOR_ID",
    "DEV_LICENCE_AUTHORITIES",
    "DEV_LICENCE_TYPES",
    "DEV_LOG_ORIGIN",
    "DEV_MEMBERS",
    "Auditor",
    "Decision",
    "Delivery",
    "DeliveryMode",
    "DevMember",
    "GatewayKey",
    "IdentityProvider",
    "KeyEntry",
    "KeyPurpose",
    "LicenceAuthority",
    "LicenceIssuers",
    "LicenceRegion",
    "LogConfig",
    "Member",
    "MemberId",
    "Region",
    "RegistryDocument",
    "RegistryError",
    "RegistryExpired",
    "RegistryExpiredRefusal",
    "RegistryFormatError",
    "RegistryHolder",
    "RegistryLookupError",
    "RegistryNotYetValid",
    "RegistryRollbackError",
    "RegistrySignatureError",
    "RegistrySourceError",
    "RegistryTrustError",
    "RegistryUnsignedError",
    "RegistryUntrustedKeyError",
    "RegistryValidityError",
    "Rule",
    "TrustRegistry",
    "Witness",
    "build_dev_registry",
    "canonical_bytes",
    "certificate_fingerprint",
    "check_character",
    "dev_licence_issuers",
    "dev_member_id",
    "format_time",
    "is_valid_uscc",
    "load_registry",
    "loads_strict",
    "normalize_fingerprint",
    "parse_document",
    "parse_time",
    "sign_registry",
    "uscc_problem",
]
