import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from gateway.pb.yrd.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AckOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACK_OUTCOME_UNSPECIFIED: _ClassVar[AckOutcome]
    ACK_OUTCOME_ACCEPTED: _ClassVar[AckOutcome]
    ACK_OUTCOME_REJECTED: _ClassVar[AckOutcome]
    ACK_OUTCOME_RETRY: _ClassVar[AckOutcome]
ACK_OUTCOME_UNSPECIFIED: AckOutcome
ACK_OUTCOME_ACCEPTED: AckOutcome
ACK_OUTCOME_REJECTED: AckOutcome
ACK_OUTCOME_RETRY: AckOutcome

class Envelope(_message.Message):
    __slots__ = ("exchange_id", "sender", "recipient", "kind", "matter_ref", "payload", "payload_digest", "payload_content_type", "dialect", "created_at", "nonce")
    EXCHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MATTER_REF_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_DIGEST_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DIALECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    exchange_id: str
    sender: _common_pb2.MemberId
    recipient: _common_pb2.MemberId
    kind: str
    matter_ref: str
    payload: bytes
    payload_digest: bytes
    payload_content_type: str
    dialect: str
    created_at: _timestamp_pb2.Timestamp
    nonce: bytes
    def __init__(self, exchange_id: _Optional[str] = ..., sender: _Optional[_Union[_common_pb2.MemberId, _Mapping]] = ..., recipient: _Optional[_Union[_common_pb2.MemberId, _Mapping]] = ..., kind: _Optional[str] = ..., matter_ref: _Optional[str] = ..., payload: _Optional[bytes] = ..., payload_digest: _Optional[bytes] = ..., payload_content_type: _Optional[str] = ..., dialect: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., nonce: _Optional[bytes] = ...) -> None: ...

class SignedEnvelope(_message.Message):
    __slots__ = ("envelope", "signature", "key_id")
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    envelope: bytes
    signature: bytes
    key_id: str
    def __init__(self, envelope: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., key_id: _Optional[str] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("exchange_id", "leaf_index", "tree_size", "entry", "inclusion_proof", "checkpoint", "log_key_id", "received_at", "receipt_json")
    EXCHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    LEAF_INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    INCLUSION_PROOF_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    LOG_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_JSON_FIELD_NUMBER: _ClassVar[int]
    exchange_id: str
    leaf_index: int
    tree_size: int
    entry: bytes
    inclusion_proof: _containers.RepeatedScalarFieldContainer[bytes]
    checkpoint: str
    log_key_id: str
    received_at: _timestamp_pb2.Timestamp
    receipt_json: str
    def __init__(self, exchange_id: _Optional[str] = ..., leaf_index: _Optional[int] = ..., tree_size: _Optional[int] = ..., entry: _Optional[bytes] = ..., inclusion_proof: _Optional[_Iterable[bytes]] = ..., checkpoint: _Optional[str] = ..., log_key_id: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receipt_json: _Optional[str] = ...) -> None: ...

class SubmitError(_message.Message):
    __slots__ = ("code", "message", "reason")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    reason: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SubmitResult(_message.Message):
    __slots__ = ("sequence", "exchange_id", "receipt", "error")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    exchange_id: str
    receipt: Receipt
    error: SubmitError
    def __init__(self, sequence: _Optional[int] = ..., exchange_id: _Optional[str] = ..., receipt: _Optional[_Union[Receipt, _Mapping]] = ..., error: _Optional[_Union[SubmitError, _Mapping]] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("delivery_id", "envelope", "receipt", "attempt")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    envelope: SignedEnvelope
    receipt: Receipt
    attempt: int
    def __init__(self, delivery_id: _Optional[str] = ..., envelope: _Optional[_Union[SignedEnvelope, _Mapping]] = ..., receipt: _Optional[_Union[Receipt, _Mapping]] = ..., attempt: _Optional[int] = ...) -> None: ...

class PullRequest(_message.Message):
    __slots__ = ("member", "max_in_flight")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    MAX_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    member: _common_pb2.MemberId
    max_in_flight: int
    def __init__(self, member: _Optional[_Union[_common_pb2.MemberId, _Mapping]] = ..., max_in_flight: _Optional[int] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("delivery_id", "outcome", "reason")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    outcome: AckOutcome
    reason: str
    def __init__(self, delivery_id: _Optional[str] = ..., outcome: _Optional[_Union[AckOutcome, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class PullMessage(_message.Message):
    __slots__ = ("request", "ack")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    request: PullRequest
    ack: Ack
    def __init__(self, request: _Optional[_Union[PullRequest, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ...) -> None: ...

class GetReceiptRequest(_message.Message):
    __slots__ = ("exchange_id", "tree_size")
    EXCHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    exchange_id: str
    tree_size: int
    def __init__(self, exchange_id: _Optional[str] = ..., tree_size: _Optional[int] = ...) -> None: ...
