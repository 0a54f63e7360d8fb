from gateway.pb.yrd.v1 import common_pb2 as _common_pb2
from gateway.pb.yrd.v1 import exchange_pb2 as _exchange_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MatterType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MATTER_TYPE_UNSPECIFIED: _ClassVar[MatterType]
    MATTER_TYPE_LICENSING: _ClassVar[MatterType]
    MATTER_TYPE_LEVY: _ClassVar[MatterType]
    MATTER_TYPE_BENEFIT: _ClassVar[MatterType]
    MATTER_TYPE_CONFIRMATION: _ClassVar[MatterType]
    MATTER_TYPE_OTHER_POWER: _ClassVar[MatterType]
    MATTER_TYPE_PUBLIC_SERVICE: _ClassVar[MatterType]

class TimeUnit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_UNIT_UNSPECIFIED: _ClassVar[TimeUnit]
    TIME_UNIT_WORKING_DAYS: _ClassVar[TimeUnit]
    TIME_UNIT_NATURAL_DAYS: _ClassVar[TimeUnit]

class MaterialForm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MATERIAL_FORM_UNSPECIFIED: _ClassVar[MaterialForm]
    MATERIAL_FORM_ORIGINAL: _ClassVar[MaterialForm]
    MATERIAL_FORM_COPY: _ClassVar[MaterialForm]
    MATERIAL_FORM_ELECTRONIC: _ClassVar[MaterialForm]

class HandlingMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HANDLING_MODE_UNSPECIFIED: _ClassVar[HandlingMode]
    HANDLING_MODE_FULL_ONLINE: _ClassVar[HandlingMode]
    HANDLING_MODE_PROXY: _ClassVar[HandlingMode]
    HANDLING_MODE_MULTI_SITE: _ClassVar[HandlingMode]

