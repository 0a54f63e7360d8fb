"""Cross-province identity: canonical model, document validation, levels, person keys,
and gateway-signed canonical assertions.

Public names are re-exported here; modules starting with ``_`` are internal.
"""

from gateway.identity._enums import (
    AgentRole,
    AssuranceLevel,
    AuthMethod,
    DocumentType,
    Province,
    SubjectKind,
)
from gateway.identity.assertion import issue_canonical_assertion, verify_canonical_assertion
from gateway.identity.errors import (
    REJECTION_REASONS,
    AssertionRejected,
    IdentityError,
    InvalidCreditCode,
    InvalidIdNumber,
)
from gateway.identity.levels import DEFAULT_POLICY, LevelPolicy, assess_level, check_level
from gateway.identity.model import (
    MINIMUM_DATA_SET,
    LegalPerson,
    NaturalPerson,
    RecognisedIdentity,
    Subject,
    subject_from_dict,
)
from gateway.identity.pseudonym import PersonKeyDeriver, canonical_identifier, derive_person_key
from gateway.identity.validation import (
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
    "AgentRole",
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
    "SubjectKind",
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
