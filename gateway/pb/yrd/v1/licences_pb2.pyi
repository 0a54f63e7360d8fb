import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from gateway.pb.yrd.v1 import errors_pb2 as _errors_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VerifyLicenceRequest(_message.Message):
    __slots__ = ("licence", "expected_holder_key")
    LICENCE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_HOLDER_KEY_FIELD_NUMBER: _ClassVar[int]
    licence: bytes
    expected_holder_key: str
    def __init__(self, licence: _Optional[bytes] = ..., expected_holder_key: _Optional[str] = ...) -> None: ...

class VerifyLicenceResponse(_message.Message):
    __slots__ = ("valid", "reason", "failed_check", "message", "message_zh", "licence")
    VALID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FAILED_CHECK_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ZH_FIELD_NUMBER: _ClassVar[int]
    LICENCE_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    reason: _errors_pb2.ErrorReason
    failed_check: str
    message: str
    message_zh: str
    licence: Licence
    def __init__(self, valid: _Optional[bool] = ..., reason: _Optional[_Union[_errors_pb2.ErrorReason, str]] = ..., failed_check: _Optional[str] = ..., message: _Optional[str] = ..., message_zh: _Optional[str] = ..., licence: _Optional[_Union[Licence, _Mapping]] = ...) -> None: ...

class Licence(_message.Message):
    __slots__ = ("licence_id", "licence_type", "licence_type_label", "holder_kind", "holder_key", "holder_display_name", "holder_display_number", "issuer_region", "issuer_authority", "issuer_key_id", "issued_at", "valid_from", "valid_until", "data")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LICENCE_ID_FIELD_NUMBER: _ClassVar[int]
    LICENCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    LICENCE_TYPE_LABEL_FIELD_NUMBER: _ClassVar[int]
    HOLDER_KIND_FIELD_NUMBER: _ClassVar[int]
    HOLDER_KEY_FIELD_NUMBER: _ClassVar[int]
    HOLDER_DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    HOLDER_DISPLAY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ISSUER_REGION_FIELD_NUMBER: _ClassVar[int]
    ISSUER_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    ISSUER_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    licence_id: str
    licence_type: str
    licence_type_label: str
    holder_kind: str
    holder_key: str
    holder_display_name: str
    holder_display_number: str
    issuer_region: str
    issuer_authority: str
    issuer_key_id: str
    issued_at: _timestamp_pb2.Timestamp
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    data: _containers.ScalarMap[str, str]
    def __init__(self, licence_id: _Optional[str] = ..., licence_type: _Optional[str] = ..., licence_type_label: _Optional[str] = ..., holder_kind: _Optional[str] = ..., holder_key: _Optional[str] = ..., holder_display_name: _Optional[str] = ..., holder_display_number: _Optional[str] = ..., issuer_region: _Optional[str] = ..., issuer_authority: _Optional[str] = ..., issuer_key_id: _Optional[str] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., data: _Optional[_Mapping[str, str]] = ...) -> None: ...
