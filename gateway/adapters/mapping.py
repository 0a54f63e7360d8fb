"""A declarative dialect: an adapter whose whole difference is a mapping file.

``MappedAdapter`` interprets a mapping document (``mapping.json`` in a province package)
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
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .base import KINDS, Adapter
from .errors import AdapterError
from .schema import ENUMS, SCHEMAS, ListOf, Obj, check_scalar, validate

__all__ = ["MappedAdapter"]

BEIJING = timezone(timedelta(hours=8))
_PATTERNS = {
    "yyyy-MM-dd": "%Y-%m-%d",
    "yyyyMMdd": "%Y%m%d",
    "yyyy-MM-dd HH:mm:ss": "%Y-%m-%d %H:%M:%S",
    "yyyyMMddHHmmss": "%Y%m%d%H%M%S",
}
_YUAN = re.compile(r"^(0|[1-9]\d*)(\.\d{1,2})?$")
_INT_TEXT = re.compile(r"^(0|-?[1-9]\d*)$")
_MISSING = object()
BODY = "<body>"


class _Items(list):
    """A list in the dialect tree, remembering the XML element name of its entries."""

    def __init__(self, item: str, values: list[Any]) -> None:
        super().__init__(values)
        self.item = item


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _native(raw: Any, native: type, textual: bool) -> Any:
    """Bring a raw dialect scalar to the expected native type (raises ValueError)."""
    if textual:
        if native is int:
            if not _INT_TEXT.match(raw):
                raise ValueError(f"expected integer, got {raw!r}")
            return int(raw)
        if native is bool:
            if raw not in ("true", "false"):
                raise ValueError(f"expected true or false, got {raw!r}")
            return raw == "true"
        return raw
    if native is int and (not isinstance(raw, int) or isinstance(raw, bool)):
        raise ValueError(f"expected integer, got {raw!r}")
    if native is bool and not isinstance(raw, bool):
        raise ValueError(f"expected boolean, got {raw!r}")
    if native is str and not isinstance(raw, str):
        raise ValueError(f"expected string, got {raw!r}")
    return raw


class _Conv:
    """One scalar conversion: ``enc`` canonical -> dialect, ``dec`` dialect -> canonical."""

    def __init__(self, native: type | None, enc: Callable, dec: Callable) -> None:
        self.native, self.enc, self._dec = native, enc, dec

    def dec(self, raw: Any, textual: bool) -> Any:
        if self.native is None:  # code lists: the converter compares raw values itself
            return self._dec(raw, textual)
        return self._dec(_native(raw, self.native, textual))


def _code_list(name: str, table: Mapping[str, Any], what: str) -> _Conv:
    reverse = {(type(v), v): k for k, v in table.items()}
    reverse_text = {_text(v): k for k, v in table.items()}

    def enc(v: str) -> Any:
        try:
            return table[v]
        except KeyError:
            raise ValueError(f"no {what} for {v!r} in this dialect") from None

    def dec(raw: Any, textual: bool) -> str:
        found = reverse_text.get(raw) if textual else reverse.get((type(raw), raw))
        if found is None:
            raise ValueError(f"unknown {what} {raw!r}")
        return found

    return _Conv(None, enc, dec)


def _date_conv(fmt: str) -> _Conv:
    if fmt == "epoch_ms":
        return _Conv(
            int,
            lambda v: int(datetime.combine(date.fromisoformat(v), datetime.min.time(), BEIJING)
                          .timestamp()) * 1000,
            lambda ms: datetime.fromtimestamp(ms / 1000, BEIJING).date().isoformat(),
        )  # fmt: skip
    pattern = _PATTERNS[fmt]

    def dec(raw: str) -> str:
        try:
            d = datetime.strptime(raw, pattern).date()
        except ValueError:
            d = None
        if d is None or d.strftime(pattern) != raw:
            raise ValueError(f"expected {fmt}, got {raw!r}")
        return d.isoformat()

    return _Conv(str, lambda v: date.fromisoformat(v).strftime(pattern), dec)


def _datetime_conv(fmt: str) -> _Conv:
    if fmt == "epoch_ms":
        return _Conv(
            int,
            lambda v: int(datetime.fromisoformat(v).timestamp()) * 1000,
            lambda ms: datetime.fromtimestamp(ms // 1000, BEIJING).isoformat(),
        )
    pattern = _PATTERNS[fmt]

    def dec(raw: str) -> str:
        try:
            dt = datetime.strptime(raw, pattern).replace(tzinfo=BEIJING)
        except ValueError:
            dt = None
        if dt is None or dt.strftime(pattern) != raw:
            raise ValueError(f"expected {fmt}, got {raw!r}")
        return dt.isoformat()

    return _Conv(
        str, lambda v: datetime.fromisoformat(v).astimezone(BEIJING).strftime(pattern), dec
    )


def _money_conv(fmt: str) -> _Conv:
    if fmt == "fen":
        return _Conv(int, lambda v: v, lambda v: v)

    def dec(raw: str) -> int:
        if not _YUAN.match(raw):
            raise ValueError(f"expected yuan as a decimal string like '12.50', got {raw!r}")
        whole, _, frac = raw.partition(".")
        return int(whole) * 100 + int((frac + "00")[:2])

    return _Conv(str, lambda v: f"{v // 100}.{v % 100:02d}", dec)


class MappedAdapter(Adapter):
    """An ``Adapter`` defined entirely by a mapping document (see the module docstring).

    ``samples`` is the simulator's sample store: ``{"certificates": [...]}`` (sample data).
    """

    def __init__(self, mapping: Mapping[str, Any], *, samples: Mapping[str, Any] | None = None):
        self.mapping = mapping
        self.samples = samples or {"certificates": []}
        try:
            self.region = mapping["region"]
            self.dialect = mapping["dialect"]
            self.content_type = mapping["content_type"]
            codec = mapping["codec"]
            self._xml = codec["type"] == "xml"
            self._encoding = codec["encoding"]
            self._envelope = codec.get("envelope")
            formats = mapping["formats"]
            self._flat_time_limit = formats.get("time_limit", "object") == "working_days"
            self._kinds = mapping["kinds"]
            self._endpoints = mapping["endpoints"]
            self._codes = dict(mapping["matter_codes"])
            self._convs = self._build_converters(formats, mapping.get("code_lists", {}))
        except (KeyError, TypeError) as exc:
            raise AdapterError("mapping", f"incomplete mapping document: {exc!r}") from exc
        self._local = {v: k for k, v in self._codes.items()}
        if len(self._local) != len(self._codes):
            raise AdapterError("mapping.matter_codes", "local matter codes are not unique")
        self.kinds = tuple(k for k in KINDS if k in self._kinds)
        for kind in self.kinds:
            self._check_spec(SCHEMAS[kind], self._kinds[kind], f"kinds.{kind}")

    @classmethod
    def from_file(cls, path: str | Path, samples: str | Path | None = None) -> MappedAdapter:
        mapping = json.loads(Path(path).read_text("utf-8"))
        store = json.loads(Path(samples).read_text("utf-8")) if samples else None
        return cls(mapping, samples=store)

    # -- setup ---------------------------------------------------------------------

    def _build_converters(self, formats: Mapping[str, Any], code_lists: Mapping) -> dict:
        true, false = formats.get("bool", [True, False])
        convs: dict[str, _Conv] = {
            "int": _Conv(int, lambda v: v, lambda v: v),
            "depth": _Conv(int, lambda v: v, lambda v: v),
            "date": _date_conv(formats["date"]),
            "datetime": _datetime_conv(formats["datetime"]),
            "money": _money_conv(formats["money"]),
            "bool": _code_list("bool", {True: true, False: false}, "boolean"),
            "matter_code": _Conv(str, self.local_matter_code, self.canonical_matter_code),
        }
        for name, values in ENUMS.items():
            table = code_lists.get(name)
            if table is None:
                continue
            missing = [v for v in values if v not in table]
            if missing or len({_text(c) for c in table.values()}) != len(table):
                raise AdapterError(
                    f"mapping.code_lists.{name}", f"incomplete or ambiguous; missing {missing}"
                )
            convs[f"enum:{name}"] = _code_list(name, table, f"{name.replace('_', ' ')} code")
        return convs

    def _conv(self, stype: str) -> _Conv:
        return self._convs.get(stype) or _Conv(str, lambda v: v, lambda v: v)

    def _check_spec(self, stype: Any, spec: Any, where: str) -> None:
        if isinstance(stype, Obj):
            if stype.name == "time_limit" and self._flat_time_limit and isinstance(spec, str):
                return
            fields = spec.get("fields") if isinstance(spec, Mapping) else None
            if not isinstance(fields, Mapping):
                raise AdapterError(f"mapping.{where}", "expected an object spec with fields")
            for key, sub in stype.fields.items():
                if key not in fields:
                    raise AdapterError(f"mapping.{where}.{key}", "canonical field not mapped")
                self._check_spec(sub, fields[key], f"{where}.{key}")
        elif isinstance(stype, ListOf):
            if not isinstance(spec, Mapping) or "name" not in spec or "item" not in spec:
                raise AdapterError(f"mapping.{where}", "a list needs name and item")
            if isinstance(stype.item, Obj):
                self._check_spec(stype.item, spec, f"{where}[]")
        elif not isinstance(spec, str):
            raise AdapterError(f"mapping.{where}", "a scalar maps to a dialect name")

    # -- the contract --------------------------------------------------------------

    def endpoint(self, kind: str) -> str:
        return self._endpoints.get(kind) or super().endpoint(kind)

    def local_matter_code(self, canonical_code: str) -> str:
        try:
            return self._codes[canonical_code]
        except KeyError:
            raise AdapterError(
                "matter_code",
                f"no {self.region} local code for canonical matter {canonical_code!r}",
            ) from None

    def canonical_matter_code(self, local_code: str) -> str:
        try:
            return self._local[local_code]
        except (KeyError, TypeError):
            raise AdapterError(
                "matter_code", f"unknown {self.region} local matter code {local_code!r}"
            ) from None

    def from_canonical(self, kind: str, canonical: Mapping[str, Any]) -> bytes:
        spec = self._kind(kind)
        value = validate(kind, canonical)
        tree = self._encode(SCHEMAS[kind], spec, value, "")
        if self._xml:
            root = ET.Element(spec["root"])
            self._to_xml(root, tree)
            body = ET.tostring(root, encoding="unicode")
            return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode(self._encoding)
        if self._envelope:
            tree = {self._envelope: tree}
        return json.dumps(tree, ensure_ascii=False, separators=(",", ":")).encode(self._encoding)

    def to_canonical(self, kind: str, payload: bytes) -> dict[str, Any]:
        spec = self._kind(kind)
        # (1): encoding
        try:
            text = bytes(payload).decode(self._encoding)
        except UnicodeDecodeError as exc:
            raise AdapterError(
                BODY, f"not valid {self._encoding}: byte 0x{payload[exc.start]:02x} at {exc.start}"
            ) from exc
        # (2): syntax
        if self._xml:
            if "<!DOCTYPE" in text or "<!ENTITY" in text:
                raise AdapterError(BODY, "xml with a document type declaration is refused")
            try:
                node = ET.fromstring(payload)  # noqa: S314 - see the DOCTYPE check above
            except ET.ParseError as exc:
                raise AdapterError(BODY, f"malformed xml: {exc}") from exc
            if node.tag != spec["root"]:
                raise AdapterError(
                    BODY, f"root element: expected <{spec['root']}>, got <{node.tag}>"
                )
        else:
            try:
                node = json.loads(text)
            except json.JSONDecodeError as exc:
                raise AdapterError(BODY, f"malformed json: {exc}") from exc
            if not isinstance(node, dict):
                raise AdapterError(BODY, f"expected a json object, got {type(node).__name__}")
            if self._envelope:
                if not isinstance(node.get(self._envelope), dict):
                    raise AdapterError(self._envelope, "missing mandatory field")
                node = node[self._envelope]
        # (3): fields, then the canonical rules that span fields
        out = self._decode(SCHEMAS[kind], spec, node, "")
        try:
            return validate(kind, out)
        except AdapterError as exc:
            raise AdapterError(self._dialect_path(kind, exc.field), exc.message) from exc

    def simulator(self):
        from .simulator import build_simulator

        return build_simulator(self, certificates=self.samples.get("certificates", []))

    # -- walking -------------------------------------------------------------------

    def _kind(self, kind: str) -> Mapping[str, Any]:
        try:
            return self._kinds[kind]
        except KeyError:
            raise AdapterError("kind", f"{self.dialect} does not carry {kind!r}") from None

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
            out = {}
            for key, sub in stype.fields.items():
                if value[key] is not None:
                    sub_t = sub.rstrip("?") if isinstance(sub, str) else sub
                    out[_name(fields[key])] = self._encode(
                        sub_t, fields[key], value[key], _join(path, key)
                    )
            return out
        if isinstance(stype, ListOf):
            return _Items(
                spec["item"],
                [self._encode(stype.item, spec, v, f"{path}[{i}]") for i, v in enumerate(value)],
            )
        return self._put(self._conv(stype), value, path)

    def _put(self, conv: _Conv, value: Any, path: str) -> Any:
        try:
            native = conv.enc(value)
        except AdapterError as exc:  # no local code for a canonical matter code
            raise AdapterError(path, exc.message) from exc
        except ValueError as exc:
            raise AdapterError(path, str(exc)) from exc
        return _text(native) if self._xml else native

    def _decode(self, stype: Any, spec: Any, node: Any, path: str) -> Any:
        if isinstance(stype, Obj):
            if stype.name == "time_limit" and isinstance(spec, str):
                return {"value": self._scalar("int", node, path), "unit": "working_days"}
            fields = spec["fields"]
            if not self._xml and not isinstance(node, dict):
                raise AdapterError(path or BODY, f"expected object, got {type(node).__name__}")
            out = {}
            for key, sub in stype.fields.items():
                name = _name(fields[key])
                child = self._child(node, name, path)
                sub_path = _join(path, name)
                optional = (isinstance(sub, str) and sub.endswith("?")) or (
                    isinstance(sub, Obj) and sub.optional
                )
                if child is _MISSING:
                    if not optional:
                        raise AdapterError(sub_path, "missing mandatory field")
                    out[key] = None
                    continue
                sub_t = sub.rstrip("?") if isinstance(sub, str) else sub
                out[key] = self._decode(sub_t, fields[key], child, sub_path)
            return out
        if isinstance(stype, ListOf):
            items = self._items(node, spec["item"], path)
            return [self._decode(stype.item, spec, v, f"{path}[{i}]") for i, v in enumerate(items)]
        return self._scalar(stype, node, path)

    def _scalar(self, stype: str, node: Any, path: str) -> Any:
        if self._xml:
            if len(node):
                raise AdapterError(path, "expected text, got elements")
            raw: Any = node.text or ""
        else:
            raw = node
            if isinstance(raw, dict | list) or raw is None:
                raise AdapterError(path, f"expected a scalar, got {type(raw).__name__}")
        try:
            value = self._conv(stype).dec(raw, self._xml)
        except AdapterError as exc:  # unknown local matter code
            raise AdapterError(path, exc.message) from exc
        except (ValueError, OverflowError, OSError) as exc:  # OverflowError: epoch out of range
            raise AdapterError(path, str(exc) or f"out of range: {raw!r}") from exc
        return check_scalar(stype, value, path)

    def _child(self, node: Any, name: str, path: str) -> Any:
        if self._xml:
            found = node.findall(name)
            if len(found) > 1:
                raise AdapterError(_join(path, name), "element repeated")
            return found[0] if found else _MISSING
        value = node.get(name, _MISSING)
        return _MISSING if value is None else value

    def _items(self, node: Any, item: str, path: str) -> list[Any]:
        if self._xml:
            for child in node:
                if child.tag != item:
                    raise AdapterError(path, f"expected <{item}> entries, got <{child.tag}>")
            return list(node)
        if not isinstance(node, list):
            raise AdapterError(path, f"expected list, got {type(node).__name__}")
        return node

    def _to_xml(self, parent: ET.Element, tree: Mapping[str, Any]) -> None:
        for name, value in tree.items():
            el = ET.SubElement(parent, name)
            if isinstance(value, _Items):
                for v in value:
                    item = ET.SubElement(el, value.item)
                    if isinstance(v, Mapping):
                        self._to_xml(item, v)
                    else:
                        item.text = v
            elif isinstance(value, Mapping):
                self._to_xml(el, value)
            else:
                el.text = value

    def _dialect_path(self, kind: str, cpath: str) -> str:
        """Translate a canonical path (``a.b[2].c``) into this dialect's names."""
        fields: Any = self._kinds[kind]["fields"]
        out = []
        for part in cpath.split("."):
            key, bracket, rest = part.partition("[")
            spec = fields.get(key) if isinstance(fields, Mapping) else None
            if spec is None:
                out.append(part)
                fields = None
                continue
            out.append(_name(spec) + (bracket + rest if bracket else ""))
            fields = spec.get("fields") if isinstance(spec, Mapping) else None
        return ".".join(out)


def _name(spec: Any) -> str:
    return spec if isinstance(spec, str) else spec["name"]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
