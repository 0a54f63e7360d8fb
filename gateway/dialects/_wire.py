"""The wire-format contract of declarative dialects, and what the JSON and XML forms share.

``MappedCodec`` walks the canonical schema once for every dialect; what differs between
JSON and XML (parsing, writing, how a child, a list or a scalar is found in the parsed
tree) is behind the small ``Wire`` base class, implemented in ``_wire_json`` and
``_wire_xml``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

from gateway.dialects.errors import AdapterError

__all__ = ["BODY", "MISSING", "Items", "Wire", "join"]

BODY = "<body>"
MISSING = object()  # what ``Wire.child`` returns for an absent field


class Items(list):
    """A list in the dialect tree, remembering the XML element name of its entries."""

    def __init__(self, item: str, values: list[Any]) -> None:
        super().__init__(values)
        self.item = item


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Wire(abc.ABC):
    """How one syntax carries the dialect tree, in the codec's ``encoding``.

    The dialect tree is nested dicts, ``Items`` lists and scalars as ``put`` returns them.
    ``kind_spec`` is the mapping document's entry for the message kind (XML reads its
    ``root``). Every method raises ``AdapterError`` naming the dialect path at fault
    (``BODY`` for the document as a whole).

    - ``textual``: scalars travel as text, so converters parse them from strings;
    - ``load(payload, kind_spec)``: bytes -> parsed document (strict decoding, then syntax);
    - ``dump(tree, kind_spec)``: dialect tree -> bytes;
    - ``put(native)``: a converted scalar as it goes into the tree;
    - ``check_object(node, path)``: refuse a node that cannot hold fields;
    - ``child(node, name, path)``: the field ``name`` of an object node, or ``MISSING``;
    - ``items(node, item, path)``: the entries of a list node;
    - ``scalar(node, path)``: the raw scalar of a leaf node.
    """

    textual: ClassVar[bool] = False

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding

    def decode(self, payload: bytes) -> str:
        """Decode strictly; the message names the first offending byte and its offset."""
        try:
            return bytes(payload).decode(self.encoding)
        except UnicodeDecodeError as exc:
            raise AdapterError(
                BODY, f"not valid {self.encoding}: byte 0x{payload[exc.start]:02x} at {exc.start}"
            ) from exc

    @abc.abstractmethod
    def load(self, payload: bytes, kind_spec: Mapping[str, Any]) -> Any: ...

    @abc.abstractmethod
    def dump(self, tree: Mapping[str, Any], kind_spec: Mapping[str, Any]) -> bytes: ...

    def put(self, native: Any) -> Any:
        return native

    def check_object(self, node: Any, path: str) -> None:
        return None

    @abc.abstractmethod
    def child(self, node: Any, name: str, path: str) -> Any: ...

    @abc.abstractmethod
    def items(self, node: Any, item: str, path: str) -> list[Any]: ...

    @abc.abstractmethod
    def scalar(self, node: Any, path: str) -> Any: ...
