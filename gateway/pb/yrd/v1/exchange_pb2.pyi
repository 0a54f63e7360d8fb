import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from gateway.pb.yrd.v1 import common_pb2 as _common_pb2
from gateway.pb.yrd.v1 import errors_pb2 as _errors_pb2
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

class ExchangeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXCHANGE_STATE_UNSPECIFIED: _ClassVar[ExchangeState]
    EXCHANGE_STATE_ACCEPTED: _ClassVar[ExchangeState]
    EXCHANGE_STATE_DELIVERED: _ClassVar[ExchangeState]
    EXCHANGE_STATE_ANSWERED: _ClassVar[ExchangeState]
    EXCHANGE_STATE_FAILED: _ClassVar[ExchangeState]

class FailureReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAILURE_REASON_UNSPECIFIED: _ClassVar[FailureReason]
    FAILURE_REASON_TRANSLATION: _ClassVar[FailureReason]
    FAILURE_REASON_REFUSED_BY_PARTNER: _ClassVar[FailureReason]
    FAILURE_REASON_UNDELIVERABLE: _ClassVar[FailureReason]
ACK_OUTCOME_UNSPECIFIED: AckOutcome
ACK_OUTCOME_ACCEPTED: AckOutcome
ACK_OUTCOME_REJECTED: AckOutcome
ACK_OUTCOME_RETRY: AckOutcome
EXCHANGE_STATE_UNSPECIFIED: ExchangeState
EXCHANGE_STATE_ACCEPTED: ExchangeState
EXCHANGE_STATE_DELIVERED: ExchangeState
EXCHANGE_STATE_ANSWERED: ExchangeState
EXCHANGE_STATE_FAILED: ExchangeState
FAILURE_REASON_UNSPECIFIED: FailureReason
FAILURE_REASON_TRANSLATION: FailureReason
FAILURE_REASON_REFUSED_BY_PARTNER: FailureReason
FAILURE_REASON_UNDELIVERABLE: FailureReason

class Envelope(_message.Message):
    __slots__ = ("exchange_id", "sender", "recipient", "kind", "matter_ref", "payload", "payload_digest", "payload_content_type", "dialect", "created_at", "nonce", "in_reply_to")
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
    IN_REPLY_TO_FIELD_NUMBER: _ClassVar[int]
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
    in_reply_to: str
    def __init__(self, exchange_id: _Optional[str] = ..., sender: _Optional[_Union[_common_pb2.MemberId, _Mapping]] = ..., recipient: _Optional[_Union[_common_pb2.MemberId, _Mapping]] = ..., kind: _Optional[str] = ..., matter_ref: _Optional[str] = ..., payload: _Optional[bytes] = ..., payload_digest: _Optional[bytes] = ..., payload_content_type: _Optional[str] = ..., dialect: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., nonce: _Optional[bytes] = ..., in_reply_to: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("code", "message", "reason", "reason_code")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    reason: str
    reason_code: _errors_pb2.ErrorReason
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., reason: _Optional[str] = ..., reason_code: _Optional[_Union[_errors_pb2.ErrorReason, str]] = ...) -> None: ...

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

class TranslationAttestation(_message.Message):
    __slots__ = ("statement", "signature", "key_id")
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    statement: bytes
    signature: bytes
    key_id: str
    def __init__(self, statement: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., key_id: _Optional[str] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("delivery_id", "envelope", "receipt", "attempt", "payload", "dialect", "payload_content_type", "attestation")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    DIALECT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    envelope: SignedEnvelope
    receipt: Receipt
    attempt: int
    payload: bytes
    dialect: str
    payload_content_type: str
    attestation: TranslationAttestation
    def __init__(self, delivery_id: _Optional[str] = ..., envelope: _Optional[_Union[SignedEnvelope, _Mapping]] = ..., receipt: _Optional[_Union[Receipt, _Mapping]] = ..., attempt: _Optional[int] = ..., payload: _Optional[bytes] = ..., dialect: _Optional[str] = ..., payload_content_type: _Optional[str] = ..., attestation: _Optional[_Union[TranslationAttestation, _Mapping]] = ...) -> None: ...

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

class GetStatusRequest(_message.Message):
    __slots__ = ("exchange_id",)
    EXCHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    exchange_id: str
    def __init__(self, exchange_id: _Optional[str] = ...) -> None: ...

class WatchStatusRequest(_message.Message):
    __slots__ = ("exchange_ids",)
    EXCHANGE_IDS_FIELD_NUMBER: _ClassVar[int]
    exchange_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, exchange_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ExchangeStatus(_message.Message):
    __slots__ = ("exchange_id", "kind", "state", "accepted_at", "delivered_at", "attempts", "answer_exchange_id", "failure", "detail", "expects_answer", "updated_at")
    EXCHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_EXCHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    EXPECTS_ANSWER_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    exchange_id: str
    kind: str
    state: ExchangeState
    accepted_at: _timestamp_pb2.Timestamp
    delivered_at: _timestamp_pb2.Timestamp
    attempts: int
    answer_exchange_id: str
    failure: FailureReason
    detail: str
    expects_answer: bool
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, exchange_id: _Optional[str] = ..., kind: _Optional[str] = ..., state: _Optional[_Union[ExchangeState, str]] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delivered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempts: _Optional[int] = ..., answer_exchange_id: _Optional[str] = ..., failure: _Optional[_Union[FailureReason, str]] = ..., detail: _Optional[str] = ..., expects_answer: _Optional[bool] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
