"""The applicant's side over a real gateway and real province simulators: the receiving window
prints a 受理回执 carrying a verification code; the applicant looks the case up with 办件编号 +
code and no account (a wrong code is refused, repeated wrong codes are throttled), sees only
masked data, and rates the case (好差评) there once it is finished, once."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from gateway.app.compose import CaseOptions
from gateway.cases import Role
from gateway.cases.progress import CODE_ALPHABET, CODE_LENGTH
from gateway.web.seed import sample_id_number
from tests.web.helpers import (
    BusinessClock,
    accepted_case,
    sign_in,
    start_web_gateway,
)

PASSWORD = "correct-horse-battery"
ID_OK = sample_id_number("32050219900307123")
USERS = (
    ("suzhou-clerk", Role.CLERK, {"city": "suzhou"}),
    ("hangzhou-clerk", Role.CLERK, {"city": "hangzhou"}),
    ("zj-handler", Role.HANDLER, {"region": "ZJ"}),
    ("auditor", Role.AUDITOR, {}),
)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    data = tmp_path_factory.mktemp("progress")
    clock = BusinessClock("2026-11-30T10:00:00+08:00")
    gw, sims = start_web_gateway(data, CaseOptions(clock=clock))
    for user, role, where in USERS:
        gw.gateway.cases.accounts.create(user, PASSWORD, role=role, display_name=user, **where)
    clients = {u: sign_in(gw.http_url, u, PASSWORD) for u, _, _ in USERS}
    public = httpx.Client(base_url=gw.http_url, timeout=30)
    yield {"gw": gw, "data": data, "public": public, **clients}
    public.close()
    for c in clients.values():
        c.close()
    gw.stop()
    sims.stop()


def _accepted_case(env) -> dict:
    applicant = {"name": "张三丰", "id_number": ID_OK, "phone": "13812345678"}
    return accepted_case(env["suzhou-clerk"], applicant, content=b"%PDF-1.4 progress")


def _slip(env, case_id: str) -> dict:
    r = env["suzhou-clerk"].get(f"/api/cases/{case_id}/acceptance-slip")
    assert r.status_code == 200, r.text
    return r.json()


def _finish(env, case_id: str) -> None:
    for step in ("transferred", "approved", "certificate_issued"):
        r = env["zj-handler"].post(f"/api/cases/{case_id}/transitions", json={"to": step})
        assert r.status_code == 200, r.text


def test_the_acceptance_slip_carries_what_the_window_prints(env):
    case = _accepted_case(env)
    slip = _slip(env, case["case_id"])
    assert slip["number"] == case["number"] and slip["matter_name"] == case["matter_name"]
    assert slip["receiving_city_name"] == "苏州" and slip["handling_region_name"] == "浙江"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", slip["submitted_at"])  # Beijing time
    assert slip["deadline"] == case["countdown"]["deadline"]
    assert slip["materials"][0] == {"material_id": "M01", "name": "公司登记（备案）申请书"}
    assert {m["material_id"] for m in slip["materials"]} == {"M01", "M02", "M03"}  # all required
    assert slip["applicant_name"] == "张*丰" and ID_OK not in json.dumps(slip)
    code = slip["code"]
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    # derived again, not stored: the same code every time, and none in the case database
    assert _slip(env, case["case_id"])["code"] == code
    for path in env["data"].glob("cases.db*"):
        assert code.encode() not in path.read_bytes(), path.name
    # another case has another code
    assert _slip(env, _accepted_case(env)["case_id"])["code"] != code
    # only the receiving window prints it
    for user in ("hangzhou-clerk", "zj-handler", "auditor"):
        r = env[user].get(f"/api/cases/{case['case_id']}/acceptance-slip")
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", user
    assert env["public"].get(f"/api/cases/{case['case_id']}/acceptance-slip").status_code == 401


def test_progress_needs_the_right_code_and_shows_masked_data_only(env):
    case = _accepted_case(env)
    code = _slip(env, case["case_id"])["code"]
    public = env["public"]
    r = public.post("/api/progress", json={"number": case["number"], "code": code.lower()})
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["number"] == case["number"] and view["status"] == "accepted"
    assert view["applicant_name"] == "张*丰"
    assert [s["label"] for s in view["steps"]][:1] == ["已申请"]
    assert not view["can_rate"] and not view["finished"]
    text = json.dumps(view, ensure_ascii=False)
    for secret in (ID_OK, "13812345678", "suzhou-clerk", case["case_id"], "张三丰"):
        assert secret not in text
    # a wrong code and an unknown number get the same refusal, in the error shape
    wrong = code[:-1] + ("2" if code[-1] != "2" else "3")
    for body in ({"number": case["number"], "code": wrong}, {"number": "NOPE", "code": code}):
        r = public.post("/api/progress", json=body)
        assert r.status_code == 403, r.text
        assert r.json()["error"] == {
            "code": "wrong_code",
            "message": "办件编号或查询码不正确",
            "field": "code",
            "field_label": "编码",
        }


def test_wrong_codes_are_throttled_per_number(env):
    case = _accepted_case(env)
    code = _slip(env, case["case_id"])["code"]
    public = env["public"]
    wrong = code[:-1] + ("2" if code[-1] != "2" else "3")
    statuses = [
        public.post("/api/progress", json={"number": case["number"], "code": wrong}).status_code
        for _ in range(5)
    ]
    assert statuses == [403] * 5
    # locked now: even the right code is refused until the lock ends
    r = public.post("/api/progress", json={"number": case["number"], "code": code})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == "too_many_attempts"
    assert "请" in r.json()["error"]["message"]
    # another case's applicant is not locked out by it
    other = _accepted_case(env)
    r = public.post(
        "/api/progress",
        json={"number": other["number"], "code": _slip(env, other["case_id"])["code"]},
    )
    assert r.status_code == 200, r.text


def test_the_applicant_rates_after_completion_once_on_the_progress_path(env):
    case = _accepted_case(env)
    query = {"number": case["number"], "code": _slip(env, case["case_id"])["code"]}
    public = env["public"]
    # not before the case is finished
    r = public.post("/api/progress/rating", json={**query, "grade": 5})
    assert r.status_code == 409 and r.json()["error"]["code"] == "out_of_order"
    assert "办结后方可评价" in r.json()["error"]["message"]
    # not with a wrong code
    wrong = {**query, "code": "22222222" if query["code"] != "22222222" else "33333333"}
    _finish(env, case["case_id"])
    r = public.post("/api/progress/rating", json={**wrong, "grade": 1})
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_code"
    # out of range: the error shape, nothing written
    r = public.post("/api/progress/rating", json={**query, "grade": 9})
    assert r.status_code == 422 and r.json()["error"]["field"] == "grade"
    before = public.post("/api/progress", json=query).json()
    assert before["finished"] and before["can_rate"] and before["rating"] is None
    r = public.post("/api/progress/rating", json={**query, "grade": 5, "comment": "很快"})
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["rating"] == 5 and after["rating_label"] == "非常满意" and not after["can_rate"]
    assert after["steps"][-1]["label"] == "好差评"
    # the rating is a logged exchange of the window's side, named as the applicant's
    timeline = env["suzhou-clerk"].get(f"/api/cases/{case['case_id']}").json()["timeline"]
    rated = [e for e in timeline if e["transition"] == "rated"]
    assert len(rated) == 1 and rated[0]["actor"] == "申请人（办件进度查询）"
    assert rated[0]["exchange_id"] and rated[0]["sender"].startswith("JS")
    # once
    r = public.post("/api/progress/rating", json={**query, "grade": 1})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_rated"
