"""Example payloads of the partner kit: one fixed canonical value per kind, in every dialect.

The examples are written by the dialects' own codecs (so they are what the gateway sends
and accepts), and Zhejiang's XML examples are annotated with each element's canonical
field, type and format, read from the same mapping data as the JSON Schemas. Used by
``gen_partner_kit.py`` and by ``tests/gateway/test_partner_kit.py``. SAMPLE DATA only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from defusedxml.ElementTree import fromstring as defused_fromstring

import adapters.anhui
import adapters.jiangsu
import adapters.zhejiang
from gateway.dialects import Codec, canonical_dialect
from gateway.dialects.schema import ListOf, Obj
from gateway.dialects.simulator import certificate_response
from gateway.matters.catalogue import default_catalogue
from ledger.crypto import sm3

ROOT = Path(__file__).resolve().parents[1]
MATTER = "010027100000"  # 工业产品生产许可证核发: mapped by every province
SAMPLE_FILES = (
    ROOT / "gateway" / "dialects" / "data" / "sh_samples.json",
    ROOT / "adapters" / "jiangsu" / "samples.json",
    ROOT / "adapters" / "zhejiang" / "samples.json",
    ROOT / "adapters" / "anhui" / "samples.json",
)

_REQUEST = {
    "request_id": "EVR-2026-000042",
    "certificate_type": "industrial_product_licence",
    "subject_uscc": "91330400MA1YRD0012",
    "subject_person_key": None,
    "purpose": "工业产品生产许可证核发（示例）",
    "requester": "苏州市市场监督管理局（示例）",
}


@cache
def codecs() -> dict[str, Codec]:
    """The codecs by dialect name, as the gateway loads them."""
    found = [
        canonical_dialect().codec,
        adapters.jiangsu.create_adapter().codec,
        adapters.zhejiang.create_adapter().codec,
        adapters.anhui.create_adapter().codec,
    ]
    return {codec.dialect: codec for codec in found}


def _certificates() -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for path in SAMPLE_FILES:
        store = json.loads(path.read_text("utf-8"))
        out.extend({**cert, "region": store["region"]} for cert in store["certificates"])
    return out


def canonical_example(kind: str, region: str) -> dict[str, Any]:
    """The fixed canonical value of ``kind`` (``matter``: ``region``'s catalogue variant)."""
    if kind == "matter.lookup":
        return {"matter_code": MATTER}
    if kind == "matter":
        record = default_catalogue().get(MATTER, region).to_dict()
        record["fees"] = [{"item": "证书工本费（示例）", "amount_fen": 1050, "basis": "示例依据"}]
        record["valid_to"] = "2027-12-31"
        return record
    if kind == "case.submit":
        return {
            "case_id": "CASE-2026-000123",
            "matter_code": MATTER,
            "applicant": {"person_key": "pk:js:sample-person-0001", "masked_name": "王*明"},
            "handling_mode": "全程网办",
            "materials": [
                {"material_id": "M01", "name": "申请书", "digest_sm3": sm3(b"M01").hex()},
                {"material_id": "M02", "name": "营业执照", "digest_sm3": sm3(b"M02").hex()},
            ],
            "receiving_city": "苏州市",
            "submitted_at": "2026-11-28T09:30:00+08:00",
        }
    if kind == "case.status":
        return {
            "case_id": "CASE-2026-000123",
            "status": "accepted",
            "time": "2026-11-28T09:31:05+08:00",
            "note": "受理编号 ZJ-SIM-000001",
        }
    if kind == "evidence.request":
        return dict(_REQUEST)
    if kind == "evidence.response":
        cert = next(c for c in _certificates() if c["certificate_number"] == "ZJXK06-014-00001")
        return certificate_response(_REQUEST, cert)
    if kind == "error":
        return {"code": "no_matter", "message": "no matter 010027100000", "field": "matter_code"}
    raise KeyError(kind)


def example_payload(dialect: str, kind: str) -> bytes:
    """The example of ``kind`` as ``dialect``'s wire bytes."""
    codec = codecs()[dialect]
    return codec.from_canonical(kind, canonical_example(kind, codec.region))


def sample_payloads(dialect: str) -> Iterator[tuple[str, str, bytes]]:
    """(label, kind, bytes) for every sample certificate of every region's samples.json:
    the evidence.request naming its subject and the simulator's evidence.response."""
    codec = codecs()[dialect]
    for cert in _certificates():
        subject = "subject_uscc" if cert.get("subject_uscc") else "subject_person_key"
        request = {
            **_REQUEST,
            "certificate_type": cert["certificate_type"],
            "subject_uscc": None,
            "subject_person_key": None,
            subject: cert[subject],
        }
        label = cert["certificate_number"]
        yield label, "evidence.request", codec.from_canonical("evidence.request", request)
        response = certificate_response(request, cert)
        response["licence"] = sample_licence(cert)
        yield label, "evidence.response", codec.from_canonical("evidence.response", response)


def sample_licence(cert: Mapping[str, Any]) -> str:
    """The signed e-licence (base64) the holder region's simulator sends with ``cert``: the
    region's TEST licence key, a deterministic signature (docs/licences.md)."""
    import base64

    from partner_kit_vectors import test_key  # a sibling script, on sys.path like this one

    from gateway.licences.issuing import SampleIssuer
    from gateway.registry import DEV_LICENCE_AUTHORITIES, Region
    from ledger.crypto import N

    region = cert["region"]
    key = test_key(f"licence-{region}")
    issuer = SampleIssuer(key, region, DEV_LICENCE_AUTHORITIES[Region(region)])
    k = int.from_bytes(
        sm3(b"yrd partner kit licence k " + cert["certificate_number"].encode()), "big"
    )
    return base64.b64encode(issuer.licence_for(cert, vector_k=k % (N - 1) + 1)).decode()


# -- Zhejiang's annotated XML ----------------------------------------------------------------


def annotate_xml(payload: bytes, stype: Obj, spec: Mapping[str, Any], dialect: Any) -> bytes:
    """``payload`` (an XML example) rewritten with one comment per element: the canonical
    field, whether it is required, its type and format. Absent optional elements are
    documented in a comment where they would be."""
    root = defused_fromstring(payload)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<!-- {dialect.name}: annotated example, {dialect.content_type}. GENERATED by",
        "     scripts/gen_partner_kit.py from adapters/zhejiang/mapping.json: do not edit.",
        "     Every element is shown; comments give the canonical field, whether it is",
        "     required, and the type or format. Elements are text only, no attributes.",
        "     UTF-8 only; no DOCTYPE, entity declarations or external references;",
        "     elements nested at most 64 deep; a field element may not repeat. -->",
    ]
    lines.append(f"<{root.tag}>")
    _annotate(root, stype, spec, dialect, 1, lines)
    lines.append(f"</{root.tag}>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _annotate(node: Any, stype: Obj, spec: Any, dialect: Any, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    for key, sub in stype.fields.items():
        sub_spec = spec["fields"][key]
        name = sub_spec if isinstance(sub_spec, str) else sub_spec["name"]
        optional = (isinstance(sub, str) and sub.endswith("?")) or (
            isinstance(sub, Obj) and sub.optional
        )
        sub_t = sub.rstrip("?") if isinstance(sub, str) else sub
        need = "optional" if optional else "required"
        child = node.find(name)
        if child is None:
            out.append(
                f"{pad}<!-- <{name}> {key}: {need}, {_what(sub_t, dialect)}; absent here -->"
            )
            continue
        if isinstance(sub_t, Obj) and not isinstance(sub_spec, str):
            out.append(f"{pad}<{name}><!-- {key}: {need} object -->")
            _annotate(child, sub_t, sub_spec, dialect, depth + 1, out)
            out.append(f"{pad}</{name}>")
        elif isinstance(sub_t, ListOf):
            item = sub_spec["item"]
            out.append(f"{pad}<{name}><!-- {key}: {need} list of <{item}>, may be empty -->")
            for entry in child:
                if isinstance(sub_t.item, Obj):
                    out.append(f"{pad}  <{item}>")
                    _annotate(entry, sub_t.item, sub_spec, dialect, depth + 2, out)
                    out.append(f"{pad}  </{item}>")
                else:
                    what = _what(sub_t.item, dialect)
                    out.append(f"{pad}  <{item}>{escape(entry.text or '')}</{item}><!-- {what} -->")
            out.append(f"{pad}</{name}>")
        else:
            text = escape(child.text or "")
            out.append(
                f"{pad}<{name}>{text}</{name}><!-- {key}: {need}, {_what(sub_t, dialect)} -->"
            )


def _what(stype: Any, dialect: Any) -> str:
    if isinstance(stype, Obj):
        if stype.name == "time_limit":
            return "object (value, unit)"
        return "object"
    if isinstance(stype, ListOf):
        return "list"
    schema = dialect.scalar(stype)
    kind = schema.get("type", "code")
    if stype == "matter_code":
        return "text: local matter code, one of mapping.json matter_codes"
    text = f"{'text' if kind in ('string', 'code') else kind}: {schema.get('description', stype)}"
    return text.replace("--", "-")


SCHEMA_README = (Path(__file__).parent / "partner_kit_schemas.md").read_text("utf-8")
