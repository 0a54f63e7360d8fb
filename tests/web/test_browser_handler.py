"""The handler's view, the printable 受理回执 and the applicant's progress page in real headless
Chromium (Debian's, driven by Playwright), over a real gateway and province simulators.

A Zhejiang handler opens a Suzhou window's case, downloads its material and views the
applicant; both openings appear in the timeline. The Suzhou clerk prints the 受理回执 (print
media emulated, and a PDF). The applicant, without an account, looks the case up with 办件编号
and the 回执's code (a wrong code is refused), and rates it once it is finished. Screenshots
at 1366x768 and 390 px wide go to ``test-artifacts/web/``.
"""

from __future__ import annotations

import re

import pytest

from gateway.cases import Role
from gateway.web.seed import sample_id_number
from tests.web.chromium import ARTIFACTS, launch, needs_chromium, shot
from tests.web.helpers import (
    accepted_case,
    sign_in,
    start_web_gateway,
)

PASSWORD = "handler-password-1"
ID_NUMBER = sample_id_number("33010219880512345")
CONTENT = b"%PDF-1.4 handler browser test application"
DESKTOP = {"width": 1366, "height": 768}
MOBILE = {"width": 390, "height": 844}

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    gw, sims = start_web_gateway(tmp_path_factory.mktemp("web-handler"))
    accounts = gw.gateway.cases.accounts
    accounts.create("suzhou", PASSWORD, role=Role.CLERK, city="suzhou", display_name="王窗口")
    accounts.create("handler-zj", PASSWORD, role=Role.HANDLER, region="ZJ", display_name="浙江审批")
    yield gw
    gw.stop()
    sims.stop()


@pytest.fixture(scope="module")
def browser():
    yield from launch()


@pytest.fixture(scope="module")
def case(site):
    """A Suzhou case for Zhejiang with one material, accepted by the Zhejiang simulator."""
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    applicant = {"name": "赵六", "id_number": ID_NUMBER, "phone": "13900001111"}
    found = accepted_case(clerk, applicant, content=CONTENT)
    case_id = found["case_id"]
    found["code"] = clerk.get(f"/api/cases/{case_id}/acceptance-slip").json()["code"]
    clerk.close()
    return found


def _shot(page, name: str) -> None:
    shot(page, name, full_page=True)


def _signed_in(browser, base: str, username: str, viewport: dict, **options):
    context = browser.new_context(locale="zh-CN", viewport=viewport, **options)
    page = context.new_page()
    page.goto(base + "/web/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/web/cases\.html"))
    return context, page


def test_handler_opens_a_material_and_the_applicant_and_both_are_recorded(
    site, browser, case, tmp_path
):
    from playwright.sync_api import expect

    base, case_id = site.http_url, case["case_id"]
    errors: list[str] = []
    context, page = _signed_in(browser, base, "handler-zj", DESKTOP, accept_downloads=True)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/web/case.html?id={case_id}")
    expect(page.locator("#status")).to_have_text("已受理")
    # masked until asked for; no receipt printing on the handling side
    expect(page.locator("#case")).not_to_contain_text(ID_NUMBER)
    expect(page.locator("#print-slip")).to_have_count(0)
    with page.expect_download() as info:
        page.click("a.material[data-material=M01]")
    path = tmp_path / "material.pdf"
    info.value.save_as(path)
    assert path.read_bytes() == CONTENT
    page.click("#show-applicant")
    expect(page.locator("#applicant-full")).to_contain_text(ID_NUMBER)
    expect(page.locator("#applicant-full")).to_contain_text("13900001111")
    accessed = page.locator("#timeline li[data-transition=accessed]")
    expect(accessed).to_have_count(2, timeout=10_000)
    expect(accessed.nth(0)).to_contain_text("查阅材料 M01")
    expect(accessed.nth(1)).to_contain_text("查阅申请人信息")
    expect(accessed.nth(1)).to_contain_text("浙江承办 浙江审批")
    _shot(page, "h14-handler-view-1366")
    context.close()
    # the same page 390 px wide (a new visit: the full details are asked for again)
    context, page = _signed_in(browser, base, "handler-zj", MOBILE)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/web/case.html?id={case_id}")
    expect(page.locator("#timeline li[data-transition=accessed]")).to_have_count(2)
    _shot(page, "h14-handler-view-390")
    context.close()
    assert not errors, errors


