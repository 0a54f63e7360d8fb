"""No English reaches the staff in a REST API error (issue 14): every refusal a client
can provoke, every gateway refusal reason, the framework's own statuses; each in the shape
``{"error": {"code", "message", "field", "field_label"}}``, the message in Chinese. The rule is
``tests.web.english.english_sentences``; the ``code`` and ``field`` keys are exempt
(machine-readable by contract).
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from gateway.cases.chinese import partner_refusal_zh
from gateway.errors import Reason, Refusal
from gateway.web.api import refusal_response
from gateway.web.labels import HTTP_MESSAGES, field_label
from tests.web.english import (
    ID_OK,
    PASSWORD,
    case_body,
    english_sentences,
    finished,
    site,
    upload,
)
from tests.web.helpers import sign_in, wait_for

__all__ = ["finished", "site"]  # module fixtures

# -- API errors --------------------------------------------------------------------------------


def _check_error(response: httpx.Response, where: str, found: dict[str, list[str]]) -> dict:
    assert response.status_code >= 400, (where, response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, (where, body)
    error = body["error"]
    assert {"code", "message", "field"} <= set(error), (where, error)
    assert error["code"] and error["code"].isascii(), (where, error)
    assert re.search(r"[\u4e00-\u9fff]", error["message"]), (where, error)
    if error["field"]:
        assert error.get("field_label") and re.search(r"[\u4e00-\u9fff]", error["field_label"])
    bad = [
        s
        for key, value in error.items()
        if key not in ("code", "field") and isinstance(value, str)
        for s in english_sentences(value)
    ]
    if bad:
        found[where] = bad
    return error


def test_every_api_error_reads_in_chinese(site, finished):
    base, case_id = site.http_url, finished["case_id"]
    clerk = sign_in(base, "suzhou", PASSWORD)
    other = sign_in(base, "hangzhou", PASSWORD)
    zj = sign_in(base, "handler-zj", PASSWORD)
    sh = sign_in(base, "handler-sh", PASSWORD)
    auditor = sign_in(base, "auditor", PASSWORD)
    anonymous = httpx.Client(base_url=base, timeout=30)
    found: dict[str, list[str]] = {}
    up = upload(clerk, "a.pdf", b"%PDF-1.4 a")["upload_id"]
    body = case_body(clerk)
    live = clerk.post("/api/cases", json=case_body(clerk)).json()["case_id"]
    wait_for(lambda: clerk.get(f"/api/cases/{live}").json()["status"] == "accepted", 30)
    steps = f"/api/cases/{live}/transitions"
    deep = "[" * 200 + "]" * 200
    cases: dict[str, httpx.Response] = {
        # sign-in and sessions
        "anonymous": anonymous.get("/api/cases"),
        "bad token": httpx.get(base + "/api/cases", headers={"Authorization": "Bearer x"}),
        "wrong password": anonymous.post(
            "/api/auth/sign-in", json={"username": "suzhou", "password": "wrong-password"}
        ),
        "sign-in no password": anonymous.post("/api/auth/sign-in", json={"username": "a"}),
        "sign-in not json": anonymous.post(
            "/api/auth/sign-in", content=b"{", headers={"Content-Type": "application/json"}
        ),
        # framework answers
        "no such route": clerk.get("/api/no-such-thing"),
        "wrong method": clerk.delete("/api/cases"),
        # body limits
        "too deep": anonymous.post("/api/audit/verify", content=deep.encode()),
        "too large": clerk.post("/api/auth/sign-in", content=b"{" + b" " * 300_000 + b"}"),
        # reference data
        "unknown matter": clerk.get("/api/matters/999999999999"),
        "unknown matter in region": clerk.get("/api/matters/010010300100?region=XX"),
        "compare unknown region": clerk.get("/api/matters/010010300100/compare?regions=XX"),
        "compare bad date": clerk.get("/api/matters/010010300100/compare?reference_date=x"),
        "compare date past the calendar": clerk.get(
            "/api/matters/200051200100/compare?reference_date=9999-12-31"
        ),
        "compare unknown matter": clerk.get("/api/matters/999999999999/compare"),
        # uploads
        "upload empty": clerk.post("/api/uploads", params={"filename": "a.pdf"}, content=b""),
        "upload no filename": clerk.post("/api/uploads", content=b"x"),
        # submissions
        "submit empty body": clerk.post("/api/cases", json={}),
        "submit applicant not an object": clerk.post("/api/cases", json={**body, "applicant": 1}),
        "submit materials not a list": clerk.post("/api/cases", json={**body, "materials": 3}),
        "submit other city": clerk.post("/api/cases", json={**body, "receiving_city": "hangzhou"}),
        "submit unknown matter": clerk.post("/api/cases", json={**body, "matter_code": "999"}),
        "submit bad region": clerk.post("/api/cases", json={**body, "handling_region": "XX"}),
        "submit own region": clerk.post("/api/cases", json={**body, "handling_region": "JS"}),
        "submit bad mode": clerk.post("/api/cases", json={**body, "handling_mode": "邮寄"}),
        "submit no name": clerk.post(
            "/api/cases", json={**body, "applicant": {"name": " ", "id_number": ID_OK}}
        ),
        "submit bad id": clerk.post(
            "/api/cases",
            json={
                **body,
                "applicant": {
                    "name": "赵六",
                    "id_number": ID_OK[:-1] + ("1" if ID_OK[-1] != "1" else "2"),
                },
            },
        ),
        "submit short id": clerk.post(
            "/api/cases", json={**body, "applicant": {"name": "赵六", "id_number": "3301"}}
        ),
        "submit level too low": clerk.post(
            "/api/cases",
            json={
                **body,
                "matter_code": "200070300200",
                "handling_mode": "全程网办",
                "applicant": {
                    "name": "赵六",
                    "id_number": ID_OK,
                    "auth_methods": ["password", "sms_otp"],
                },
            },
        ),
        "submit bad auth method": clerk.post(
            "/api/cases",
            json={
                **body,
                "applicant": {"name": "赵六", "id_number": ID_OK, "auth_methods": ["telepathy"]},
            },
        ),
        "submit unknown material": clerk.post(
            "/api/cases", json={**body, "materials": [{"material_id": "M99", "upload_id": up}]}
        ),
        "submit material twice": clerk.post(
            "/api/cases",
            json={**body, "materials": [{"material_id": "M01", "upload_id": up}] * 2},
        ),
        "submit unknown upload": clerk.post(
            "/api/cases", json={**body, "materials": [{"material_id": "M01", "upload_id": "x"}]}
        ),
        "submit other window's upload": other.post(
            "/api/cases",
            json={
                **body,
                "handling_region": "AH",
                "materials": [{"material_id": "M01", "upload_id": up}],
            },
        ),
        "submit as handler": zj.post("/api/cases", json=body),
        # lists and reads
        "list bad status": clerk.get("/api/cases?status=bogus"),
        "list bad city": clerk.get("/api/cases?city=bogus"),
        "list bad province": clerk.get("/api/cases?province=XX"),
        "list bad overdue": clerk.get("/api/cases?overdue=maybe"),
        "no such case": clerk.get("/api/cases/no-such-case"),
        "other province's case": sh.get(f"/api/cases/{case_id}"),
        "applicant as another province's handler": sh.get(f"/api/cases/{case_id}/applicant"),
        "no such material": clerk.get(f"/api/cases/{case_id}/materials/M99"),
        "material as auditor": auditor.get(f"/api/cases/{case_id}/materials/M01"),
        "no such receipt": clerk.get("/api/receipts/no-such-exchange.json"),
        "no such audit exchange": auditor.get("/api/audit/exchanges/no-such-exchange"),
        "no such audit case": auditor.get("/api/audit/cases/no-such-case/exchanges"),
        # transitions
        "transition no body": zj.post(steps),
        "transition unknown status": zj.post(steps, json={"to": "teleported"}),
        "transition out of order": zj.post(steps, json={"to": "approved"}),
        "transition wrong actor": clerk.post(steps, json={"to": "transferred"}),
        "transition wrong province": sh.post(steps, json={"to": "transferred"}),
        "transition other window": other.post(steps, json={"to": "archived"}),
        "transition by auditor": auditor.post(steps, json={"to": "transferred"}),
        "transition after archive": clerk.post(
            f"/api/cases/{case_id}/transitions", json={"to": "archived"}
        ),
        # ratings
        "rating out of range": clerk.post(f"/api/cases/{live}/rating", json={"grade": 9}),
        "rating not a number": clerk.post(f"/api/cases/{live}/rating", json={"grade": "x"}),
        "rating unfinished": clerk.post(f"/api/cases/{live}/rating", json={"grade": 4}),
        "rating by handler": zj.post(f"/api/cases/{case_id}/rating", json={"grade": 4}),
        "rating twice": clerk.post(f"/api/cases/{case_id}/rating", json={"grade": 4}),
    }
    seen = {where: _check_error(r, where, found) for where, r in cases.items()}
    # the words the issue quoted, now in Chinese
    assert seen["wrong password"]["message"] == "登录失败：用户名或密码错误"
    level = seen["submit level too low"]
    assert level["code"] == "invalid_identity"
    assert "申请人认证等级不足：需要“高”，实际“较高”" in level["message"]
    assert seen["submit bad id"]["field_label"] == "申请人身份证号"
    assert ID_OK[:-1] not in seen["submit bad id"]["message"]
    missing = seen["sign-in no password"]
    assert (missing["field"], missing["field_label"]) == ("password", "密码")
    assert missing["message"] == "密码必须填写"
    assert seen["submit empty body"]["field"] in ("matter_code", "handling_region")
    assert seen["rating out of range"]["message"] == "评价等级不能大于 5"
    assert seen["list bad overdue"]["field_label"] == "是否超期"
    assert seen["sign-in not json"]["message"] == "请求内容不是有效的 JSON"
    assert seen["compare bad date"]["message"] == "参考受理日应为日期（YYYY-MM-DD）"
    assert seen["submit materials not a list"]["field_label"] == "材料"
    assert seen["no such route"]["code"] == "not_found"
    assert seen["wrong method"]["code"] == "method_not_allowed"
    # the throttle, last: five failures lock the account
    for _ in range(6):
        locked = anonymous.post(
            "/api/auth/sign-in", json={"username": "hangzhou", "password": "wrong-password"}
        )
    assert locked.status_code == 429
    _check_error(locked, "throttled", found)
    for client in (clerk, other, zj, sh, auditor, anonymous):
        client.close()
    assert not found, "English in API errors:\n" + json.dumps(found, ensure_ascii=False, indent=1)


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_every_gateway_refusal_reads_in_chinese(reason):
    response = refusal_response(Refusal(reason, "an english detail for the operator log"))
    error = json.loads(response.body)["error"]
    assert error["code"] == reason
    assert re.search(r"[\u4e00-\u9fff]", error["message"])
    assert english_sentences(error["message"]) == []


def test_framework_statuses_and_field_labels_read_in_chinese():
    for code, message in HTTP_MESSAGES.values():
        assert code.isascii() and english_sentences(message) == []
    assert field_label("applicant.id_number") == "申请人身份证号"
    assert field_label("materials[1].upload_id") == "第 2 项材料上传编号"
    assert field_label("something.unknown") == "请求中的某一字段"


def test_a_province_system_refusal_reads_in_chinese_on_the_timeline():
    # the delivery error the outbox records, as gateway.exchange.delivery writes it
    error = "partner refused: http 422: bad_id_number: the id number failed its check digit"
    note = partner_refusal_zh(error)
    assert note == "承办地系统拒收该办件（HTTP 422，代码 bad_id_number）"
    assert partner_refusal_zh("partner refused: http 400") == "承办地系统拒收该办件（HTTP 400）"
    assert partner_refusal_zh(None) == "承办地系统拒收该办件"
    assert english_sentences(note) == []
