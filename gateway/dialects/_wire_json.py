"""JSON as a dialect wire format: typed scalars, an optional envelope key, any encoding.

Separate from XML because the two disagree on everything below the schema walk: JSON has
typed scalars and ``null``, XML only text and repeated elements.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.dialects._wire import BODY, MISSING, Wire
from gateway.dialects.errors import AdapterError

__all__ = ["JsonWire"]


class JsonWire(Wire):
    """Compact JSON (no ASCII escaping), optionally wrapped as ``{envelope: payload}``.

    A ``null`` field counts as absent.
    """

    def __init__(self, encoding: str, envelope: str | None = None) -> None:
        super().__init__(encoding)
        self.envelope = envelope

    def load(self, payload: bytes, kind_spec: Mapping[str, Any]) -> Any:
        text = self.decode(payload)
        try:
            node = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AdapterError(BODY, f"malformed json: {exc}") from exc
        if not isinstance(node, dict):
            raise AdapterError(BODY, f"expected a json object, got {type(node).__name__}")
        if self.envelope:
            if not isinstance(node.get(self.envelope), dict):
                raise AdapterError(self.envelope, "missing mandatory field")
            node = node[self.envelope]
        return node

    def dump(self, tree: Mapping[str, Any], kind_spec: Mapping[str, Any]) -> bytes:
        if self.envelope:
            tree = {self.envelope: tree}
        return json.dumps(tree, ensure_ascii=False, separators=(",", ":")).encode(self.encoding)

    def check_object(self, node: Any, path: str) -> None:
        if not isinstance(node, dict):
            raise AdapterError(path or BODY, f"expected object, got {type(node).__name__}")

    def child(self, node: Any, name: str, path: str) -> Any:
        value = node.get(name, MISSING)
        return MISSING if value is None else value

    def items(self, node: Any, item: str, path: str) -> list[Any]:
        if not isinstance(node, list):
            raise AdapterError(path, f"expected list, got {type(node).__name__}")
        return node

    def scalar(self, node: Any, path: str) -> Any:
        if isinstance(node, dict | list) or node is None:
            raise AdapterError(path, f"expected a scalar, got {type(node).__name__}")
        return node
