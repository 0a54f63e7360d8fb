import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from gateway.pb.yrd.v1 import common_pb2 as _common_pb2
from gateway.pb.yrd.v1 import exchange_pb2 as _exchange_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AssuranceLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSURANCE_LEVEL_UNSPECIFIED: _ClassVar[AssuranceLevel]
    ASSURANCE_LEVEL_LOW: _ClassVar[AssuranceLevel]
    ASSURANCE_LEVEL_SUBSTANTIAL: _ClassVar[AssuranceLevel]
    ASSURANCE_LEVEL_HIGH: _ClassVar[AssuranceLevel]
ASSURANCE_LEVEL_UNSPECIFIED: AssuranceLevel
ASSURANCE_LEVEL_LOW: AssuranceLevel
ASSURANCE_LEVEL_SUBSTANTIAL: AssuranceLevel
ASSURANCE_LEVEL_HIGH: AssuranceLevel

class RecognizeRequest(_message.Message):
    __slots__ = ("province", "format", "assertion", "matter_code", "minimum_level")
    PROVINCE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ASSERTION_FIELD_NUMBER: _ClassVar[int]
    MATTER_CODE_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_LEVEL_FIELD_NUMBER: _ClassVar[int]
    province: _common_pb2.Region
    format: str
    assertion: bytes
    matter_code: str
    minimum_level: AssuranceLevel
    def __init__(self, province: _Optional[_Union[_common_pb2.Region, str]] = ..., format: _Optional[str] = ..., assertion: _Optional[bytes] = ..., matter_code: _Optional[str] = ..., minimum_level: _Optional[_Union[AssuranceLevel, str]] = ...) -> None: ...

class RecognizeResponse(_message.Message):
    __slots__ = ("canonical_assertion", "gateway_key_id", "person_key", "level", "methods", "issuing_province", "masked_name", "document_type", "masked_document_number", "authenticated_at", "expires_at", "audience", "required_level", "recognition_id", "receipt", "subject_kind", "organisation_key", "agent_key", "role", "masked_organisation_name", "masked_uscc", "masked_agent_name")
    CANONICAL_ASSERTION_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_KEY_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    ISSUING_PROVINCE_FIELD_NUMBER: _ClassVar[int]
    MASKED_NAME_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    MASKED_DOCUMENT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AUTHENTICATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_LEVEL_FIELD_NUMBER: _ClassVar[int]
    RECOGNITION_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_KIND_FIELD_NUMBER: _ClassVar[int]
    ORGANISATION_KEY_FIELD_NUMBER: _ClassVar[int]
    AGENT_KEY_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    MASKED_ORGANISATION_NAME_FIELD_NUMBER: _ClassVar[int]
    MASKED_USCC_FIELD_NUMBER: _ClassVar[int]
    MASKED_AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    canonical_assertion: str
    gateway_key_id: str
    person_key: str
    level: AssuranceLevel
    methods: _containers.RepeatedScalarFieldContainer[str]
    issuing_province: _common_pb2.Region
    masked_name: str
    document_type: str
    masked_document_number: str
    authenticated_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    audience: str
    required_level: AssuranceLevel
    recognition_id: str
    receipt: _exchange_pb2.Receipt
    subject_kind: str
    organisation_key: str
    agent_key: str
    role: str
    masked_organisation_name: str
    masked_uscc: str
    masked_agent_name: str
    def __init__(self, canonical_assertion: _Optional[str] = ..., gateway_key_id: _Optional[str] = ..., person_key: _Optional[str] = ..., level: _Optional[_Union[AssuranceLevel, str]] = ..., methods: _Optional[_Iterable[str]] = ..., issuing_province: _Optional[_Union[_common_pb2.Region, str]] = ..., masked_name: _Optional[str] = ..., document_type: _Optional[str] = ..., masked_document_number: _Optional[str] = ..., authenticated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., audience: _Optional[str] = ..., required_level: _Optional[_Union[AssuranceLevel, str]] = ..., recognition_id: _Optional[str] = ..., receipt: _Optional[_Union[_exchange_pb2.Receipt, _Mapping]] = ..., subject_kind: _Optional[str] = ..., organisation_key: _Optional[str] = ..., agent_key: _Optional[str] = ..., role: _Optional[str] = ..., masked_organisation_name: _Optional[str] = ..., masked_uscc: _Optional[str] = ..., masked_agent_name: _Optional[str] = ...) -> None: ...
