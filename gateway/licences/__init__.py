"""Electronic licences (电子证照) that verify across regions (电子证照互认).

An issuing region's authority signs a canonical e-licence with its SM2 licence key, listed
in the trust registry's ``licence_issuers``; any region verifies it on its own, offline,
with :func:`verify_licence` (docs/licences.md).
"""

from gateway.licences.errors import CHINESE_REASONS, LicenceRejected
from gateway.licences.model import (
    FORMAT,
    HOLDER_KINDS,
    LICENCE_TYPES,
    MAX_LICENCE_BYTES,
    Holder,
    Issuer,
    Licence,
    SignedLicence,
    parse_signed_licence,
)
from gateway.licences.revocations import (
    REVOCATIONS_FORMAT,
    RevocationList,
    load_revocation_list,
    sign_revocation_list,
)
from gateway.licences.signing import build_licence, sign_licence, signed_bytes
from gateway.licences.trust import TRUST_FORMAT, licence_trust_document, load_licence_trust
from gateway.licences.verify import CHECKS, Verdict, check_licence, verify_licence

__all__ = [
    "CHECKS",
    "CHINESE_REASONS",
    "FORMAT",
    "HOLDER_KINDS",
    "LICENCE_TYPES",
    "MAX_LICENCE_BYTES",
    "REVOCATIONS_FORMAT",
    "TRUST_FORMAT",
    "Holder",
    "Issuer",
    "Licence",
    "LicenceRejected",
    "RevocationList",
    "SignedLicence",
    "Verdict",
    "build_licence",
    "check_licence",
    "licence_trust_document",
    "load_licence_trust",
    "load_revocation_list",
    "parse_signed_licence",
    "sign_licence",
    "sign_revocation_list",
    "signed_bytes",
    "verify_licence",
]
