from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Region(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REGION_UNSPECIFIED: _ClassVar[Region]
    REGION_SH: _ClassVar[Region]
    REGION_JS: _ClassVar[Region]
    REGION_ZJ: _ClassVar[Region]
    REGION_AH: _ClassVar[Region]
REGION_UNSPECIFIED: Region
REGION_SH: Region
REGION_JS: Region
REGION_ZJ: Region
REGION_AH: Region

class MemberId(_message.Message):
    __slots__ = ("region", "org_code", "subsystem")
    REGION_FIELD_NUMBER: _ClassVar[int]
    ORG_CODE_FIELD_NUMBER: _ClassVar[int]
    SUBSYSTEM_FIELD_NUMBER: _ClassVar[int]
    region: Region
    org_code: str
    subsystem: str
    def __init__(self, region: _Optional[_Union[Region, str]] = ..., org_code: _Optional[str] = ..., subsystem: _Optional[str] = ...) -> None: ...
