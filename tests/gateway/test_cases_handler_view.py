"""The handler's view over a real gateway and real province simulators: the handling
province's approver opens the applicant's details and the materials it decides on, each
opening is recorded (who, when, which item -- never the content) and shown in the timeline,
and every other role keeps the masked forms."""

from __future__ import annotations

import json
import logging

import pytest

from gateway.app.compose import CaseOptions
from gateway.cases import Role
from gateway.storage.sql import connect
from gateway.web.seed import sample_id_number
from tests.web.helpers import (
    BusinessClock,
    accepted_case,
    sign_in,
    start_web_gateway,
)

PASSWORD = "correct-horse-battery"
ID_OK = sample_id_number("32050219900307123")
CONTENT = b"%PDF-1.4 company registration application for the handler"
USERS = (
    ("suzhou-clerk", Role.CLERK, {"city": "suzhou"}),
    ("hangzhou-clerk", Role.CLERK, {"city": "hangzhou"}),
    ("zj-handler", Role.HANDLER, {"region": "ZJ"}),
    ("sh-handler", Role.HANDLER, {"region": "SH"}),
    ("auditor", Role.AUDITOR, {}),
)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    data = tmp_path_factory.mktemp("handler-view")
    clock = BusinessClock("2026-11-30T10:00:00+08:00")
    gw, sims = start_web_gateway(data, CaseOptions(clock=clock))
    for user, role, where in USERS:
        gw.gateway.cases.accounts.create(user, PASSWORD, role=role, display_name=user, **where)
    clients = {u: sign_in(gw.http_url, u, PASSWORD) for u, _, _ in USERS}
    yield {"gw": gw, "data": data, **clients}
    for c in clients.values():
        c.close()
    gw.stop()
    sims.stop()


@pytest.fixture(scope="module")
def case(env):
    applicant = {"name": "张三丰", "id_number": ID_OK, "phone": "13812345678"}
    return accepted_case(env["suzhou-clerk"], applicant, content=CONTENT)


def _accesses(env, case_id: str) -> list[dict]:
    timeline = env["zj-handler"].get(f"/api/cases/{case_id}").json()["timeline"]
    return [e for e in timeline if e["transition"] == "accessed"]


def test_the_handler_sees_the_applicant_and_the_materials_and_each_opening_is_recorded(
    env, case, caplog
):
    handler, case_id = env["zj-handler"], case["case_id"]
    assert _accesses(env, case_id) == []
    # the case itself stays masked for the handler too
    detail = handler.get(f"/api/cases/{case_id}").json()
    assert detail["applicant"]["name"] == "张*丰" and ID_OK not in json.dumps(detail)
    with caplog.at_level(logging.DEBUG):
        r = handler.get(f"/api/cases/{case_id}/applicant")
        assert r.status_code == 200, r.text
        assert r.json()["identity"]["subject"]["document_number"] == ID_OK
        assert r.json()["phone"] == "13812345678"
        r = handler.get(f"/api/cases/{case_id}/materials/M01")
        assert r.status_code == 200 and r.content == CONTENT
    # no personal data reached the process log
    for secret in (ID_OK, "张三丰", "13812345678"):
        assert secret not in caplog.text
    accesses = _accesses(env, case_id)
    assert [(a["detail"]["item"], a["note"]) for a in accesses] == [
        ("applicant", "查阅申请人信息"),
        ("material:M01", "查阅材料 M01（公司登记（备案）申请书）"),
    ]
    for a in accesses:
        assert a["actor"] == "浙江承办 zj-handler" and a["detail"]["username"] == "zj-handler"
        assert a["at"].endswith("+08:00") and a["system"] and a["exchange_id"] is None
    # the record names the item, never its content
    db = connect(env["gw"].settings.database or env["data"] / "cases.db")
    found = db.execute("SELECT * FROM accesses WHERE case_id = ?", (case_id,)).fetchall()
    rows = [[v for v in row if not isinstance(v, int | float)] for row in found]  # not rowid
    db.close()
    assert len(rows) == 2
    stored = json.dumps(rows, ensure_ascii=False)
    assert ID_OK not in stored and "张三丰" not in stored and CONTENT.decode() not in stored
    # the receiving window's own openings are recorded as well, and shown to both sides
    env["suzhou-clerk"].get(f"/api/cases/{case_id}/applicant").raise_for_status()
    seen = env["suzhou-clerk"].get(f"/api/cases/{case_id}").json()["timeline"]
    actors = [e["actor"] for e in seen if e["transition"] == "accessed"]
    assert actors[-1] == "苏州窗口 suzhou-clerk"


def test_other_roles_keep_the_masking_and_their_refusals_record_nothing(env, case):
    case_id = case["case_id"]
    before = len(_accesses(env, case_id))
    for user in ("sh-handler", "hangzhou-clerk", "auditor"):
        client = env[user]
        r = client.get(f"/api/cases/{case_id}/applicant")
        assert r.status_code == 403, (user, r.text)
        assert r.json()["error"]["code"] in ("forbidden", "wrong_region")
        assert ID_OK not in r.text
        r = client.get(f"/api/cases/{case_id}/materials/M01")
        assert r.status_code == 403, (user, r.text)
        assert CONTENT not in r.content
    assert len(_accesses(env, case_id)) == before
    # a material the case does not have: 404, and no record
    r = env["zj-handler"].get(f"/api/cases/{case_id}/materials/M09")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert len(_accesses(env, case_id)) == before
