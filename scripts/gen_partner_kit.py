#!/usr/bin/env python3
"""Regenerate the partner kit (payload schemas, examples, conformance vectors), or check it.

Usage::

    python scripts/gen_partner_kit.py           # (re)write docs/schemas and docs/conformance
    python scripts/gen_partner_kit.py --check   # exit 1, listing stale files, if they differ

A partner team integrates from ``protos/`` and ``docs/`` alone, so the schemas must say
exactly what the codecs accept. They are derived, never written by hand: the canonical
schema (``gateway.dialects.schema.SCHEMAS``) gives the fields and scalar types, and each
province's ``adapters/*/mapping.json`` gives the names, the formats and the code lists
(the same data ``MappedCodec`` interprets). JSON dialects get a JSON Schema (draft
2020-12) per kind; Zhejiang's XML gets an annotated example per kind. Every kind also
gets an example payload: the exact wire bytes the codec writes for a fixed canonical
value (Anhui's in GB18030).

The conformance vectors (``scripts/partner_kit_vectors.py``) are built from fixed TEST
keys with a fixed SM2 nonce k, so the whole output is a pure function of the sources.
Everything under ``docs/schemas`` and ``docs/conformance`` belongs to this script.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import partner_kit_examples as examples  # noqa: E402
import partner_kit_vectors as vectors  # noqa: E402

from gateway.dialects.base import KINDS  # noqa: E402
from gateway.dialects.schema import ENUMS, SCHEMAS, ListOf, Obj  # noqa: E402

SCHEMA_DIR = ROOT / "docs" / "schemas"
CONFORMANCE_DIR = ROOT / "docs" / "conformance"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

# the canonical scalar types as JSON Schema (see gateway/dialects/schema.py)
_TEXT = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"
_STRING_TYPES: dict[str, dict[str, Any]] = {
    "str": {"pattern": _TEXT, "description": "non-empty, no control characters"},
    "date": {"pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "description": "yyyy-mm-dd"},
    "datetime": {
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\+08:00$",
        "description": "Beijing time, seconds: yyyy-mm-ddThh:mm:ss+08:00",
    },
    "matter_code": {
        "pattern": "^[0-9]{12}$",
        "description": "canonical basic matter code, 12 digits (GB/T 39554.1)",
    },
    "basic_code": {"pattern": "^[0-9]{12}$", "description": "12-digit basic matter code"},
    "uscc": {
        "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
        "description": "unified social credit code (GB 32100); the check character is verified",
    },
    "digest": {"pattern": "^[0-9a-f]{64}$", "description": "SM3, 64 lowercase hex digits"},
    "base64": {"pattern": "^[A-Za-z0-9+/]*={0,2}$", "description": "standard base64"},
    "person_key": {
        "pattern": "^[A-Za-z0-9:_-]{16,128}$",
        "description": "pseudonymous person key; a raw resident ID number is refused",
    },
    "masked_name": {
        "pattern": "\\*",
        "description": "masked name, must contain '*'; never an ID number",
    },
}
_DATE_FORMATS = {
    "yyyy-MM-dd": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "yyyyMMdd": "^[0-9]{8}$",
    "yyyy-MM-dd HH:mm:ss": "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$",
    "yyyyMMddHHmmss": "^[0-9]{14}$",
}
_YUAN = "^(0|[1-9][0-9]*)(\\.[0-9]{1,2})?$"


class Dialect:
    """What the schema generator needs of one dialect: names, formats, code lists."""

    def __init__(self, mapping: Mapping[str, Any] | None) -> None:
        self.mapping = mapping
        if mapping is None:  # the canonical dialect: the schema's own names
            self.name, self.content_type = "yrd-canonical/1", "application/json; charset=utf-8"
            self.wire, self.encoding, self.envelope = "json", "utf-8", None
            self.formats: Mapping[str, Any] = {}
            self.code_lists: Mapping[str, Any] = {}
            return
        self.name, self.content_type = mapping["dialect"], mapping["content_type"]
        codec = mapping["codec"]
        self.wire, self.encoding = codec["type"], codec["encoding"]
        self.envelope = codec.get("envelope")
        self.formats, self.code_lists = mapping["formats"], mapping.get("code_lists", {})

    @property
    def directory(self) -> str:
        return self.name.replace("/", "-")

    def kind_spec(self, kind: str) -> Mapping[str, Any] | None:
        if self.mapping is None:
            return None
        return self.mapping["kinds"][kind]

    def scalar(self, stype: str) -> dict[str, Any]:
        """The JSON Schema of one scalar as this dialect writes it."""
        if self.mapping is None:
            return _canonical_scalar(stype)
        fmt = self.formats
        if stype in ("date", "datetime"):
            if fmt[stype] == "epoch_ms":
                return {"type": "integer", "description": "epoch milliseconds, Beijing dates"}
            return {
                "type": "string",
                "pattern": _DATE_FORMATS[fmt[stype]],
                "description": fmt[stype],
            }
        if stype == "money":
            if fmt["money"] == "fen":
                return {"type": "integer", "minimum": 0, "description": "integer fen"}
            return {"type": "string", "pattern": _YUAN, "description": "yuan, e.g. '12.50'"}
        if stype == "bool":
            true, false = fmt.get("bool", [True, False])
            return {"enum": [true, false], "description": f"{true!r} true, {false!r} false"}
        if stype == "matter_code":
            return {
                "type": "string",
                "enum": sorted(self.mapping["matter_codes"].values()),
                "description": "this province's local matter code (mapping.json matter_codes)",
            }
        if stype.startswith("enum:") and stype[5:] in self.code_lists:
            table = self.code_lists[stype[5:]]
            return {
                "enum": list(table.values()),
                "description": "code list: " + ", ".join(f"{k}={v}" for k, v in table.items()),
            }
        return _canonical_scalar(stype)

    def schema(self, kind: str) -> dict[str, Any]:
        """The JSON Schema of ``kind``'s payload in this dialect."""
        body = self._node(SCHEMAS[kind], self.kind_spec(kind))
        if self.envelope:
            body = _object({self.envelope: body}, [self.envelope])
        notes = f"Payload of kind {kind} in dialect {self.name} ({self.content_type})."
        if self.encoding != "utf-8":
            notes += f" The bytes are {self.encoding.upper()}: decode them before validating."
        notes += " Unknown members are ignored by the gateway and never sent by it."
        return {
            "$schema": DRAFT,
            "$id": f"https://yrd-gateway.example/schemas/{self.directory}/{kind}.schema.json",
            "title": f"{kind} ({self.name})",
            "description": notes + " GENERATED by scripts/gen_partner_kit.py: do not edit.",
            **body,
        }

    def _node(self, stype: Any, spec: Any) -> dict[str, Any]:
        if isinstance(stype, Obj):
            if stype.name == "time_limit" and isinstance(spec, str):
                return {"type": "integer", "minimum": 0, "description": "working days"}
            properties: dict[str, Any] = {}
            required = []
            for key, sub in stype.fields.items():
                sub_spec = spec["fields"][key] if spec is not None else None
                name = key if sub_spec is None else _name(sub_spec)
                optional = (isinstance(sub, str) and sub.endswith("?")) or (
                    isinstance(sub, Obj) and sub.optional
                )
                sub_t = sub.rstrip("?") if isinstance(sub, str) else sub
                node = self._node(sub_t, sub_spec)
                if optional:
                    node = {"anyOf": [node, {"type": "null"}], "description": "optional"}
                else:
                    required.append(name)
                properties[name] = node
            return _object(properties, required)
        if isinstance(stype, ListOf):
            return {"type": "array", "items": self._node(stype.item, spec)}
        return self.scalar(stype)


