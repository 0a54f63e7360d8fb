"""The case list of a busy window and the words of a case, in real headless Chromium.

Twelve cases over a real gateway and the province simulators: the Suzhou clerk searches by
办件编号 and applicant, pages through ten at a time, and sees the overdue and warning colours
as the business clock (``BusinessClock``) moves; handlers see action buttons (受理, 不予受理,
发证 for a licence, 办结 for 公积金提取), and a 即办 matter reads 即办. Screenshots at
1366x768 and 390 px wide go to ``test-artifacts/web/``.
"""

from __future__ import annotations

import re

import pytest

from gateway.app.compose import CaseOptions
from gateway.cases import Role
from tests.gateway.test_cases_list import (
    COMPANY,
    HOUSING_FUND,
    MEDICAL,
    accepted,
    detail,
    step,
    submit,
)
from tests.web.chromium import launch, needs_chromium, shot
from tests.web.helpers import BusinessClock, sign_in, start_web_gateway

PASSWORD = "window-password-1"
START = "2026-11-16T10:00:00+08:00"  # a Monday with no holiday near
DESKTOP = {"width": 1366, "height": 768}
MOBILE = {"width": 390, "height": 844}
USERS = {
    "suzhou": (Role.CLERK, {"city": "suzhou"}, "王窗口"),
    "handler-zj": (Role.HANDLER, {"region": "ZJ"}, "浙江审批"),
    "handler-ah": (Role.HANDLER, {"region": "AH"}, "安徽审批"),
    "handler-sh": (Role.HANDLER, {"region": "SH"}, "上海审批"),
}

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    clock = BusinessClock(START)
    gw, sims = start_web_gateway(tmp_path_factory.mktemp("web-list"), CaseOptions(clock=clock))
    for user, (role, where, name) in USERS.items():
        gw.gateway.cases.accounts.create(user, PASSWORD, role=role, display_name=name, **where)
    clients = {u: sign_in(gw.http_url, u, PASSWORD) for u in USERS}
    env = {"clock": clock, "suzhou-clerk": clients["suzhou"]}
    made: dict[str, dict] = {}
    # nine licences for Zhejiang (3 natural days), the housing fund in Anhui (3 working days,
    # no certificate), 异地就医备案 in Shanghai (即办) and one Shanghai case left submitted
    for i in range(9):
        made[f"company{i}"] = submit(env, COMPANY, "ZJ", f"钱{i}号", f"3301021988051{i:02d}23")
    made["fund"] = submit(env, HOUSING_FUND, "AH", "李四", "34010219850101123")
    made["medical"] = submit(env, MEDICAL, "SH", "赵六", "31010219700203123")
    made["waiting"] = submit(env, COMPANY, "SH", "孙八", "31010219920304123")
    for key in (*(f"company{i}" for i in range(9)), "fund"):
        accepted(env, made[key]["case_id"])
    step(clients["handler-sh"], made["medical"]["case_id"], "accepted")  # 即办: due today
    for to in ("transferred", "approved"):
        step(clients["handler-ah"], made["fund"]["case_id"], to)
        step(clients["handler-zj"], made["company0"]["case_id"], to)
    yield {"gw": gw, "clock": clock, "cases": made, **clients}
    for c in clients.values():
        c.close()
    gw.stop()
    sims.stop()


@pytest.fixture(scope="module")
def browser():
    yield from launch()


def _shot(page, name: str) -> None:
    shot(page, name, full_page=True)


def _page(browser, base: str, username: str, viewport: dict, errors: list[str]):
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/web/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/web/(cases|audit)\.html"))
    return context, page


def _colour(page, selector: str) -> str:
    return page.locator(selector).first.evaluate("e => getComputedStyle(e).backgroundColor")


