"""The calendar never guesses silently, over a real gateway (uvicorn + gRPC on loopback) and
real province simulators.

On Wednesday 30 December 2026 a Suzhou window submits two cases; Anhui (3 working days) and
Zhejiang (3 natural days) accept them the same day, so both limits run into 2027, whose
holiday notice is not loaded. Both deadlines are provisional in the API, the list, the page
and the alarm gauge. A malformed ``calendar.json`` is refused and the calendar in use kept;
a good one (a 2027 file shaped like a notice: New Year 1-3 January) is picked up without a
restart, recomputes both deadlines across that holiday, records a system event on each
timeline and clears every marker.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import pytest

from gateway.app.compose import CaseOptions
from gateway.cases import Role
from gateway.web.seed import sample_id_number
from tests.web.helpers import (
    BusinessClock,
    complete_materials,
    sign_in,
    start_web_gateway,
    wait_for,
)

PASSWORD = "correct-horse-battery"
START = "2026-12-30T10:00:00+08:00"  # a Wednesday; the 2027 notice is not loaded
ID_OK = sample_id_number("32050219900307123")
CHROMIUM = Path("/usr/bin/chromium")
MARKER = "暂定：2027 年节假日安排未载入"
CALENDAR_2027 = {  # test data shaped like a notice (not the State Council's 2027 notice)
    "format": "yrd-workday-calendar/1",
    "title": "test: 2027 New Year holiday only",
    "years": {"2027": {"holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"}]}},
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    clock = BusinessClock(START)
    data = tmp_path_factory.mktemp("calendar")
    gw, sims = start_web_gateway(data, CaseOptions(clock=clock))
    service = gw.gateway.cases
    service.accounts.create(
        "suzhou-clerk", PASSWORD, role=Role.CLERK, display_name="窗口", city="suzhou"
    )
    clerk = sign_in(gw.http_url, "suzhou-clerk", PASSWORD)
    cases = {region: _submit_accepted(clerk, region) for region in ("AH", "ZJ")}
    yield {"gw": gw, "clerk": clerk, "data": data, "service": service, "cases": cases}
    clerk.close()
    gw.stop()
    sims.stop()


def _submit_accepted(clerk: httpx.Client, region: str) -> str:
    body = {
        "matter_code": "010010300100",  # 企业设立登记: AH 3 working days, ZJ 3 natural days
        "handling_region": region,
        "handling_mode": "异地代收代办",
        "applicant": {"name": "张三丰", "id_number": ID_OK},
        "materials": complete_materials(clerk, "010010300100", region),
    }
    r = clerk.post("/api/cases", json=body)
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    wait_for(lambda: clerk.get(f"/api/cases/{case_id}").json()["status"] == "accepted")
    return case_id


def _case(env, region: str) -> dict:
    return env["clerk"].get(f"/api/cases/{env['cases'][region]}").json()


def _settled(env, region: str) -> dict:
    """The case once its deadline is no longer provisional (the watcher runs every second)."""
    return wait_for(
        lambda: (c := _case(env, region))["countdown"]["calendar_provisional"] is False and c
    )


def _gauge(env) -> float:
    text = httpx.get(env["gw"].http_url + "/metrics", timeout=30).text
    match = re.search(r"^yrd_calendar_provisional_deadlines ([0-9.e+]+)$", text, re.M)
    assert match, "the gauge is not exported"
    return float(match.group(1))


def _write(path: Path, document: dict | str) -> None:
    """Write as an operator should: a temporary file renamed over the old one."""
    text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


def test_deadline_through_2027_is_provisional_in_api_list_and_gauge(env):
    ah, zj = _case(env, "AH"), _case(env, "ZJ")
    # weekends only: Thu 31 Dec, Fri 1 Jan (a guess), Mon 4 Jan
    assert ah["accepted_on"] == "2026-12-30"
    assert ah["countdown"]["deadline"] == "2027-01-04"
    assert ah["countdown"]["calendar_provisional"] is True
    assert ah["countdown"]["calendar_missing_years"] == [2027]
    # 3 natural days end on Saturday 2 Jan: moved to Monday 4 Jan, on weekends only
    assert zj["countdown"]["deadline"] == "2027-01-04"
    assert zj["countdown"]["calendar_provisional"] is True
    listed = {c["case_id"]: c for c in env["clerk"].get("/api/cases").json()}
    assert all(listed[env["cases"][r]]["countdown"]["calendar_provisional"] for r in ("AH", "ZJ"))
    assert _gauge(env) == 2


def test_a_deadline_inside_known_years_is_not_provisional():
    from datetime import date

    from gateway.cases.deadlines import compute_deadline
    from gateway.matters import TimeLimit
    from gateway.workdays import default_calendar

    three = TimeLimit.from_dict({"value": 3, "unit": "working_days"})
    inside = compute_deadline(date(2026, 12, 25), three, default_calendar())
    assert inside.day == date(2026, 12, 30) and not inside.provisional
    across = compute_deadline(date(2026, 12, 30), three, default_calendar())
    assert across.missing_years == (2027,) and across.stored_years() == "2027"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium")
def test_the_case_page_and_list_show_the_marker(env):
    with _page(env) as page:
        from playwright.sync_api import expect

        page.goto(f"{env['gw'].http_url}/web/case.html?id={env['cases']['AH']}")
        expect(page.locator("#deadline")).to_have_text("2027-01-04", timeout=20_000)
        expect(page.locator("#calendar-provisional")).to_contain_text(MARKER)
        page.goto(f"{env['gw'].http_url}/web/cases.html")
        row = page.locator(f"tr[data-case='{env['cases']['ZJ']}']")
        expect(row).to_contain_text(MARKER, timeout=20_000)


def test_a_malformed_calendar_file_is_refused_and_the_calendar_kept(env):
    service = env["service"]
    bad = {
        **CALENDAR_2027,
        "years": {
            "2027": {
                **CALENDAR_2027["years"]["2027"],
                "makeup_workdays": [{"name": "元旦", "date": "2027-01-08"}],  # a Friday
            }
        },
    }
    _write(env["data"] / "calendar.json", bad)
    error = wait_for(lambda: service.calendar_file.error)
    assert "years.2027.makeup_workdays[0]" in error and "not a weekend day" in error
    assert 2027 not in service.calendar.years and 2026 in service.calendar.years
    _write(env["data"] / "calendar.json", '{"format": "yrd-workday-calendar/1", "years": {')
    wait_for(lambda: "not valid json" in (service.calendar_file.error or ""))
    ah = _case(env, "AH")
    assert ah["countdown"]["deadline"] == "2027-01-04"
    assert ah["countdown"]["calendar_provisional"] is True
    assert _gauge(env) == 2


def test_loading_2027_recomputes_deadlines_without_a_restart(env):
    _write(env["data"] / "calendar.json", CALENDAR_2027)
    ah = _settled(env, "AH")
    # with New Year on 1-3 January: Thu 31 Dec, Mon 4 Jan, Tue 5 Jan
    assert ah["countdown"]["deadline"] == "2027-01-05"
    assert ah["countdown"]["calendar_missing_years"] == []
    event = ah["timeline"][-1]
    assert event["system"] is True and event["transition"] == "deadline_recomputed"
    assert event["exchange_id"] is None and event["actor"] == "系统（节假日安排）"
    assert [e["system"] for e in ah["timeline"]] == [False, False, True]
    assert event["detail"] == {
        "deadline_before": "2027-01-04",
        "deadline_after": "2027-01-05",
        "missing_years_before": [2027],
        "missing_years_after": [],
    }
    assert "2027-01-05" in event["note"]
    # Saturday 2 Jan is now a holiday and Sunday 3 Jan too: Monday 4 Jan stands, for certain
    zj = _settled(env, "ZJ")
    assert zj["countdown"]["deadline"] == "2027-01-04"
    assert zj["timeline"][-1]["transition"] == "deadline_recomputed"
    assert env["service"].calendar_file.error is None
    assert _gauge(env) == 0
    # the recomputation is durable, and the exchanges' own timeline is unchanged
    assert [e["transition"] for e in ah["timeline"]] == [
        "submitted",
        "accepted",
        "deadline_recomputed",
    ]
    row = env["service"].store.case(env["cases"]["AH"])
    assert row["deadline"] == "2027-01-05" and row["deadline_missing_years"] is None
    # a case submitted now is counted with the loaded year from the start
    fresh = env["clerk"].get(f"/api/cases/{_submit_accepted(env['clerk'], 'AH')}").json()
    assert fresh["countdown"]["deadline"] == "2027-01-05"
    assert fresh["countdown"]["calendar_provisional"] is False
    assert [e["transition"] for e in fresh["timeline"]] == ["submitted", "accepted"]
    assert _gauge(env) == 0


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium")
def test_the_page_shows_the_recomputed_deadline_without_the_marker(env):
    with _page(env) as page:
        from playwright.sync_api import expect

        page.goto(f"{env['gw'].http_url}/web/case.html?id={env['cases']['AH']}")
        expect(page.locator("#deadline")).to_have_text("2027-01-05", timeout=20_000)
        expect(page.locator("#calendar-provisional")).to_have_count(0)
        expect(page.locator("li[data-transition=deadline_recomputed]")).to_contain_text(
            "办结时限重新计算"
        )


class _page:
    """A signed-in Chromium page of the Suzhou clerk (the token the API handed out)."""

    def __init__(self, env) -> None:
        self._env = env

    def __enter__(self):
        sync_api = pytest.importorskip("playwright.sync_api")
        self._pw = sync_api.sync_playwright().start()
        self._browser = self._pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = self._browser.new_page(locale="zh-CN")
        base = self._env["gw"].http_url
        page.goto(base + "/web/")
        page.fill("#username", "suzhou-clerk")
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_url(re.compile(r"/web/cases\.html"))
        return page

    def __exit__(self, *exc) -> None:
        self._browser.close()
        self._pw.stop()


def test_making_a_provisional_deadline_is_logged_without_personal_data(caplog):
    from datetime import datetime

    from gateway.cases.lifecycle import step_sets
    from gateway.cases.model import Status
    from gateway.workdays import default_calendar

    case = {
        "case_id": "c-2027",
        "promised_limit": json.dumps({"value": 3, "unit": "working_days"}),
        "applicant_name_masked": "张*丰",
    }
    caplog.set_level("WARNING", logger="gateway.cases")
    sets = step_sets(case, Status.ACCEPTED, datetime.fromisoformat(START), default_calendar())
    assert sets["deadline"] == "2027-01-04" and sets["deadline_missing_years"] == "2027"
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.cases"]
    assert len(lines) == 1
    assert "provisional deadline 2027-01-04 for case c-2027" in lines[0]
    assert "2027" in lines[0] and "张" not in lines[0]
    caplog.clear()
    inside = step_sets(
        case,
        Status.ACCEPTED,
        datetime.fromisoformat("2026-12-01T10:00:00+08:00"),
        default_calendar(),
    )
    assert inside["deadline_missing_years"] is None
    assert not [r for r in caplog.records if r.name == "gateway.cases"]
