"""Cross-province identity: canonical model, document validation, levels, person keys,
and gateway-signed canonical assertions.

Public names are re-exported here; modules starting with ``_`` are internal.
"""

from ._enums import AssuranceLevel, AuthMethod, DocumentType, Province
from .assertion import issue_canonical_assertion, verify_canonical_assertion
from .errors import (
    REJECTION_REASONS,
    AssertionRejected,
    IdentityError,
    InvalidCreditCode,
    InvalidIdNumber,
)
from .levels import DEFAULT_POLICY, LevelPolicy, assess_level, check_level
from .model import (
    MINIMUM_DATA_SET,
    LegalPerson,
    NaturalPerson,
    RecognisedIdentity,
    Subject,
    subject_from_dict,
)
from .pseudonym import PersonKeyDeriver, canonical_identifier, derive_person_key
from .validation import (
    compute_id_check_digit,
    compute_uscc_check_char,
    is_valid_resident_id,
    is_valid_uscc,
    validate_document_number,
    validate_resident_id,
    validate_uscc,
)

__all__ = [
    "DEFAULT_POLICY",
    "MINIMUM_DATA_SET",
    "REJECTION_REASONS",
    "AssertionRejected",
    "AssuranceLevel",
    "AuthMethod",
    "DocumentType",
    "IdentityError",
    "InvalidCreditCode",
    "InvalidIdNumber",
    "LegalPerson",
    "LevelPolicy",
    "NaturalPerson",
    "PersonKeyDeriver",
    "Province",
    "RecognisedIdentity",
    "Subject",
    "assess_level",
    "canonical_identifier",
    "check_level",
    "compute_id_check_digit",
    "compute_uscc_check_char",
    "derive_person_key",
    "is_valid_resident_id",
    "is_valid_uscc",
    "issue_canonical_assertion",
    "subject_from_dict",
    "validate_document_number",
    "validate_resident_id",
    "validate_uscc",
    "verify_canonical_assertion",
]
