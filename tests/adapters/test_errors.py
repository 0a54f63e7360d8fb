"""Invalid dialect input gets an AdapterError naming the field at fault."""

from __future__ import annotations

import json

import pytest

from gateway.dialects import AdapterError
from gateway.matters import default_catalogue

from .conftest import CODECS

JS, ZJ, AH, SH = CODECS["JS"], CODECS["ZJ"], CODECS["AH"], CODECS["SH"]
PERSON = "pk:js:0123456789abcdef"
CASE = {
    "case_id": "C-1",
    "matter_code": "010010300100",
    "applicant": {"person_key": PERSON, "masked_name": "王*明"},
    "handling_mode": "异地代收代办",
    "materials": [{"material_id": "M01", "name": "申请书", "digest_sm3": "ab" * 32}],
    "receiving_city": "苏州",
    "submitted_at": "2025-09-26T10:15:00+08:00",
}


def fails(codec, kind: str, payload: bytes, field: str, needle: str) -> None:
    with pytest.raises(AdapterError) as info:
        codec.to_canonical(kind, payload)
    assert info.value.field == field, info.value
    assert needle in info.value.message, info.value


def js_case(**changes) -> bytes:
    d = json.loads(JS.from_canonical("case.submit", CASE))
    d.update(changes)
    return json.dumps(d, ensure_ascii=False).encode()


def test_jiangsu_errors() -> None:
    fails(JS, "case.submit", b'{"caseNo":', "<body>", "malformed json")
    fails(JS, "case.submit", b"[1]", "<body>", "expected a json object")
    gb = JS.from_canonical("case.submit", CASE).decode("utf-8").encode("gb18030")
    fails(JS, "case.submit", gb, "<body>", "not valid utf-8")
    fails(JS, "matter.lookup", b"{}", "matterCode", "missing mandatory field")
    fails(JS, "matter.lookup", b'{"matterCode":"JS-320000-9999"}', "matterCode", "unknown JS")
    fails(JS, "matter.lookup", b'{"matterCode":"ZJSX000001"}', "matterCode", "unknown JS")
    fails(JS, "case.submit", js_case(submitTime="2025/09/26 10:15"), "submitTime", "expected")
    fails(JS, "case.submit", js_case(handleMode="QCWB"), "handleMode", "unknown handling mode")
    fails(
        JS,
        "case.submit",
        js_case(applicant={"personKey": "310101199001011234", "maskedName": "王*明"}),
        "applicant.personKey",
        "raw resident id",
    )
    bad = js_case()
    d = json.loads(bad)
    d["attachments"][0]["sm3Digest"] = "XYZ"
    fails(JS, "case.submit", json.dumps(d).encode(), "attachments[0].sm3Digest", "hex")
    matter = json.loads(
        JS.from_canonical("matter", default_catalogue().get("200070300200", "JS").to_dict())
    )
    matter["charges"] = [{"chargeItem": "x", "amountYuan": 5, "chargeBasis": "y"}]
    fails(JS, "matter", json.dumps(matter).encode(), "charges[0].amountYuan", "expected string")
    matter["charges"][0]["amountYuan"] = "5.123"
    fails(JS, "matter", json.dumps(matter).encode(), "charges[0].amountYuan", "decimal string")


def test_jiangsu_outbound_errors_name_the_canonical_field() -> None:
    with pytest.raises(AdapterError) as info:
        JS.from_canonical("matter.lookup", {"matter_code": "999999999999"})
    assert info.value.field == "matter_code"
    with pytest.raises(AdapterError) as info:
        JS.from_canonical("case.status", {"case_id": "C", "status": "lost", "time": "x"})
    assert info.value.field == "status"
    with pytest.raises(AdapterError) as info:
        JS.from_canonical("evidence.request", {
            "request_id": "R", "certificate_type": "business_licence",
            "subject_uscc": "91320500MA1YRD0013", "subject_person_key": PERSON,
            "purpose": "p", "requester": "r",
        })  # fmt: skip
    assert info.value.field == "subject_uscc"
    with pytest.raises(AdapterError, match="does not carry"):
        JS.to_canonical("nonsense", b"{}")


def zj_matter() -> str:
    record = default_catalogue().get("010010300100", "ZJ").to_dict()
    return ZJ.from_canonical("matter", record).decode("utf-8")


