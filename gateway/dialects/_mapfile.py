"""The mapping document's field specs: loading, checking against the schema, name lookup.

A kind's ``fields`` maps each canonical field to the dialect name (a string), to
``{"name": ..., "fields": {...}}`` for an object, or to ``{"name": ..., "item": ...,
"fields": {...}}`` for a list. This shape is shared by the checks at load time, the walk in
``MappedCodec`` and the translation of canonical error paths, so it is read in one place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.dialects.errors import AdapterError
from gateway.dialects.schema import ListOf, Obj

__all__ = ["check_spec", "dialect_path", "load_document", "spec_name"]


def load_document(path: str | Path) -> Any:
    """A JSON document (mapping or sample store) read as UTF-8."""
    return json.loads(Path(path).read_text("utf-8"))


def spec_name(spec: Any) -> str:
    """The dialect name a field spec gives its field."""
    return spec if isinstance(spec, str) else spec["name"]


def check_spec(stype: Any, spec: Any, where: str, *, flat_time_limit: bool) -> None:
    """Check that ``spec`` maps every canonical field of schema type ``stype``.

    ``flat_time_limit``: the dialect writes time limits as one integer (a string spec).
    Raises ``AdapterError`` whose field is ``mapping.<where>`` of the first bad spec.
    """
    if isinstance(stype, Obj):
        if stype.name == "time_limit" and flat_time_limit and isinstance(spec, str):
            return
        fields = spec.get("fields") if isinstance(spec, Mapping) else None
        if not isinstance(fields, Mapping):
            raise AdapterError(f"mapping.{where}", "expected an object spec with fields")
        for key, sub in stype.fields.items():
            if key not in fields:
                raise AdapterError(f"mapping.{where}.{key}", "canonical field not mapped")
            check_spec(sub, fields[key], f"{where}.{key}", flat_time_limit=flat_time_limit)
    elif isinstance(stype, ListOf):
        if not isinstance(spec, Mapping) or "name" not in spec or "item" not in spec:
            raise AdapterError(f"mapping.{where}", "a list needs name and item")
        if isinstance(stype.item, Obj):
            check_spec(stype.item, spec, f"{where}[]", flat_time_limit=flat_time_limit)
    elif not isinstance(spec, str):
        raise AdapterError(f"mapping.{where}", "a scalar maps to a dialect name")


def dialect_path(fields: Any, cpath: str) -> str:
    """Translate a canonical path (``a.b[2].c``) into the dialect names of ``fields``."""
    out = []
    for part in cpath.split("."):
        key, bracket, rest = part.partition("[")
        spec = fields.get(key) if isinstance(fields, Mapping) else None
        if spec is None:
            out.append(part)
            fields = None
            continue
        out.append(spec_name(spec) + (bracket + rest if bracket else ""))
        fields = spec.get("fields") if isinstance(spec, Mapping) else None
    return ".".join(out)
