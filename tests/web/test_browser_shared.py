"""可共享免交 on the case page in real headless Chromium (Debian's, driven by Playwright), at a
desk (1366x768) and on a phone (390 px wide): the checklist card shows each shareable
material's state as the evidence exchange reaches it (已获取 with the answer's digest, a link
that opens it and is recorded in the timeline; 获取失败 with the reason in Chinese).
Same world as ``tests/gateway/test_cases_shared.py`` (the Zhejiang simulator holds the
applicant's 医保电子凭证). Screenshots: ``test-artifacts/web/shared-*``."""

from __future__ import annotations

import re

import pytest

from tests.gateway.test_cases_shared import LICENCE, MEDICAL, PASSWORD, shared, site, submit
from tests.web.chromium import launch, needs_chromium, shot
from tests.web.english import english_sentences
from tests.web.helpers import sign_in

__all__ = ["site"]  # the module fixture, shared with the REST test

VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "mobile": {"width": 390, "height": 844}}

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser():
    yield from launch()


@pytest.fixture(scope="module")
def cases(site):
    """A case with a fetched, one with a refused and one with an unaskable shareable material."""
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    fetched = submit(clerk, MEDICAL, "ZJ")["case_id"]
    refused = submit(clerk, MEDICAL, "AH")["case_id"]
    organisation = submit(clerk, LICENCE, "ZJ")["case_id"]
    shared(clerk, fetched, "M02", "fetched")
    shared(clerk, refused, "M02", "failed")
    return {"fetched": fetched, "refused": refused, "organisation": organisation}


def _page(browser, viewport: dict, base: str, case_id: str):
    context = browser.new_context(locale="zh-CN", viewport=viewport, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/web/")
    page.fill("#username", "suzhou")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/web/cases\.html"))
    page.goto(f"{base}/web/case.html?id={case_id}")
    page.wait_for_selector("#shared")
    return context, page, errors


@pytest.mark.parametrize("layout", list(VIEWPORTS))
def test_checklist_states_on_the_case_page(site, browser, cases, layout):
    from playwright.sync_api import expect

    base = site.http_url
    context, page, errors = _page(browser, VIEWPORTS[layout], base, cases["fetched"])
    row = page.locator("[data-shared-row='M02']")
    expect(row).to_have_attribute("data-state", "fetched")
    expect(row).to_contain_text("已获取")
    expect(row).to_contain_text("医保电子凭证")
    assert re.search(r"[0-9a-f]{64}", row.inner_text())
    shot(page, f"shared-fetched-{layout}")
    with page.expect_download() as info:
        page.click("[data-shared='M02']")
    assert "医保电子凭证" in open(info.value.path(), encoding="utf-8").read()
    # the opening is in the timeline (the page refreshes itself)
    expect(page.locator("#timeline")).to_contain_text("共享材料 M02", timeout=10000)
    assert english_sentences(page.inner_text("#shared")) == []

    page.goto(f"{base}/web/case.html?id={cases['refused']}")
    row = page.locator("[data-shared-row='M02']")
    expect(row).to_have_attribute("data-state", "failed")
    expect(row).to_contain_text("获取失败")
    expect(row).to_contain_text("出具部门没有该申请人的此类证照")
    assert row.locator("a").count() == 0, "nothing to open for a failed material"
    shot(page, f"shared-failed-{layout}")

    page.goto(f"{base}/web/case.html?id={cases['organisation']}")
    row = page.locator("[data-shared-row='M02']")
    expect(row).to_have_attribute("data-state", "failed")
    expect(row).to_contain_text("营业执照")
    expect(row).to_contain_text("统一社会信用代码")
    assert english_sentences(page.inner_text("#shared")) == []
    assert errors == []
    context.close()
