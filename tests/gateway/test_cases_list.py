"""The case list of a busy window and the words of a case, over a real gateway and real
province simulators: search by 办件编号, matter, masked applicant and status; paging with
``X-Total-Count``; the overdue/warning filter as the business clock moves; action buttons
(受理, 流转, 发证 or 办结 per matter); 不予受理 never shown as 按时办结; 即办 as 即办.
"""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from gateway.app.compose import CaseOptions
from gateway.app.settings import Settings
from gateway.cases import Role
from gateway.cases.wording import action_label, limit_label, outcome, state_label, time_state
from gateway.errors import ConfigError
from gateway.web.seed import sample_id_number
from gateway.workdays import default_calendar
from tests.web.helpers import BusinessClock, sign_in, start_web_gateway, wait_for

PASSWORD = "correct-horse-battery"
START = "2026-11-16T10:00:00+08:00"  # a Monday with no holiday near
HOUSING_FUND = "200070300200"  # 住房公积金提取（异地购房）: no certificate
MEDICAL = "200060100100"  # 异地就医备案: Shanghai promises 0 working days (即办)
COMPANY = "010010300100"  # 企业设立登记: a business licence
USERS = {
    "suzhou-clerk": (Role.CLERK, {"city": "suzhou"}),
    "zj-handler": (Role.HANDLER, {"region": "ZJ"}),
    "ah-handler": (Role.HANDLER, {"region": "AH"}),
    "sh-handler": (Role.HANDLER, {"region": "SH"}),
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    clock = BusinessClock(START)
    gw, sims = start_web_gateway(tmp_path_factory.mktemp("list"), CaseOptions(clock=clock))
    for user, (role, where) in USERS.items():
        gw.gateway.cases.accounts.create(user, PASSWORD, role=role, display_name=user, **where)
    clients = {u: sign_in(gw.http_url, u, PASSWORD) for u in USERS}
    yield {"clock": clock, **clients}
    for c in clients.values():
        c.close()
    gw.stop()
    sims.stop()


def submit(env, code: str, region: str, name: str, seed: str) -> dict:
    """A case with every required material of the matter in ``region`` uploaded."""
    clerk: httpx.Client = env["suzhou-clerk"]
    matter = clerk.get(f"/api/matters/{code}", params={"region": region}).json()
    refs = []
    for m in matter["materials"]:
        if not m["required"]:
            continue
        r = clerk.post(
            "/api/uploads",
            params={"filename": f"{m['material_id']}.pdf"},
            content=b"%PDF-1.4 " + json.dumps([code, region, seed, m["material_id"]]).encode(),
            headers={"Content-Type": "application/pdf"},
        )
        assert r.status_code == 201, r.text
        refs.append({"material_id": m["material_id"], "upload_id": r.json()["upload_id"]})
    body = {
        "matter_code": code,
        "handling_region": region,
        "handling_mode": matter["handling_modes"][0],
        "applicant": {"name": name, "id_number": sample_id_number(seed), "phone": "13812345678"},
        "materials": refs,
    }
    r = clerk.post("/api/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def detail(client: httpx.Client, case_id: str) -> dict:
    r = client.get(f"/api/cases/{case_id}")
    assert r.status_code == 200, r.text
    return r.json()


def accepted(env, case_id: str) -> dict:
    """The case once the (push) province's simulator has accepted it."""
    clerk = env["suzhou-clerk"]
    return wait_for(lambda: (d := detail(clerk, case_id))["status"] == "accepted" and d)


def step(client: httpx.Client, case_id: str, to: str) -> dict:
    r = client.post(f"/api/cases/{case_id}/transitions", json={"to": to, "note": "同意"})
    assert r.status_code == 200, r.text
    return r.json()


def listed(client: httpx.Client, **params) -> tuple[list[str], int]:
    r = client.get("/api/cases", params=params)
    assert r.status_code == 200, r.text
    return [c["case_id"] for c in r.json()], int(r.headers["X-Total-Count"])


@pytest.fixture(scope="module")
def cases(env):
    """Five cases: a licence (ZJ), a housing-fund withdrawal (AH), 即办 and refused (SH)."""
    company = submit(env, COMPANY, "ZJ", "李四", "33010219880512345")
    fund = submit(env, HOUSING_FUND, "AH", "王五", "34010219850101123")
    medical = submit(env, MEDICAL, "SH", "赵六", "31010219700203123")
    refused = submit(env, COMPANY, "SH", "李小龙", "31010219920304123")
    extra = submit(env, COMPANY, "ZJ", "钱七", "33010219930405123")
    for c in (company, fund, extra):
        accepted(env, c["case_id"])
    return {"company": company, "fund": fund, "medical": medical, "refused": refused,
            "extra": extra}  # fmt: skip


def test_action_buttons_are_actions_and_the_last_step_follows_the_matter(env, cases):
    sh, ah, zj = env["sh-handler"], env["ah-handler"], env["zj-handler"]
    # a submitted case: the handler may accept or refuse it
    med = detail(sh, cases["medical"]["case_id"])
    assert med["status_label"] == "待受理" and med["status_class"] == "waiting"
    assert [(n["to"], n["label"]) for n in med["next"]] == [
        ("accepted", "受理"), ("refused", "不予受理"),
    ]  # fmt: skip
    # the housing fund issues no certificate: 办结 / 已办结, never 发证 / 已发证
    fund_id = cases["fund"]["case_id"]
    assert [n["label"] for n in detail(ah, fund_id)["next"]] == ["流转"]
    step(ah, fund_id, "transferred")
    step(ah, fund_id, "approved")
    fund = detail(ah, fund_id)
    assert fund["issues_licence"] is False
    assert [(n["to"], n["label"], n["state_label"]) for n in fund["next"]] == [
        ("certificate_issued", "办结", "已办结"),
    ]  # fmt: skip
    fund = step(ah, fund_id, "certificate_issued")
    assert fund["status_label"] == "已办结" and fund["status_class"] == "done"
    assert "已发证" not in json.dumps(fund, ensure_ascii=False)
    assert [e["label"] for e in fund["timeline"]][-1] == "已办结"
    assert fund["outcome"] == {"code": "on_time", "label": "按时办结"}
    clerk_view = detail(env["suzhou-clerk"], fund_id)
    assert [(n["to"], n["label"]) for n in clerk_view["next"]] == [("archived", "归档")]
    # a business licence ends with 发证
    company_id = cases["company"]["case_id"]
    step(zj, company_id, "transferred")
    step(zj, company_id, "approved")
    company = detail(zj, company_id)
    assert company["issues_licence"] is True
    assert [(n["label"], n["state_label"]) for n in company["next"]] == [("发证", "已发证")]


def test_instant_matter_is_shown_as_instant(env, cases):
    case_id = cases["medical"]["case_id"]
    med = detail(env["suzhou-clerk"], case_id)
    assert med["instant"] is True and med["promised_label"] == "即办"
    step(env["sh-handler"], case_id, "accepted")
    med = detail(env["suzhou-clerk"], case_id)
    assert med["countdown"]["deadline"] == "2026-11-16"  # the day it was accepted
    assert (med["time_class"], med["time_label"]) == ("warning", "即办，今日办结")
    assert "0 个工作日" not in json.dumps(med, ensure_ascii=False)


def test_refused_is_never_on_time(env, cases):
    case_id = cases["refused"]["case_id"]
    step(env["sh-handler"], case_id, "refused")
    refused = detail(env["suzhou-clerk"], case_id)
    assert refused["status_label"] == "不予受理" and refused["status_class"] == "refused"
    assert refused["outcome"] == {"code": "refused", "label": "不予受理"}
    archived = step(env["suzhou-clerk"], case_id, "archived")
    assert archived["status_label"] == "已归档" and archived["status_class"] == "archived"
    assert archived["outcome"] == {"code": "refused", "label": "不予受理"}  # still not 按时办结


def test_search_by_number_matter_applicant_and_status(env, cases):
    clerk = env["suzhou-clerk"]
    everyone = {c["case_id"] for c in cases.values()}
    ids, total = listed(clerk)
    assert set(ids) == everyone and total == 5
    # 办件编号: whole or a part of it
    number = cases["fund"]["number"]
    assert listed(clerk, number=number) == ([cases["fund"]["case_id"]], 1)
    assert cases["fund"]["case_id"] in listed(clerk, number=number[-6:])[0]
    # matter: by code or by a part of its name
    companies = {cases[k]["case_id"] for k in ("company", "refused", "extra")}
    assert set(listed(clerk, matter=COMPANY)[0]) == companies
    assert listed(clerk, matter="公积金")[0] == [cases["fund"]["case_id"]]
    # applicant: the masked form is what is stored and searched (李四 and 李小龙 both 李*)
    masked = detail(clerk, cases["company"]["case_id"])["applicant"]["name"]
    assert masked.startswith("李") and "四" not in masked
    lis = {cases["company"]["case_id"], cases["refused"]["case_id"]}
    assert set(listed(clerk, applicant="李")[0]) == lis
    assert listed(clerk, applicant="李四")[1] == 0  # the full name is never stored
    # q: any of them; status; a LIKE wildcard is taken literally
    assert set(listed(clerk, q="李")[0]) == lis
    assert listed(clerk, q=number)[0] == [cases["fund"]["case_id"]]
    assert listed(clerk, q="%")[1] == 0 and listed(clerk, q="_")[1] == 0
    ids, _ = listed(clerk, status="accepted", matter=COMPANY)
    assert cases["extra"]["case_id"] in ids and cases["refused"]["case_id"] not in ids
    # a handler sees only its own province, searched the same way
    assert listed(env["zj-handler"], matter=COMPANY)[1] == 2


def test_paging_with_total(env, cases):
    clerk = env["suzhou-clerk"]
    pages = [listed(clerk, page=p, size=2) for p in (1, 2, 3, 4)]
    assert [total for _, total in pages] == [5, 5, 5, 5]
    assert [len(ids) for ids, _ in pages] == [2, 2, 1, 0]
    seen = [i for ids, _ in pages for i in ids]
    assert len(seen) == len(set(seen)) == 5
    assert seen == listed(clerk)[0]  # newest first, the same order as one page


def test_overdue_and_warning_as_the_clock_moves(env, cases):
    clerk, clock = env["suzhou-clerk"], env["clock"]
    case_id = cases["extra"]["case_id"]  # ZJ: accepted, still open
    deadline = date.fromisoformat(detail(clerk, case_id)["countdown"]["deadline"])
    cal = default_calendar()

    def at(day: date) -> tuple[str, str, set[str]]:
        clock.set(f"{day.isoformat()}T09:00:00+08:00")
        c = detail(clerk, case_id)
        due = {d for d in ("overdue", "warning", "normal") if case_id in listed(clerk, due=d)[0]}
        return c["time_class"], c["time_label"], due

    try:
        two_before = cal.add_working_days(deadline, -2)
        assert at(two_before) == ("normal", "剩余 2 个工作日", {"normal"})
        assert at(cal.add_working_days(deadline, -1)) == ("warning", "剩余 1 个工作日", {"warning"})
        assert at(deadline) == ("warning", "今日到期", {"warning"})
        late = cal.add_working_days(deadline, 1)
        assert at(late) == ("overdue", "已逾期 1 个工作日", {"overdue"})
        assert case_id in listed(clerk, overdue="true")[0]  # the earlier filter still works
        # the finished and refused cases are in none of the time filters
        for key in ("fund", "refused"):
            assert cases[key]["case_id"] not in listed(clerk, due="overdue")[0]
    finally:
        clock.set(START)


def test_bad_list_queries_are_refused_in_the_error_shape(env, cases):
    clerk = env["suzhou-clerk"]
    for params, field in (
        ({"due": "soon"}, "due"),
        ({"page": "0"}, "page"),
        ({"size": "500"}, "size"),
        ({"q": "x" * 101}, "q"),
        ({"status": "nope"}, "status"),
    ):
        r = clerk.get("/api/cases", params=params)
        assert r.status_code == 422, (params, r.text)
        error = r.json()["error"]
        assert set(error) >= {"code", "message", "field"} and error["field"] == field, error


# -- the words themselves ------------------------------------------------------------------


def test_words_tables():
    assert [action_label(t, False) for t in ("accepted", "refused", "transferred")] == [
        "受理", "不予受理", "流转",
    ]  # fmt: skip
    assert action_label("certificate_issued", True) == "发证"
    assert action_label("certificate_issued", False) == "办结"
    assert action_label("archived", False) == "归档"
    assert state_label("certificate_issued", False) == "已办结"
    assert state_label("accepted", False) == "已受理"
    assert limit_label({"value": 0, "unit": "working_days"}) == "即办"
    assert limit_label({"value": 3, "unit": "natural_days"}) == "3 个自然日"
    cd = {"working_days_left": 3, "overdue": False}
    assert time_state("accepted", cd, False, 1) == ("normal", "剩余 3 个工作日")
    assert time_state("accepted", cd, False, 3) == ("warning", "剩余 3 个工作日")
    assert time_state("archived", cd, False, 1) == ("closed", "已办结")
    late = {"working_days_left": -2, "overdue": True}
    assert time_state("transferred", late, False, 1) == ("overdue", "已逾期 2 个工作日")
    saturday = {"working_days_left": 0, "overdue": True}  # the deadline was Friday
    assert time_state("accepted", saturday, False, 1) == ("overdue", "已逾期")
    assert outcome("accepted", None, cd) is None
    assert outcome("archived", "denied", cd) == {"code": "denied", "label": "不予许可"}
    assert outcome("certificate_issued", None, late) == {"code": "late", "label": "逾期办结"}


def test_warning_threshold_is_a_setting():
    assert Settings.load(env={}).case_warning_workdays == 1
    assert Settings.load(env={"YRD_CASE_WARNING_WORKDAYS": "3"}).case_warning_workdays == 3
    with pytest.raises(ConfigError, match="case_warning_workdays"):
        Settings.load(env={"YRD_CASE_WARNING_WORKDAYS": "-1"})