def _name(spec: Any) -> str:
    return spec if isinstance(spec, str) else spec["name"]


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _canonical_scalar(stype: str) -> dict[str, Any]:
    if stype in ("int", "money"):
        unit = "integer fen" if stype == "money" else "integer >= 0"
        return {"type": "integer", "minimum": 0, "description": unit}
    if stype == "depth":
        return {"type": "integer", "minimum": 1, "maximum": 4, "description": "online depth"}
    if stype == "bool":
        return {"type": "boolean"}
    if stype.startswith("enum:"):
        return {"type": "string", "enum": list(ENUMS[stype[5:]])}
    return {"type": "string", "minLength": 1, **_STRING_TYPES.get(stype, _STRING_TYPES["str"])}


def dialects() -> list[Dialect]:
    """The canonical dialect first, then the provinces in directory order."""
    out = [Dialect(None)]
    for path in sorted((ROOT / "adapters").glob("*/mapping.json")):
        out.append(Dialect(json.loads(path.read_text("utf-8"))))
    return out


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def build() -> dict[Path, bytes]:
    """Every file of the kit, by path: a pure function of the sources."""
    files: dict[Path, bytes] = {}
    for dialect in dialects():
        where = SCHEMA_DIR / dialect.directory
        for kind in KINDS:
            payload = examples.example_payload(dialect.name, kind)
            if dialect.wire == "json":
                files[where / f"{kind}.schema.json"] = _json(dialect.schema(kind))
                files[where / f"{kind}.example.json"] = payload
            else:
                spec = dialect.kind_spec(kind)
                assert spec is not None
                files[where / f"{kind}.example.xml"] = payload
                files[where / f"{kind}.annotated.xml"] = examples.annotate_xml(
                    payload, SCHEMAS[kind], spec, dialect
                )
    files[SCHEMA_DIR / "README.md"] = examples.SCHEMA_README.encode()
    files.update({CONFORMANCE_DIR / name: data for name, data in vectors.build().items()})
    return files


def _owned(directory: Path) -> set[Path]:
    return {p for p in directory.rglob("*") if p.is_file()} if directory.exists() else set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    files = build()
    stale = sorted(
        {p for p, data in files.items() if not p.exists() or p.read_bytes() != data}
        | (_owned(SCHEMA_DIR) | _owned(CONFORMANCE_DIR)) - set(files)
    )
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)}")
        return 1 if stale else 0
    for path in stale:
        if path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(files[path])
        else:
            path.unlink()
    print(f"{len(files)} files, {len(stale)} written or removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