def test_search_paging_and_overdue_colours(site, browser):
    from playwright.sync_api import expect

    base, made, clock = site["gw"].http_url, site["cases"], site["clock"]
    errors: list[str] = []
    context, page = _page(browser, base, "suzhou", DESKTOP, errors)
    rows = page.locator("#cases tbody tr[data-case]")
    # (1) twelve cases, ten to a page
    expect(page.locator("#count")).to_have_text("共 12 件")
    page.select_option("#f-size", "10")
    expect(rows).to_have_count(10)
    expect(page.locator("#page-info")).to_have_text("第 1 / 2 页")
    page.click("#next")
    expect(rows).to_have_count(2)
    expect(page.locator("#page-info")).to_have_text("第 2 / 2 页")
    expect(page.locator("#next")).to_be_disabled()
    page.click("#prev")
    expect(rows).to_have_count(10)
    # (2) search by 办件编号, then by the masked applicant name
    number = made["fund"]["number"]
    page.fill("#f-number", number)
    page.click("#search")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(number)
    expect(rows.first).to_contain_text("审批通过")
    expect(page.locator("#count")).to_have_text("共 1 件")
    page.click("#clear")
    expect(rows).to_have_count(10)
    page.fill("#f-applicant", "赵")
    page.press("#f-applicant", "Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("赵*")
    page.click("#clear")
    page.select_option("#f-matter", HOUSING_FUND)
    expect(rows).to_have_count(1)
    page.click("#clear")
    # (3) 即办 is shown as such; states carry their own colour class
    medical = page.locator(f"tr[data-case='{made['medical']['case_id']}']")
    expect(medical).to_contain_text("即办")
    expect(medical.locator("[data-time]")).to_have_text("即办，今日办结")
    waiting = page.locator(f"tr[data-case='{made['waiting']['case_id']}'] .badge.state-waiting")
    expect(waiting).to_have_text("待受理")
    assert _colour(page, ".badge.state-waiting") != _colour(page, ".badge.state-working")
    _shot(page, "list-01-search-paging")
    # (4) two working days on: 即办 is overdue, the Zhejiang licences (due 11-19) warn
    clock.set("2026-11-18T09:00:00+08:00")
    try:
        page.reload()
        expect(medical.locator("[data-time]")).to_have_text("已逾期 2 个工作日")
        expect(medical).to_have_class(re.compile(r"\btime-overdue\b"))
        # the newest licence, on the first page (the list is newest first)
        company = page.locator(f"tr[data-case='{made['company8']['case_id']}']")
        expect(company.locator("[data-time]")).to_have_text("剩余 1 个工作日")
        expect(company).to_have_class(re.compile(r"\btime-warning\b"))
        red = _colour(page, "[data-time=overdue]")
        amber = _colour(page, "[data-time=warning]")
        assert red != amber, (red, amber)
        _shot(page, "list-02-overdue-warning-1366")
        clerk = site["suzhou"]
        for due in ("overdue", "warning"):  # the page shows what the API finds
            total = int(clerk.get("/api/cases", params={"due": due}).headers["X-Total-Count"])
            page.select_option("#f-due", due)
            expect(page.locator("#count")).to_have_text(f"共 {total} 件")
            expect(rows.locator(f"[data-time={due}]")).to_have_count(min(total, 10))
        # 即办 due on Monday; the ZJ licences and the AH fund are due on Thursday the 19th
        page.select_option("#f-due", "overdue")
        expect(page.locator("#cases tbody")).to_contain_text(made["medical"]["number"])
        page.select_option("#f-due", "warning")
        expect(page.locator("#count")).to_have_text("共 10 件")
        page.select_option("#f-due", "")
        mobile, phone = _page(browser, base, "suzhou", MOBILE, errors)
        expect(phone.locator("[data-time=overdue]").first).to_be_visible()
        _shot(phone, "list-03-overdue-warning-390")
        mobile.close()
    finally:
        clock.set(START)
    assert not errors, errors
    context.close()


def test_action_buttons_and_instant_on_the_case_page(site, browser):
    from playwright.sync_api import expect

    base, made = site["gw"].http_url, site["cases"]
    errors: list[str] = []
    # Shanghai: a submitted case offers 受理 and 不予受理 (actions, not states)
    context, page = _page(browser, base, "handler-sh", DESKTOP, errors)
    page.goto(base + f"/web/case.html?id={made['waiting']['case_id']}")
    expect(page.locator("#status")).to_have_text("待受理")
    expect(page.locator("#actions button[data-to=accepted]")).to_have_text("受理")
    expect(page.locator("#actions button[data-to=refused]")).to_have_text("不予受理")
    # 即办 (Shanghai 异地就医备案): the promise reads 即办, never "0 个工作日"
    page.goto(base + f"/web/case.html?id={made['medical']['case_id']}")
    expect(page.locator("#promised")).to_have_text("即办")
    expect(page.locator("#countdown")).to_have_text("即办，今日办结")
    expect(page.locator("main")).not_to_contain_text("0 个工作日")
    _shot(page, "case-01-instant-1366")
    context.close()
    # Anhui: the housing fund issues no certificate, so the last step is 办结
    context, page = _page(browser, base, "handler-ah", DESKTOP, errors)
    page.goto(base + f"/web/case.html?id={made['fund']['case_id']}")
    expect(page.locator("#actions button[data-to=certificate_issued]")).to_have_text("办结")
    _shot(page, "case-02-fund-finish-1366")
    page.click("#actions button[data-to=certificate_issued]")
    expect(page.locator("#status")).to_have_text("已办结")
    expect(page.locator("main")).not_to_contain_text("发证")
    expect(page.locator("[data-outcome]")).to_have_text("按时办结")
    context.close()
    # Zhejiang: a business licence is issued: 发证; on a phone too
    context, page = _page(browser, base, "handler-zj", MOBILE, errors)
    page.goto(base + f"/web/case.html?id={made['company0']['case_id']}")
    expect(page.locator("#actions button[data-to=certificate_issued]")).to_have_text("发证")
    _shot(page, "case-03-licence-issue-390")
    context.close()
    assert detail(site["handler-zj"], made["company0"]["case_id"])["next"][0]["label"] == "发证"
    assert not errors, errors
