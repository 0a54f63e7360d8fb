"""一次性告知 and 补正 over a real gateway (uvicorn + gRPC on loopback) and real province
simulators: a submission missing a required material is refused naming it and writes
nothing; the handling province returns a case for 补正, the window resubmits with the
materials, and the deadline clock stands still in between -- across the 2026 National Day
holiday, for working-day and natural-day limits and for 即办 matters.
"""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from gateway.app.compose import CaseOptions
from gateway.cases import Role
from gateway.cases.deadlines import compute_deadline, resume_deadline
from gateway.matters import TimeLimit, TimeUnit, default_catalogue
from gateway.web.seed import sample_id_number
from gateway.workdays import default_calendar
from tests.web.helpers import (
    BusinessClock,
    complete_materials,
    sign_in,
    start_web_gateway,
    wait_for,
)

PASSWORD = "correct-horse-battery"
START = "2026-09-29T10:00:00+08:00"  # Tuesday; National Day holiday Oct 1-7, Oct 10 worked
ID_OK = sample_id_number("32050219900307123")
COMPANY = "010010300100"  # 企业设立登记: SH 1 / JS 2 / AH 3 working days, ZJ 3 natural days
MEDICAL = "200060100100"  # 异地就医备案: SH 即办 (0 working days)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    clock = BusinessClock(START)
    data = tmp_path_factory.mktemp("supplement")
    gw, sims = start_web_gateway(data, CaseOptions(clock=clock))
    service = gw.gateway.cases
    users = {
        "suzhou-clerk": (Role.CLERK, {"city": "suzhou"}),
        "hangzhou-clerk": (Role.CLERK, {"city": "hangzhou"}),
        "ah-handler": (Role.HANDLER, {"region": "AH"}),
        "zj-handler": (Role.HANDLER, {"region": "ZJ"}),
        "sh-handler": (Role.HANDLER, {"region": "SH"}),
    }
    for user, (role, where) in users.items():
        service.accounts.create(user, PASSWORD, role=role, display_name=user, **where)
    clients = {u: sign_in(gw.http_url, u, PASSWORD) for u in users}
    yield {"gw": gw, "sims": sims, "clock": clock, **clients}
    for c in clients.values():
        c.close()
    gw.stop()
    sims.stop()


def _at(env, iso: str) -> None:
    env["clock"].now = BusinessClock(iso).now


def _counts(env) -> tuple:
    gw = env["gw"].gateway
    counts = gw.cases.store.counts()
    rounds = gw.cases.store.count("SELECT COUNT(*) FROM supplements")
    return counts["cases"], counts["events"], counts["materials"], rounds, gw.store.exchange_count()


def _body(region: str, materials: list, code: str = COMPANY, mode: str = "异地代收代办") -> dict:
    return {
        "matter_code": code,
        "handling_region": region,
        "handling_mode": mode,
        "applicant": {"name": "王小明", "id_number": ID_OK},
        "materials": materials,
    }


def _upload(client: httpx.Client, name: str, body: bytes) -> dict:
    r = client.post("/api/uploads", params={"filename": name}, content=body,
                    headers={"Content-Type": "application/pdf"})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def _submit(env, region: str, code: str = COMPANY, mode: str = "异地代收代办") -> str:
    clerk = env["suzhou-clerk"]
    r = clerk.post("/api/cases", json=_body(region, complete_materials(clerk, code, region), code,
                                            mode))  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["case_id"]


def _accepted(env, region: str) -> dict:
    """A case the (push-mode) province's simulator accepted by itself."""
    case_id = _submit(env, region)
    clerk = env["suzhou-clerk"]
    return wait_for(
        lambda: (d := clerk.get(f"/api/cases/{case_id}").json())["status"] == "accepted" and d
    )


def _items(**uploads: dict) -> dict:
    """A supplement body: ``M02=upload`` for each material brought."""
    return {
        "materials": [{"material_id": k, "upload_id": u["upload_id"]} for k, u in uploads.items()]
    }


