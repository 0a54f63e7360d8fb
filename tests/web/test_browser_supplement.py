"""一次性告知 and 补正 in real headless Chromium (Debian's, driven by Playwright), at a desk
(1366x768) and on a phone (390 px wide).

A Suzhou clerk fills in a case for Zhejiang with one of its three required files: the form
shows the full checklist (required, optional, 可共享免交) with each item's state and refuses
to submit, naming the missing materials, and nothing reaches the gateway. With the rest
attached it goes through; Zhejiang accepts. The Zhejiang handler returns it for 补正 naming
the missing material; the case page shows the clock paused across the National Day holiday;
the clerk uploads the supplement and resubmits, and the deadline moves by the pause.
Screenshots go to ``test-artifacts/web/``.
"""

from __future__ import annotations

import re

import pytest

from gateway.app.compose import CaseOptions
from gateway.cases import Role
from gateway.web.seed import sample_id_number
from tests.web.chromium import launch, needs_chromium, shot
from tests.web.helpers import BusinessClock, start_web_gateway

PASSWORD = "window-password-1"
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "mobile": {"width": 390, "height": 844}}

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    clock = BusinessClock("2026-09-30T10:00:00+08:00")  # the Wednesday before National Day
    gw, sims = start_web_gateway(
        tmp_path_factory.mktemp("web-supplement"), CaseOptions(clock=clock)
    )
    accounts = gw.gateway.cases.accounts
    accounts.create("suzhou", PASSWORD, role=Role.CLERK, city="suzhou", display_name="王窗口")
    accounts.create("handler-zj", PASSWORD, role=Role.HANDLER, region="ZJ", display_name="浙江审批")
    gw.clock = clock
    yield gw
    gw.stop()
    sims.stop()


@pytest.fixture(scope="module")
def browser():
    yield from launch()


def _shot(page, name: str) -> None:
    shot(page, name, full_page=True)


def _page(browser, viewport: dict, username: str, base: str):
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/web/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/web/cases\.html"))
    return context, page, errors


def _file(page, selector: str, name: str, body: bytes) -> None:
    page.set_input_files(
        selector, files=[{"name": name, "mimeType": "application/pdf", "buffer": body}]
    )


@pytest.mark.parametrize("layout", list(VIEWPORTS))
def test_checklist_refuses_an_incomplete_case_then_supplement_round_trip(site, browser, layout):
    from playwright.sync_api import expect

    base, clock = site.http_url, site.clock
    clock.now = BusinessClock("2026-09-30T10:00:00+08:00").now
    viewport = VIEWPORTS[layout]
    clerk_ctx, page, errors = _page(browser, viewport, "suzhou", base)
    # (1) the checklist: Zhejiang's 企业开办 needs M01-M03 from the applicant, M05 is shared
    page.goto(base + "/web/new.html")
    page.select_option("#matter", "010010300100")
    page.select_option("#region", "ZJ")
    expect(page.locator("#materials tr[data-material=M05]")).to_contain_text("可共享免交")
    expect(page.locator("#materials tr[data-material=M05] td.state")).to_contain_text("免交")
    expect(page.locator("#materials tr[data-material=M05] input[type=file]")).to_have_count(0)
    expect(page.locator("#materials tr[data-material=M02] td.state")).to_have_text("缺")
    page.fill("#name", "赵六")
    page.fill("#id-number", sample_id_number("33010219880512345"))
    page.select_option("#mode", "异地代收代办")
    _file(page, "input[data-material=M01]", "申请书.pdf", b"%PDF-1.4 form")
    expect(page.locator("#materials tr[data-material=M01] td.state")).to_contain_text("已备")
    expect(page.locator("#checklist-summary")).to_contain_text("尚缺")
    _shot(page, f"supplement-01-checklist-{layout}")
    # (2) submitting while M02 and M03 are missing: refused in the page, naming both
    before = site.gateway.cases.store.counts()
    page.click("#submit")
    expect(page.locator("#incomplete")).to_contain_text("公司章程（M02）")
    expect(page.locator("#incomplete")).to_contain_text("（M03）")
    assert "/web/new.html" in page.url
    assert site.gateway.cases.store.counts() == before  # not even an upload was sent
    _shot(page, f"supplement-02-incomplete-{layout}")
    # (3) complete: it goes through, Zhejiang's simulator accepts by itself
    _file(page, "input[data-material=M02]", "章程.pdf", b"%PDF-1.4 articles")
    _file(page, "input[data-material=M03]", "资格证明.pdf", b"%PDF-1.4 proof")
    expect(page.locator("#checklist-summary")).to_contain_text("材料齐全")
    page.click("#submit")
    page.wait_for_url(re.compile(r"/web/case\.html\?id="))
    case_url = page.url.split("&")[0]
    expect(page.locator("#status")).to_have_text("已受理", timeout=20_000)
    expect(page.locator("#deadline")).to_contain_text("2026-10-08")  # 3 natural days, holiday
    # (4) the handler returns it for 补正, naming the missing material
    handler_ctx, handler, handler_errors = _page(browser, viewport, "handler-zj", base)
    handler.goto(case_url)
    expect(handler.locator("#supplement-request-card")).to_be_visible()
    handler.click("#supplement-request-submit")  # nothing ticked: says so, sends nothing
    expect(handler.locator("#message .error")).to_contain_text("请勾选所缺材料")
    handler.check("input[name=missing][value=M02]")
    handler.fill("#supplement-request-note", "章程缺股东签字页")
    _shot(handler, f"supplement-03-handler-returns-{layout}")
    handler.click("#supplement-request-submit")
    expect(handler.locator("#status")).to_have_text("待补正")
    expect(handler.locator("#countdown")).to_contain_text("暂停")
    expect(handler.locator("#timeline li[data-transition=supplement_requested]")).to_contain_text(
        "公司章程（M02）"
    )
    # (5) the window sees what is missing; the holiday passes with the clock stopped
    clock.now = BusinessClock("2026-10-09T09:00:00+08:00").now
    page.reload()
    expect(page.locator("#supplement-open")).to_contain_text("公司章程（M02）")
    expect(page.locator("#supplement-open")).to_contain_text("章程缺股东签字页")
    expect(page.locator(".badge.paused")).to_be_visible()
    page.click("#supplement-submit")  # no file chosen: refused in the page
    expect(page.locator("#supplement-incomplete")).to_contain_text("公司章程")
    _file(page, "input[data-supplement=M02]", "章程（补正）.pdf", b"%PDF-1.4 signed articles")
    _shot(page, f"supplement-04-window-supplements-{layout}")
    page.click("#supplement-submit")
    # (6) back to 已受理; 3 natural days counted again from Oct 9: Monday Oct 12
    expect(page.locator("#status")).to_have_text("已受理")
    expect(page.locator("#timeline li[data-transition=supplemented]")).to_contain_text("已补正")
    expect(page.locator("#deadline")).to_contain_text("2026-10-12")
    expect(page.locator("#supplement-open")).to_have_count(0)
    _shot(page, f"supplement-05-resumed-{layout}")
    assert not errors and not handler_errors, errors + handler_errors
    handler_ctx.close()
    clerk_ctx.close()
