"""A declarative dialect: a codec whose whole difference is a mapping file.

``MappedCodec`` interprets a mapping document (``mapping.json`` in a province package)
with these keys:

- ``region``, ``dialect``, ``content_type``;
- ``codec``: ``{"type": "json" | "xml", "encoding": "utf-8" | "gb18030" | ...,
  "envelope": <json key wrapping the payload, optional>}``;
- ``formats``: how scalars are written: ``date`` (``yyyy-MM-dd``, ``yyyyMMdd``,
  ``epoch_ms``), ``datetime`` (``yyyy-MM-dd HH:mm:ss``, ``yyyyMMddHHmmss``, ``epoch_ms``;
  Beijing time), ``money`` (``yuan``: decimal string, ``fen``: integer), ``bool`` (the
  pair written for true and false) and ``time_limit`` (``object``: value and unit fields;
  ``working_days``: one integer, the dialect has no natural-day limits);
- ``code_lists``: per canonical enum (``ENUMS`` in ``schema``), canonical value -> code;
- ``matter_codes``: canonical basic code -> local matter code;
- ``endpoints``: request kind -> URL path;
- ``kinds``: per kind, ``root`` (XML root element) and ``fields``: per canonical field,
  the dialect name (a string), or ``{"name": ..., "fields": {...}}`` for an object, or
  ``{"name": ..., "item": ..., "fields": {...}}`` for a list (``item`` names the XML
  element of each entry).

Inbound: bytes are decoded strictly in the codec's encoding, parsed, walked along the
canonical schema, converted and checked; every failure names the dialect path
(``cailiao[1].clbh``). Outbound: the canonical dict is validated, then written the same
way in reverse. Absent optional values are omitted from the dialect.

This module is the interpreter: it walks the canonical schema and composes the parts that
live apart, so each can be read on its own: ``_mapfile`` (field specs: checking, names),
``_convert`` (scalar conversions), ``_wire`` with ``_wire_json`` and ``_wire_xml`` (syntax).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.dialects._convert import Conv, build_converters
from gateway.dialects._mapfile import check_spec, dialect_path, load_document, spec_name
from gateway.dialects._wire import MISSING, Items, Wire, join
from gateway.dialects._wire_json import JsonWire
from gateway.dialects._wire_xml import XmlWire
from gateway.dialects.base import KINDS, Codec
from gateway.dialects.errors import AdapterError
from gateway.dialects.schema import SCHEMAS, ListOf, Obj, check_scalar, validate
from gateway.errors import clip

__all__ = ["MappedCodec"]


class MappedCodec(Codec):
    """A ``Codec`` defined entirely by a mapping document (see the module docstring)."""

    def __init__(self, mapping: Mapping[str, Any]):
        self.mapping = mapping
        try:
            self.region = mapping["region"]
            self.dialect = mapping["dialect"]
            self.content_type = mapping["content_type"]
            codec = mapping["codec"]
            xml = codec["type"] == "xml"
            encoding = codec["encoding"]
            envelope = codec.get("envelope")
            self._wire: Wire = XmlWire(encoding) if xml else JsonWire(encoding, envelope)
            formats = mapping["formats"]
            self._flat_time_limit = formats.get("time_limit", "object") == "working_days"
            self._kinds = mapping["kinds"]
            self._endpoints = mapping["endpoints"]
            self._codes = dict(mapping["matter_codes"])
            self._convs = build_converters(
                formats,
                mapping.get("code_lists", {}),
                Conv(str, self.local_matter_code, self.canonical_matter_code),
            )
        except (KeyError, TypeError) as exc:
            raise AdapterError("mapping", f"incomplete mapping document: {exc!r}") from exc
        self._local = {v: k for k, v in self._codes.items()}
        if len(self._local) != len(self._codes):
            raise AdapterError("mapping.matter_codes", "local matter codes are not unique")
        self.kinds = tuple(k for k in KINDS if k in self._kinds)
        for kind in self.kinds:
            check_spec(
                SCHEMAS[kind],
                self._kinds[kind],
                f"kinds.{kind}",
                flat_time_limit=self._flat_time_limit,
            )

    @classmethod
    def from_file(cls, path: str | Path) -> MappedCodec:
        return cls(load_document(path))

    def _conv(self, stype: str) -> Conv:
        return self._convs.get(stype) or Conv(str, lambda v: v, lambda v: v)

    # -- the contract --------------------------------------------------------------

    def endpoint(self, kind: str) -> str:
        return self._endpoints.get(kind) or super().endpoint(kind)

    def local_matter_code(self, canonical_code: str) -> str:
        try:
            return self._codes[canonical_code]
        except KeyError:
            raise AdapterError(
                "matter_code",
                f"no {self.region} local code for canonical matter {clip(canonical_code)}",
            ) from None

    def canonical_matter_code(self, local_code: str) -> str:
        try:
            return self._local[local_code]
        except (KeyError, TypeError):
            raise AdapterError(
                "matter_code", f"unknown {self.region} local matter code {clip(local_code)}"
            ) from None

    def from_canonical(self, kind: str, canonical: Mapping[str, Any]) -> bytes:
        spec = self._kind(kind)
        value = validate(kind, canonical)
        tree = self._encode(SCHEMAS[kind], spec, value, "")
        return self._wire.dump(tree, spec)

    def to_canonical(self, kind: str, payload: bytes) -> dict[str, Any]:
        spec = self._kind(kind)
        # (1), (2): encoding, then syntax
        node = self._wire.load(payload, spec)
        # (3): fields, then the canonical rules that span fields
        out = self._decode(SCHEMAS[kind], spec, node, "")
        try:
            return validate(kind, out)
        except AdapterError as exc:
            raise AdapterError(self._dialect_path(kind, exc.field), exc.message) from exc

    # -- walking -------------------------------------------------------------------

    def _kind(self, kind: str) -> Mapping[str, Any]:
        try:
            return self._kinds[kind]
        except KeyError:
            raise AdapterError("kind", f"{self.dialect} does not carry {clip(kind)}") from None

    def _encode(self, stype: Any, spec: Any, value: Any, path: str) -> Any:
        if isinstance(stype, Obj):
            if stype.name == "time_limit" and isinstance(spec, str):
                if value["unit"] != "working_days":
                    raise AdapterError(
                        f"{path}.unit",
                        f"{self.dialect} carries working days only, got {value['unit']}",
                    )
                return self._put(self._convs["int"], value["value"], path)
            fields = spec["fields"]
            out: dict[str, Any] = {}
            for key, sub in stype.fields.items():
                if value[key] is not None:
                    sub_t = sub.rstrip("?") if isinstance(sub, str) else sub
                    out[spec_name(fields[key])] = self._encode(
                        sub_t, fields[key], value[key], join(path, key)
                    )
            return out
        if isinstance(stype, ListOf):
            return Items(
                spec["item"],
                [self._encode(stype.item, spec, v, f"{path}[{i}]") for i, v in enumerate(value)],
            )
        return self._put(self._conv(stype), value, path)

    def _put(self, conv: Conv, value: Any, path: str) -> Any:
        try:
            native = conv.enc(value)
        except AdapterError as exc:  # no local code for a canonical matter code
            raise AdapterError(path, exc.message) from exc
        except ValueError as exc:
            raise AdapterError(path, str(exc)) from exc
        return self._wire.put(native)

    def _decode(self, stype: Any, spec: Any, node: Any, path: str) -> Any:
        if isinstance(stype, Obj):
            if stype.name == "time_limit" and isinstance(spec, str):
                return {"value": self._scalar("int", node, path), "unit": "working_days"}
            fields = spec["fields"]
            self._wire.check_object(node, path)
            out: dict[str, Any] = {}
            for key, sub in stype.fields.items():
                name = spec_name(fields[key])
                child = self._wire.child(node, name, path)
                sub_path = join(path, name)
                optional = (isinstance(sub, str) and sub.endswith("?")) or (
                    isinstance(sub, Obj) and sub.optional
                )
                if child is MISSING:
                    if not optional:
                        raise AdapterError(sub_path, "missing mandatory field")
                    out[key] = None
                    continue
                sub_t = sub.rstrip("?") if isinstance(sub, str) else sub
                out[key] = self._decode(sub_t, fields[key], child, sub_path)
            return out
        if isinstance(stype, ListOf):
            items = self._wire.items(node, spec["item"], path)
            return [self._decode(stype.item, spec, v, f"{path}[{i}]") for i, v in enumerate(items)]
        return self._scalar(stype, node, path)

    def _scalar(self, stype: str, node: Any, path: str) -> Any:
        raw = self._wire.scalar(node, path)
        try:
            value = self._conv(stype).dec(raw, self._wire.textual)
        except AdapterError as exc:  # unknown local matter code
            raise AdapterError(path, exc.message) from exc
        except (ValueError, OverflowError, OSError) as exc:  # OverflowError: epoch out of range
            raise AdapterError(path, str(exc) or f"out of range: {clip(raw)}") from exc
        return check_scalar(stype, value, path)

    def _dialect_path(self, kind: str, cpath: str) -> str:
        """Translate a canonical path (``a.b[2].c``) into this dialect's names."""
        return dialect_path(self._kinds[kind]["fields"], cpath)