def _refused(r: httpx.Response, status: int, code: str, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error
    return error


# -- 一次性告知: completeness ------------------------------------------------------------------
def test_a_submission_missing_required_materials_is_refused_naming_them_and_writes_nothing(env):
    _at(env, START)
    clerk = env["suzhou-clerk"]
    m01 = _upload(clerk, "申请书.pdf", b"%PDF-1.4 only the form")
    before = _counts(env)
    # Zhejiang requires M01-M03 from the applicant for 企业开办; M05 is shared (免交)
    body = _body("ZJ", [{"material_id": "M01", "upload_id": m01["upload_id"]}])
    error = _refused(clerk.post("/api/cases", json=body), 422, "materials_incomplete", "materials")
    assert "公司章程（M02）" in error["message"] and "（M03）" in error["message"]
    assert "M01" not in error["message"] and "M05" not in error["message"]
    # the tester's case: 异地就医备案 with no materials at all
    error = _refused(
        clerk.post("/api/cases", json=_body("AH", [], MEDICAL, "全程网办")),
        422,
        "materials_incomplete",
    )
    assert "异地就医备案登记表（M01）" in error["message"]
    assert "M02" not in error["message"]  # 医保电子凭证: shareable, fetched not uploaded
    assert _counts(env) == before
    # the staged upload is still there: the window adds the rest and submits
    given = complete_materials(clerk, COMPANY, "ZJ", body["materials"])
    r = clerk.post("/api/cases", json={**body, "materials": given})
    assert r.status_code == 201, r.text
    assert {m["material_id"] for m in r.json()["materials"]} == {"M01", "M02", "M03"}


def test_shareable_required_materials_need_no_upload(env):
    """Shanghai's 公积金提取 requires M01/M02 too, but they are shared (可共享免交)."""
    clerk = env["suzhou-clerk"]
    code = "200070300200"
    variant = clerk.get(f"/api/matters/{code}", params={"region": "SH"}).json()
    shared = [m["material_id"] for m in variant["materials"] if m["required"] and m["shareable"]]
    assert shared == ["M01", "M02"]
    r = clerk.post("/api/cases", json=_body("SH", complete_materials(clerk, code, "SH"), code,
                                            variant["handling_modes"][0]))  # fmt: skip
    assert r.status_code == 201, r.text
    assert [m["material_id"] for m in r.json()["materials"]] == ["M03"]


# -- 补正 ----------------------------------------------------------------------------------
def test_supplement_round_trip_pauses_the_working_day_clock_across_national_day(env):
    _at(env, START)
    clerk, handler = env["suzhou-clerk"], env["ah-handler"]
    case = _accepted(env, "AH")  # Anhui: 3 working days from Sep 29 -> Sep 30, Oct 8, Oct 9
    case_id = case["case_id"]
    assert case["countdown"]["deadline"] == "2026-10-09"
    assert case["can_request_supplement"] is False  # the window cannot return a case
    assert all(n["to"] != "supplement_requested" for n in case["next"])
    # Wednesday Sep 30: Anhui returns it for 补正, naming what is missing (1 day used, 2 left)
    _at(env, "2026-09-30T15:00:00+08:00")
    detail = handler.get(f"/api/cases/{case_id}").json()
    assert detail["can_request_supplement"] is True
    _refused(handler.post(f"/api/cases/{case_id}/supplement-request", json={"materials": []}),
             422, "invalid", "materials")  # fmt: skip
    unknown = handler.post(f"/api/cases/{case_id}/supplement-request", json={"materials": ["M99"]})
    _refused(unknown, 422, "unknown_material", "materials[0]")
    _refused(clerk.post(f"/api/cases/{case_id}/supplement-request", json={"materials": ["M02"]}),
             403, "wrong_actor")  # fmt: skip
    _refused(handler.post(f"/api/cases/{case_id}/transitions", json={"to": "supplement_requested"}),
             422, "invalid", "to")  # fmt: skip
    r = handler.post(
        f"/api/cases/{case_id}/supplement-request",
        json={"materials": ["M02", "M04"], "note": "章程未签字，任职文件缺页"},
    )
    assert r.status_code == 200, r.text
    case = r.json()
    assert case["status"] == "supplement_requested" and case["status_label"] == "待补正"
    assert case["countdown"]["paused"] is True
    assert [i["material_id"] for i in case["supplement_open"]["items"]] == ["M02", "M04"]
    request = case["timeline"][-1]
    assert request["transition"] == "supplement_requested" and request["label"] == "退回补正"
    assert request["kind"] == "case.status" and request["sender"].startswith("AH")
    assert "公司章程（M02）" in request["note"] and "章程未签字" in request["note"]
    # the logged exchange is a canonical case.status the dialects carry: in_progress
    logged = env["gw"].gateway.store.exchange(request["exchange_id"])
    canonical = json.loads(logged.canonical)
    assert canonical["status"] == "in_progress"
    assert canonical["note"].startswith("[supplement_requested] 请补正：")
    # while paused nothing runs: not even the handler can step, and the holiday passes
    _refused(handler.post(f"/api/cases/{case_id}/transitions", json={"to": "transferred"}),
             409, "out_of_order")  # fmt: skip
    for day in ("2026-10-05T10:00:00+08:00", "2026-10-12T09:00:00+08:00"):
        _at(env, day)
        case = clerk.get(f"/api/cases/{case_id}").json()
        assert case["countdown"]["working_days_left"] == 2 and not case["countdown"]["overdue"]
        assert case["can_supplement"] is True
    # Monday Oct 12 (past the old deadline): not overdue while paused
    overdue = clerk.get("/api/cases", params={"overdue": "true"}).json()
    assert case_id not in [c["case_id"] for c in overdue]
    # the window must bring every requested material: a partial supplement writes nothing
    m02 = _upload(clerk, "章程（已签字）.pdf", b"%PDF-1.4 signed articles")
    before = _counts(env)
    error = _refused(
        clerk.post(f"/api/cases/{case_id}/supplement",
                   json={"materials": [{"material_id": "M02", "upload_id": m02["upload_id"]}]}),
        422, "materials_incomplete", "materials",
    )  # fmt: skip
    assert "（M04）" in error["message"] and "M02" not in error["message"]
    assert _counts(env) == before
    _refused(handler.post(f"/api/cases/{case_id}/supplement", json={"materials": []}),
             403, "wrong_actor")  # fmt: skip
    m04 = _upload(clerk, "任职文件.pdf", b"%PDF-1.4 appointment letters")
    r = clerk.post(
        f"/api/cases/{case_id}/supplement",
        json={
            "materials": [
                {"material_id": "M02", "upload_id": m02["upload_id"]},
                {"material_id": "M04", "upload_id": m04["upload_id"]},
            ],
            "note": "申请人已补齐",
        },
    )
    assert r.status_code == 200, r.text
    case = r.json()
    # back to 已受理, with the 2 working days left counted again from Oct 12: Oct 13, Oct 14
    assert case["status"] == "accepted" and case["countdown"]["paused"] is False
    assert case["countdown"]["deadline"] == "2026-10-14"
    assert case["countdown"]["working_days_left"] == 2
    resumed = case["timeline"][-1]
    assert resumed["transition"] == "supplemented" and resumed["label"] == "已补正"
    assert resumed["sender"].startswith("JS") and resumed["status_after"] == "accepted"
    assert m02["sm3"] in resumed["note"] and m04["sm3"] in resumed["note"]
    canonical = json.loads(env["gw"].gateway.store.exchange(resumed["exchange_id"]).canonical)
    assert canonical["status"] == "received" and canonical["note"].startswith("[supplemented]")
    (round_,) = case["supplements"]
    assert round_["requested_on"] == "2026-09-30" and round_["resumed_on"] == "2026-10-12"
    assert round_["deadline_before"] == "2026-10-09" and round_["deadline_after"] == "2026-10-14"
    # the new files replaced the old ones, and the handler can open them
    got = handler.get(f"/api/cases/{case_id}/materials/M02")
    assert got.status_code == 200 and got.content == b"%PDF-1.4 signed articles"
    # and the case goes on as usual
    r = handler.post(f"/api/cases/{case_id}/transitions", json={"to": "transferred"})
    assert r.status_code == 200, r.text
    # every step's receipt is there: submit, accept, request, supplement, transfer
    assert len(clerk.get(f"/api/cases/{case_id}/receipts").json()) == 5


def test_supplement_pauses_a_natural_day_limit(env):
    """Zhejiang counts 3 natural days; 1 used before the pause, 2 counted after it."""
    _at(env, START)
    clerk, handler = env["suzhou-clerk"], env["zj-handler"]
    case = _accepted(env, "ZJ")  # Sep 29 + 3 = Oct 2, a holiday: Oct 8
    case_id = case["case_id"]
    assert case["countdown"]["deadline"] == "2026-10-08"
    _at(env, "2026-09-30T11:00:00+08:00")
    r = handler.post(f"/api/cases/{case_id}/supplement-request", json={"materials": ["M03"]})
    assert r.status_code == 200, r.text
    _at(env, "2026-10-15T10:00:00+08:00")  # Thursday: 2 natural days -> Saturday 17: Monday 19
    up = _upload(clerk, "补正.pdf", b"%PDF-1.4 zj supplement")
    r = clerk.post(f"/api/cases/{case_id}/supplement",
                   json=_items(M03=up))  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["countdown"]["deadline"] == "2026-10-19"


def test_supplement_before_acceptance_restarts_the_provisional_deadline(env):
    """Shanghai pulls (no automatic answer): returned before 受理, the case comes back as
    submitted, its provisional deadline counted from the day the materials are complete."""
    _at(env, START)
    clerk, handler = env["suzhou-clerk"], env["sh-handler"]
    case_id = _submit(env, "SH")
    r = handler.post(f"/api/cases/{case_id}/supplement-request", json={"materials": ["M01"]})
    assert r.status_code == 200, r.text
    assert r.json()["supplement_open"]["from_status"] == "submitted"
    _at(env, "2026-10-09T10:00:00+08:00")
    up = _upload(clerk, "申请书（新）.pdf", b"%PDF-1.4 sh supplement")
    r = clerk.post(f"/api/cases/{case_id}/supplement",
                   json=_items(M01=up))  # fmt: skip
    case = r.json()
    assert case["status"] == "submitted" and case["deadline_provisional"] is True
    assert case["countdown"]["deadline"] == "2026-10-10"  # 1 working day: the make-up Saturday
    _refused(clerk.post(f"/api/cases/{case_id}/supplement", json={"materials": []}),
             409, "out_of_order")  # fmt: skip
    # 补正 never answered: the handler may refuse the case instead
    r = handler.post(f"/api/cases/{case_id}/supplement-request", json={"materials": ["M02"]})
    assert r.status_code == 200, r.text
    r = handler.post(
        f"/api/cases/{case_id}/transitions", json={"to": "refused", "note": "逾期未补正"}
    )
    assert r.status_code == 200 and r.json()["status"] == "refused"


def test_an_immediate_matter_is_due_the_day_it_is_accepted_and_the_day_it_resumes(env):
    """即办 (Shanghai 异地就医备案, 0 working days): due on the day of acceptance; returned for
    补正 that day, it is due again on the day the supplement comes in."""
    _at(env, "2026-10-09T09:30:00+08:00")
    clerk, handler = env["suzhou-clerk"], env["sh-handler"]
    case_id = _submit(env, "SH", MEDICAL, "全程网办")
    case = handler.post(f"/api/cases/{case_id}/transitions", json={"to": "accepted"}).json()
    assert case["promised_limit"] == {"value": 0, "unit": "working_days"}
    assert case["countdown"]["deadline"] == "2026-10-09"
    assert case["countdown"]["working_days_left"] == 0 and not case["countdown"]["overdue"]
    r = handler.post(f"/api/cases/{case_id}/supplement-request", json={"materials": ["M01"]})
    assert r.status_code == 200, r.text
    _at(env, "2026-10-13T14:00:00+08:00")
    assert not clerk.get(f"/api/cases/{case_id}").json()["countdown"]["overdue"]
    up = _upload(clerk, "备案登记表.pdf", b"%PDF-1.4 medical form")
    r = clerk.post(f"/api/cases/{case_id}/supplement",
                   json=_items(M01=up))  # fmt: skip
    assert r.json()["countdown"]["deadline"] == "2026-10-13"
    _at(env, "2026-10-14T09:00:00+08:00")
    assert clerk.get(f"/api/cases/{case_id}").json()["countdown"]["overdue"] is True


# -- the deadline rules, province by province -------------------------------------------------
def test_each_provinces_limit_across_national_day():
    """Accepted on Wednesday Sep 30: working-day limits skip Oct 1-7 and count the make-up
    Saturday Oct 10; Zhejiang's natural-day limit ends in the holiday and moves to Oct 8."""
    catalogue, calendar = default_catalogue(), default_calendar()
    accepted = date(2026, 9, 30)
    expected = {"SH": "2026-10-08", "JS": "2026-10-09", "ZJ": "2026-10-08", "AH": "2026-10-10"}
    units = {"SH": "working_days", "JS": "working_days", "ZJ": "natural_days", "AH": "working_days"}
    for region, day in expected.items():
        limit = catalogue.get(COMPANY, region).promised_time_limit
        assert limit.unit.value == units[region], region
        assert compute_deadline(accepted, limit, calendar).day.isoformat() == day, region
    # 即办 in Shanghai: the day itself; Zhejiang's 1 natural day from Sep 30: Oct 8
    assert compute_deadline(accepted, catalogue.get(MEDICAL, "SH").promised_time_limit,
                            calendar).day == accepted  # fmt: skip
    assert compute_deadline(accepted, catalogue.get(MEDICAL, "ZJ").promised_time_limit,
                            calendar).day == date(2026, 10, 8)  # fmt: skip


def test_resume_deadline_counts_only_the_spans_the_clock_ran():
    calendar = default_calendar()
    five = TimeLimit(5, TimeUnit.WORKING_DAYS)
    accepted = date(2026, 9, 28)  # Monday; 5 working days: Sep 29, 30, Oct 8, 9, 10
    deadline = compute_deadline(accepted, five, calendar).day
    assert deadline == date(2026, 10, 10)
    # round 1: paused Sep 29 (1 used), resumed Oct 9: 4 left -> Oct 10, 12, 13, 14
    first = resume_deadline(deadline, [(accepted, date(2026, 9, 29))], date(2026, 10, 9), five,
                            calendar).day  # fmt: skip
    assert first == date(2026, 10, 14)
    # round 2: paused Oct 12 (Oct 10 and 12 used: 3 in all), resumed Fri Oct 16: Oct 19, 20
    spans = [(accepted, date(2026, 9, 29)), (date(2026, 10, 9), date(2026, 10, 12))]
    resumed = resume_deadline(first, spans, date(2026, 10, 16), five, calendar)
    assert resumed.day == date(2026, 10, 20)
    # paused after the deadline had passed: it stays (the pause forgives nothing)
    late = [(accepted, date(2026, 10, 12))]
    assert resume_deadline(deadline, late, date(2026, 10, 20), five, calendar).day == deadline
    # natural days: 4 of 7 used, 3 counted from Friday Oct 16 -> Monday Oct 19
    seven = TimeLimit(7, TimeUnit.NATURAL_DAYS)
    spans = [(date(2026, 9, 22), date(2026, 9, 26))]
    assert resume_deadline(date(2026, 9, 29), spans, date(2026, 10, 16), seven, calendar).day == (
        date(2026, 10, 19)
    )