def test_zhejiang_errors() -> None:
    fails(ZJ, "matter.lookup", b"<sxcx><sxbm>", "<body>", "malformed xml")
    fails(ZJ, "matter.lookup", b"<sxxx><sxbm>ZJSX000001</sxbm></sxxx>", "<body>", "root")
    fails(ZJ, "matter.lookup", b"<sxcx/>", "sxbm", "missing mandatory field")
    fails(ZJ, "matter.lookup", b"<sxcx><sxbm>ZJSX999999</sxbm></sxcx>", "sxbm", "unknown ZJ")
    fails(ZJ, "matter.lookup", "<sxcx><sxbm>Ã</sxbm></sxcx>".encode("latin-1"), "<body>",
          "not valid utf-8")  # fmt: skip
    doctype = b'<!DOCTYPE x [<!ENTITY a "b">]><sxcx><sxbm>&a;</sxbm></sxcx>'
    fails(ZJ, "matter.lookup", doctype, "<body>", "document type")
    text = zj_matter()
    fails(ZJ, "matter", text.replace("<dw>ZRR</dw>", "<dw>XYZ</dw>").encode(), "cnsx.dw",
          "unknown time unit code")  # fmt: skip
    fails(ZJ, "matter", text.replace("<sxrq>20250101</sxrq>", "<sxrq>2025-01-01</sxrq>").encode(),
          "sxrq", "expected")  # fmt: skip
    fails(ZJ, "matter", text.replace("<sfbx>1</sfbx>", "<sfbx>2</sfbx>", 1).encode(),
          "sqcl[0].sfbx", "unknown boolean")  # fmt: skip
    fails(ZJ, "matter", text.replace("<ts>3</ts>", "<ts>three</ts>", 1).encode(),
          "fdsx.ts", "expected integer")  # fmt: skip
    fails(ZJ, "matter", text.replace("<sxmc>企业开办（设立登记）</sxmc>", "").encode(),
          "sxmc", "missing mandatory field")  # fmt: skip
    fails(ZJ, "matter", text.replace("<sxmc>", "<sxmc></sxmc><sxmc>").encode(),
          "sxmc", "repeated")  # fmt: skip


def ah(d: dict) -> bytes:
    return json.dumps({"shu_ju": d}, ensure_ascii=False).encode("gb18030")


def test_anhui_errors() -> None:
    fails(AH, "matter.lookup", b"\xff\xfe\x00", "<body>", "not valid gb18030")
    fails(AH, "matter.lookup", b'{"shi_xiang_bian_ma":"340000000001"}', "shu_ju", "missing")
    fails(AH, "matter.lookup", ah({"shi_xiang_bian_ma": 340000000001}), "shi_xiang_bian_ma",
          "expected string")  # fmt: skip
    status = json.loads(AH.from_canonical("case.status", {
        "case_id": "C-1", "status": "accepted", "time": "2025-09-26T10:15:00+08:00", "note": None,
    }).decode("gb18030"))["shu_ju"]  # fmt: skip
    assert status["zhuang_tai"] == 1 and status["shi_jian"] == 1758852900000
    fails(AH, "case.status", ah(status | {"zhuang_tai": 7}), "zhuang_tai", "unknown case status")
    fails(AH, "case.status", ah(status | {"zhuang_tai": "1"}), "zhuang_tai", "unknown case")
    fails(AH, "case.status", ah(status | {"shi_jian": "2025-09-26"}), "shi_jian",
          "expected integer")  # fmt: skip
    record = default_catalogue().get("070010400100", "AH").to_dict()
    matter = json.loads(AH.from_canonical("matter", record).decode("gb18030"))["shu_ju"]
    assert matter["shou_fei"][0]["jin_e_fen"] == 800
    assert matter["shi_xiang_lei_xing"] == 7
    fails(AH, "matter", ah(matter | {"shi_xiang_lei_xing": 99}), "shi_xiang_lei_xing",
          "unknown matter type code")  # fmt: skip
    matter["cai_liao"][0]["xing_shi"] = 9
    fails(AH, "matter", ah(matter), "cai_liao[0].xing_shi", "unknown material form code")


def test_canonical_codec_errors() -> None:
    fails(SH, "matter.lookup", b"{", "<body>", "malformed json")
    fails(SH, "matter.lookup", b"{}", "matter_code", "missing mandatory field")
    fails(SH, "matter.lookup", "{}".encode("utf-16"), "<body>", "not valid utf-8")
    with pytest.raises(AdapterError) as info:
        SH.canonical_matter_code("JS-320000-0001")
    assert info.value.field == "matter_code"
    assert SH.local_matter_code("010010300100") == "YWTB-SH-0001"


def test_dialects_are_genuinely_different() -> None:
    record = default_catalogue().get("070010400100", "JS").to_dict()
    js = json.loads(JS.from_canonical("matter", record))
    assert js["charges"][0]["amountYuan"] == "5.00" and js["effectiveDate"] == "2025-01-01"
    assert js["promiseLimitWorkdays"] == 5
    zj = ZJ.from_canonical("matter", default_catalogue().get("070010400100", "ZJ").to_dict())
    assert b"<sxrq>20250101</sxrq>" in zj and b"<cnsx><ts>7</ts><dw>ZRR</dw></cnsx>" in zj
    assert AH.content_type.endswith("charset=gb18030")
