"""XML as a dialect wire format: text-only scalars, one root element per kind.

Kept on its own because XML needs its own safety rule: inbound documents are parsed only by
``untrusted_xml.parse_untrusted_xml`` (encoding decided first, the codec's encoding the only
one allowed; ``defusedxml`` with DTDs, entities and external references forbidden).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from gateway.dialects._convert import text
from gateway.dialects._wire import BODY, MISSING, Items, Wire, join
from gateway.dialects.errors import AdapterError
from gateway.dialects.untrusted_xml import UntrustedXmlError, parse_untrusted_xml

__all__ = ["XmlWire"]


class XmlWire(Wire):
    """XML under the kind's ``root`` element; a list is an element holding one ``item``
    element per entry; a field repeated where one is expected is refused."""

    textual = True

    def load(self, payload: bytes, kind_spec: Mapping[str, Any]) -> Any:
        try:
            node = parse_untrusted_xml(payload, (self.encoding,))
        except UntrustedXmlError as exc:
            raise AdapterError(BODY, exc.message) from exc
        if node.tag != kind_spec["root"]:
            raise AdapterError(
                BODY, f"root element: expected <{kind_spec['root']}>, got <{node.tag}>"
            )
        return node

    def dump(self, tree: Mapping[str, Any], kind_spec: Mapping[str, Any]) -> bytes:
        root = ET.Element(kind_spec["root"])
        _to_xml(root, tree)
        body = ET.tostring(root, encoding="unicode")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode(self.encoding)

    def put(self, native: Any) -> Any:
        return text(native)

    def child(self, node: Any, name: str, path: str) -> Any:
        found = node.findall(name)
        if len(found) > 1:
            raise AdapterError(join(path, name), "element repeated")
        return found[0] if found else MISSING

    def items(self, node: Any, item: str, path: str) -> list[Any]:
        for child in node:
            if child.tag != item:
                raise AdapterError(path, f"expected <{item}> entries, got <{child.tag}>")
        return list(node)

    def scalar(self, node: Any, path: str) -> Any:
        if len(node):
            raise AdapterError(path, "expected text, got elements")
        return node.text or ""


def _to_xml(parent: ET.Element, tree: Mapping[str, Any]) -> None:
    for name, value in tree.items():
        el = ET.SubElement(parent, name)
        if isinstance(value, Items):
            for v in value:
                item = ET.SubElement(el, value.item)
                if isinstance(v, Mapping):
                    _to_xml(item, v)
                else:
                    item.text = v
        elif isinstance(value, Mapping):
            _to_xml(el, value)
        else:
            el.text = value