class MinAssurance(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MIN_ASSURANCE_UNSPECIFIED: _ClassVar[MinAssurance]
    MIN_ASSURANCE_LOW: _ClassVar[MinAssurance]
    MIN_ASSURANCE_SUBSTANTIAL: _ClassVar[MinAssurance]
    MIN_ASSURANCE_HIGH: _ClassVar[MinAssurance]

class EvidenceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVIDENCE_STATE_UNSPECIFIED: _ClassVar[EvidenceState]
    EVIDENCE_STATE_PENDING: _ClassVar[EvidenceState]
    EVIDENCE_STATE_ANSWERED: _ClassVar[EvidenceState]
    EVIDENCE_STATE_REFUSED: _ClassVar[EvidenceState]
    EVIDENCE_STATE_FORWARDED: _ClassVar[EvidenceState]
MATTER_TYPE_UNSPECIFIED: MatterType
MATTER_TYPE_LICENSING: MatterType
MATTER_TYPE_LEVY: MatterType
MATTER_TYPE_BENEFIT: MatterType
MATTER_TYPE_CONFIRMATION: MatterType
MATTER_TYPE_OTHER_POWER: MatterType
MATTER_TYPE_PUBLIC_SERVICE: MatterType
TIME_UNIT_UNSPECIFIED: TimeUnit
TIME_UNIT_WORKING_DAYS: TimeUnit
TIME_UNIT_NATURAL_DAYS: TimeUnit
MATERIAL_FORM_UNSPECIFIED: MaterialForm
MATERIAL_FORM_ORIGINAL: MaterialForm
MATERIAL_FORM_COPY: MaterialForm
MATERIAL_FORM_ELECTRONIC: MaterialForm
HANDLING_MODE_UNSPECIFIED: HandlingMode
HANDLING_MODE_FULL_ONLINE: HandlingMode
HANDLING_MODE_PROXY: HandlingMode
HANDLING_MODE_MULTI_SITE: HandlingMode
MIN_ASSURANCE_UNSPECIFIED: MinAssurance
MIN_ASSURANCE_LOW: MinAssurance
MIN_ASSURANCE_SUBSTANTIAL: MinAssurance
MIN_ASSURANCE_HIGH: MinAssurance
EVIDENCE_STATE_UNSPECIFIED: EvidenceState
EVIDENCE_STATE_PENDING: EvidenceState
EVIDENCE_STATE_ANSWERED: EvidenceState
EVIDENCE_STATE_REFUSED: EvidenceState
EVIDENCE_STATE_FORWARDED: EvidenceState

class TimeLimit(_message.Message):
    __slots__ = ("value", "unit")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    value: int
    unit: TimeUnit
    def __init__(self, value: _Optional[int] = ..., unit: _Optional[_Union[TimeUnit, str]] = ...) -> None: ...

class ImplementingBody(_message.Message):
    __slots__ = ("name", "uscc")
    NAME_FIELD_NUMBER: _ClassVar[int]
    USCC_FIELD_NUMBER: _ClassVar[int]
    name: str
    uscc: str
    def __init__(self, name: _Optional[str] = ..., uscc: _Optional[str] = ...) -> None: ...

class Material(_message.Message):
    __slots__ = ("material_id", "name", "required", "form", "shareable", "source_department")
    MATERIAL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    FORM_FIELD_NUMBER: _ClassVar[int]
    SHAREABLE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    material_id: str
    name: str
    required: bool
    form: MaterialForm
    shareable: bool
    source_department: str
    def __init__(self, material_id: _Optional[str] = ..., name: _Optional[str] = ..., required: _Optional[bool] = ..., form: _Optional[_Union[MaterialForm, str]] = ..., shareable: _Optional[bool] = ..., source_department: _Optional[str] = ...) -> None: ...

class Fee(_message.Message):
    __slots__ = ("item", "amount_fen", "basis")
    ITEM_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    item: str
    amount_fen: int
    basis: str
    def __init__(self, item: _Optional[str] = ..., amount_fen: _Optional[int] = ..., basis: _Optional[str] = ...) -> None: ...

class Matter(_message.Message):
    __slots__ = ("basic_code", "implementation_code", "local_code", "name", "matter_type", "implementing_body", "legal_time_limit", "promised_time_limit", "materials", "fees", "online_depth", "handling_modes", "min_assurance", "version", "valid_from", "valid_to", "region", "baseline", "json")
    BASIC_CODE_FIELD_NUMBER: _ClassVar[int]
    IMPLEMENTATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LOCAL_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MATTER_TYPE_FIELD_NUMBER: _ClassVar[int]
    IMPLEMENTING_BODY_FIELD_NUMBER: _ClassVar[int]
    LEGAL_TIME_LIMIT_FIELD_NUMBER: _ClassVar[int]
    PROMISED_TIME_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    ONLINE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    HANDLING_MODES_FIELD_NUMBER: _ClassVar[int]
    MIN_ASSURANCE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_TO_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    basic_code: str
    implementation_code: str
    local_code: str
    name: str
    matter_type: MatterType
    implementing_body: ImplementingBody
    legal_time_limit: TimeLimit
    promised_time_limit: TimeLimit
    materials: _containers.RepeatedCompositeFieldContainer[Material]
    fees: _containers.RepeatedCompositeFieldContainer[Fee]
    online_depth: int
    handling_modes: _containers.RepeatedScalarFieldContainer[HandlingMode]
    min_assurance: MinAssurance
    version: str
    valid_from: str
    valid_to: str
    region: _common_pb2.Region
    baseline: bool
    json: str
    def __init__(self, basic_code: _Optional[str] = ..., implementation_code: _Optional[str] = ..., local_code: _Optional[str] = ..., name: _Optional[str] = ..., matter_type: _Optional[_Union[MatterType, str]] = ..., implementing_body: _Optional[_Union[ImplementingBody, _Mapping]] = ..., legal_time_limit: _Optional[_Union[TimeLimit, _Mapping]] = ..., promised_time_limit: _Optional[_Union[TimeLimit, _Mapping]] = ..., materials: _Optional[_Iterable[_Union[Material, _Mapping]]] = ..., fees: _Optional[_Iterable[_Union[Fee, _Mapping]]] = ..., online_depth: _Optional[int] = ..., handling_modes: _Optional[_Iterable[_Union[HandlingMode, str]]] = ..., min_assurance: _Optional[_Union[MinAssurance, str]] = ..., version: _Optional[str] = ..., valid_from: _Optional[str] = ..., valid_to: _Optional[str] = ..., region: _Optional[_Union[_common_pb2.Region, str]] = ..., baseline: _Optional[bool] = ..., json: _Optional[str] = ...) -> None: ...

class ResolveRequest(_message.Message):
    __slots__ = ("local_code", "region")
    LOCAL_CODE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    local_code: str
    region: _common_pb2.Region
    def __init__(self, local_code: _Optional[str] = ..., region: _Optional[_Union[_common_pb2.Region, str]] = ...) -> None: ...

class ResolveResponse(_message.Message):
    __slots__ = ("canonical", "local")
    CANONICAL_FIELD_NUMBER: _ClassVar[int]
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    canonical: Matter
    local: Matter
    def __init__(self, canonical: _Optional[_Union[Matter, _Mapping]] = ..., local: _Optional[_Union[Matter, _Mapping]] = ...) -> None: ...

class ListMattersRequest(_message.Message):
    __slots__ = ("region", "matter_type", "handling_mode", "page_size", "page_token")
    REGION_FIELD_NUMBER: _ClassVar[int]
    MATTER_TYPE_FIELD_NUMBER: _ClassVar[int]
    HANDLING_MODE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    region: _common_pb2.Region
    matter_type: MatterType
    handling_mode: HandlingMode
    page_size: int
    page_token: str
    def __init__(self, region: _Optional[_Union[_common_pb2.Region, str]] = ..., matter_type: _Optional[_Union[MatterType, str]] = ..., handling_mode: _Optional[_Union[HandlingMode, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMattersResponse(_message.Message):
    __slots__ = ("matters", "next_page_token", "total_size")
    MATTERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    matters: _containers.RepeatedCompositeFieldContainer[Matter]
    next_page_token: str
    total_size: int
    def __init__(self, matters: _Optional[_Iterable[_Union[Matter, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class SearchMattersRequest(_message.Message):
    __slots__ = ("text", "region", "matter_type", "handling_mode", "page_size", "page_token")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    MATTER_TYPE_FIELD_NUMBER: _ClassVar[int]
    HANDLING_MODE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    text: str
    region: _common_pb2.Region
    matter_type: MatterType
    handling_mode: HandlingMode
    page_size: int
    page_token: str
    def __init__(self, text: _Optional[str] = ..., region: _Optional[_Union[_common_pb2.Region, str]] = ..., matter_type: _Optional[_Union[MatterType, str]] = ..., handling_mode: _Optional[_Union[HandlingMode, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class CompareRequest(_message.Message):
    __slots__ = ("basic_code", "reference_date", "regions")
    BASIC_CODE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_DATE_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    basic_code: str
    reference_date: str
    regions: _containers.RepeatedScalarFieldContainer[_common_pb2.Region]
    def __init__(self, basic_code: _Optional[str] = ..., reference_date: _Optional[str] = ..., regions: _Optional[_Iterable[_Union[_common_pb2.Region, str]]] = ...) -> None: ...

class RegionColumn(_message.Message):
    __slots__ = ("region", "local_code", "name", "legal_time_limit", "promised_time_limit", "legal_working_days", "promised_working_days", "fees", "fee_total_fen", "online_depth", "handling_modes", "min_assurance")
    REGION_FIELD_NUMBER: _ClassVar[int]
    LOCAL_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEGAL_TIME_LIMIT_FIELD_NUMBER: _ClassVar[int]
    PROMISED_TIME_LIMIT_FIELD_NUMBER: _ClassVar[int]
    LEGAL_WORKING_DAYS_FIELD_NUMBER: _ClassVar[int]
    PROMISED_WORKING_DAYS_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    FEE_TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    ONLINE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    HANDLING_MODES_FIELD_NUMBER: _ClassVar[int]
    MIN_ASSURANCE_FIELD_NUMBER: _ClassVar[int]
    region: _common_pb2.Region
    local_code: str
    name: str
    legal_time_limit: TimeLimit
    promised_time_limit: TimeLimit
    legal_working_days: int
    promised_working_days: int
    fees: _containers.RepeatedCompositeFieldContainer[Fee]
    fee_total_fen: int
    online_depth: int
    handling_modes: _containers.RepeatedScalarFieldContainer[HandlingMode]
    min_assurance: MinAssurance
    def __init__(self, region: _Optional[_Union[_common_pb2.Region, str]] = ..., local_code: _Optional[str] = ..., name: _Optional[str] = ..., legal_time_limit: _Optional[_Union[TimeLimit, _Mapping]] = ..., promised_time_limit: _Optional[_Union[TimeLimit, _Mapping]] = ..., legal_working_days: _Optional[int] = ..., promised_working_days: _Optional[int] = ..., fees: _Optional[_Iterable[_Union[Fee, _Mapping]]] = ..., fee_total_fen: _Optional[int] = ..., online_depth: _Optional[int] = ..., handling_modes: _Optional[_Iterable[_Union[HandlingMode, str]]] = ..., min_assurance: _Optional[_Union[MinAssurance, str]] = ...) -> None: ...

class MaterialPresence(_message.Message):
    __slots__ = ("region", "present", "required", "shareable", "form", "source_department")
    REGION_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    SHAREABLE_FIELD_NUMBER: _ClassVar[int]
    FORM_FIELD_NUMBER: _ClassVar[int]
    SOURCE_DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    region: _common_pb2.Region
    present: bool
    required: bool
    shareable: bool
    form: MaterialForm
    source_department: str
    def __init__(self, region: _Optional[_Union[_common_pb2.Region, str]] = ..., present: _Optional[bool] = ..., required: _Optional[bool] = ..., shareable: _Optional[bool] = ..., form: _Optional[_Union[MaterialForm, str]] = ..., source_department: _Optional[str] = ...) -> None: ...

class MaterialRow(_message.Message):
    __slots__ = ("material_id", "name", "differs", "by_region")
    MATERIAL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DIFFERS_FIELD_NUMBER: _ClassVar[int]
    BY_REGION_FIELD_NUMBER: _ClassVar[int]
    material_id: str
    name: str
    differs: bool
    by_region: _containers.RepeatedCompositeFieldContainer[MaterialPresence]
    def __init__(self, material_id: _Optional[str] = ..., name: _Optional[str] = ..., differs: _Optional[bool] = ..., by_region: _Optional[_Iterable[_Union[MaterialPresence, _Mapping]]] = ...) -> None: ...

class Comparison(_message.Message):
    __slots__ = ("basic_code", "name", "regions", "reference_date", "columns", "materials", "differing_fields", "json")
    BASIC_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_DATE_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    DIFFERING_FIELDS_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    basic_code: str
    name: str
    regions: _containers.RepeatedScalarFieldContainer[_common_pb2.Region]
    reference_date: str
    columns: _containers.RepeatedCompositeFieldContainer[RegionColumn]
    materials: _containers.RepeatedCompositeFieldContainer[MaterialRow]
    differing_fields: _containers.RepeatedScalarFieldContainer[str]
    json: str
    def __init__(self, basic_code: _Optional[str] = ..., name: _Optional[str] = ..., regions: _Optional[_Iterable[_Union[_common_pb2.Region, str]]] = ..., reference_date: _Optional[str] = ..., columns: _Optional[_Iterable[_Union[RegionColumn, _Mapping]]] = ..., materials: _Optional[_Iterable[_Union[MaterialRow, _Mapping]]] = ..., differing_fields: _Optional[_Iterable[str]] = ..., json: _Optional[str] = ...) -> None: ...

class GetEvidenceRequest(_message.Message):
    __slots__ = ("exchange_id",)
    EXCHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    exchange_id: str
    def __init__(self, exchange_id: _Optional[str] = ...) -> None: ...

class EvidenceResponse(_message.Message):
    __slots__ = ("request_id", "certificate_type", "certificate_number", "holder", "issued_date", "digest_sm3", "content", "licence")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    ISSUED_DATE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_SM3_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    LICENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    certificate_type: str
    certificate_number: str
    holder: str
    issued_date: str
    digest_sm3: str
    content: bytes
    licence: bytes
    def __init__(self, request_id: _Optional[str] = ..., certificate_type: _Optional[str] = ..., certificate_number: _Optional[str] = ..., holder: _Optional[str] = ..., issued_date: _Optional[str] = ..., digest_sm3: _Optional[str] = ..., content: _Optional[bytes] = ..., licence: _Optional[bytes] = ...) -> None: ...

class EvidenceAnswer(_message.Message):
    __slots__ = ("request_exchange_id", "state", "attempts", "error", "answer_exchange_id", "response", "answer_receipt", "answer_envelope")
    REQUEST_EXCHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ANSWER_EXCHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ANSWER_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    ANSWER_ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    request_exchange_id: str
    state: EvidenceState
    attempts: int
    error: str
    answer_exchange_id: str
    response: EvidenceResponse
    answer_receipt: _exchange_pb2.Receipt
    answer_envelope: _exchange_pb2.SignedEnvelope
    def __init__(self, request_exchange_id: _Optional[str] = ..., state: _Optional[_Union[EvidenceState, str]] = ..., attempts: _Optional[int] = ..., error: _Optional[str] = ..., answer_exchange_id: _Optional[str] = ..., response: _Optional[_Union[EvidenceResponse, _Mapping]] = ..., answer_receipt: _Optional[_Union[_exchange_pb2.Receipt, _Mapping]] = ..., answer_envelope: _Optional[_Union[_exchange_pb2.SignedEnvelope, _Mapping]] = ...) -> None: ...