def test_the_clerk_prints_the_acceptance_receipt(site, browser, case):
    from playwright.sync_api import expect

    base, case_id = site.http_url, case["case_id"]
    errors: list[str] = []
    context, page = _signed_in(browser, base, "suzhou", DESKTOP)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/web/case.html?id={case_id}")
    expect(page.locator("#status")).to_have_text("已受理")
    page.click("#print-slip")
    page.wait_for_url(re.compile(r"/web/receipt\.html"))
    slip = page.locator("#receipt")
    expect(page.locator("#slip-number")).to_have_text(case["number"])
    expect(page.locator("#slip-code")).to_have_text(case["code"])
    texts = (case["matter_name"], "苏州 G60 通办窗口", "浙江", "北京时间", "公司登记（备案）申请书")
    for text in texts:
        expect(slip).to_contain_text(text)
    expect(page.locator("#slip-received")).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d（北京时间）$")
    )
    expect(page.locator("#slip-deadline")).to_contain_text(case["countdown"]["deadline"])
    _shot(page, "h14-receipt-1366")
    # printed: the header and the buttons go, the receipt stays
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("#print")).to_be_hidden()
    expect(page.locator("#slip-code")).to_be_visible()
    _shot(page, "h14-receipt-print-1366")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / "h14-receipt.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    context.close()
    context, page = _signed_in(browser, base, "suzhou", MOBILE)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/web/receipt.html?id={case_id}")
    expect(page.locator("#slip-code")).to_have_text(case["code"])
    _shot(page, "h14-receipt-390")
    page.emulate_media(media="print")
    _shot(page, "h14-receipt-print-390")
    context.close()
    assert not errors, errors


def test_the_applicant_follows_the_case_and_rates_it_without_an_account(site, browser, case):
    from playwright.sync_api import expect

    base, number, code = site.http_url, case["number"], case["code"]
    errors: list[str] = []
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/web/")
    page.click("#progress-link")
    page.wait_for_url(re.compile(r"/web/progress\.html"))
    # a wrong code is refused, nothing shown
    page.fill("#number", number)
    page.fill("#code", "22222222" if code != "22222222" else "33333333")
    page.click("#query")
    expect(page.locator("#message .error")).to_contain_text("办件编号或查询码不正确")
    expect(page.locator("#progress")).to_be_empty()
    page.fill("#code", code)
    page.click("#query")
    expect(page.locator("#status")).to_have_text("已受理")
    expect(page.locator("#message")).to_be_empty()
    expect(page.locator("#progress")).not_to_contain_text(ID_NUMBER)
    expect(page.locator("#rate")).to_have_count(0)
    _shot(page, "h14-progress-open-1366")
    # the handling side finishes the case; the applicant rates it
    handler = sign_in(base, "handler-zj", PASSWORD)
    for step in ("transferred", "approved", "certificate_issued"):
        r = handler.post(f"/api/cases/{case['case_id']}/transitions", json={"to": step})
        assert r.status_code == 200, r.text
    handler.close()
    page.click("#query")
    expect(page.locator("#rate")).to_be_visible()
    page.select_option("#grade", "4")
    page.fill("#comment", "办理顺利")
    _shot(page, "h14-progress-rate-1366")
    page.click("#rate button[type=submit]")
    expect(page.locator("#rated")).to_contain_text("您的评价：满意。")
    expect(page.locator("#steps li").last).to_contain_text("好差评")
    _shot(page, "h14-progress-rated-1366")
    context.close()
    # 390 px wide: the same lookup on a phone
    context = browser.new_context(locale="zh-CN", viewport=MOBILE, is_mobile=True)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/web/progress.html?number={number}")
    expect(page.locator("#number")).to_have_value(number)
    page.fill("#code", code)
    page.click("#query")
    expect(page.locator("#rated")).to_contain_text("您的评价：满意。")
    _shot(page, "h14-progress-390")
    context.close()
    assert not errors, errors
