import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnchorStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANCHOR_STATUS_UNSPECIFIED: _ClassVar[AnchorStatus]
    ANCHOR_STATUS_PENDING: _ClassVar[AnchorStatus]
    ANCHOR_STATUS_CONFIRMED: _ClassVar[AnchorStatus]
ANCHOR_STATUS_UNSPECIFIED: AnchorStatus
ANCHOR_STATUS_PENDING: AnchorStatus
ANCHOR_STATUS_CONFIRMED: AnchorStatus

class GetCheckpointRequest(_message.Message):
    __slots__ = ("tree_size",)
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    tree_size: int
    def __init__(self, tree_size: _Optional[int] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("text", "tree_size", "root", "origin")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    text: str
    tree_size: int
    root: bytes
    origin: str
    def __init__(self, text: _Optional[str] = ..., tree_size: _Optional[int] = ..., root: _Optional[bytes] = ..., origin: _Optional[str] = ...) -> None: ...

class GetInclusionProofRequest(_message.Message):
    __slots__ = ("exchange_id", "leaf_index", "tree_size")
    EXCHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    LEAF_INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    exchange_id: str
    leaf_index: int
    tree_size: int
    def __init__(self, exchange_id: _Optional[str] = ..., leaf_index: _Optional[int] = ..., tree_size: _Optional[int] = ...) -> None: ...

class InclusionProof(_message.Message):
    __slots__ = ("leaf_index", "tree_size", "hashes", "entry", "checkpoint")
    LEAF_INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    leaf_index: int
    tree_size: int
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    entry: bytes
    checkpoint: Checkpoint
    def __init__(self, leaf_index: _Optional[int] = ..., tree_size: _Optional[int] = ..., hashes: _Optional[_Iterable[bytes]] = ..., entry: _Optional[bytes] = ..., checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ...) -> None: ...

class GetConsistencyProofRequest(_message.Message):
    __slots__ = ("old_size", "new_size")
    OLD_SIZE_FIELD_NUMBER: _ClassVar[int]
    NEW_SIZE_FIELD_NUMBER: _ClassVar[int]
    old_size: int
    new_size: int
    def __init__(self, old_size: _Optional[int] = ..., new_size: _Optional[int] = ...) -> None: ...

class ConsistencyProof(_message.Message):
    __slots__ = ("old_size", "new_size", "hashes")
    OLD_SIZE_FIELD_NUMBER: _ClassVar[int]
    NEW_SIZE_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    old_size: int
    new_size: int
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, old_size: _Optional[int] = ..., new_size: _Optional[int] = ..., hashes: _Optional[_Iterable[bytes]] = ...) -> None: ...

class GetAnchorsRequest(_message.Message):
    __slots__ = ("origin", "from_size", "limit")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    FROM_SIZE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    origin: str
    from_size: int
    limit: int
    def __init__(self, origin: _Optional[str] = ..., from_size: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class Anchor(_message.Message):
    __slots__ = ("origin", "tree_size", "root", "tx_hash", "block_number", "status", "chain_id", "contract_address", "submitted_at")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    origin: str
    tree_size: int
    root: bytes
    tx_hash: str
    block_number: int
    status: AnchorStatus
    chain_id: int
    contract_address: str
    submitted_at: _timestamp_pb2.Timestamp
    def __init__(self, origin: _Optional[str] = ..., tree_size: _Optional[int] = ..., root: _Optional[bytes] = ..., tx_hash: _Optional[str] = ..., block_number: _Optional[int] = ..., status: _Optional[_Union[AnchorStatus, str]] = ..., chain_id: _Optional[int] = ..., contract_address: _Optional[str] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AnchorList(_message.Message):
    __slots__ = ("anchors", "truncated")
    ANCHORS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    anchors: _containers.RepeatedCompositeFieldContainer[Anchor]
    truncated: bool
    def __init__(self, anchors: _Optional[_Iterable[_Union[Anchor, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...
