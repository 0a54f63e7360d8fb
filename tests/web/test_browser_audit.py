"""The audit page in real headless Chromium, with the anchorer on the embedded dev chain
(issue 14, item 7): an auditor looks a case up by its 办件编号, sees every exchange verified
and the anchor labelled as a local development chain (not third-party evidence); a failed
lookup clears the previous result; an exchange lookup shows the anchored receipt.
Screenshots at 1366x768 and 390 px wide go to ``test-artifacts/web/``.
"""

from __future__ import annotations

import json
import re

import pytest

from gateway.app.anchoring import make_anchorer_factory
from gateway.app.compose import CaseOptions
from gateway.app.settings import Settings
from gateway.cases import Role
from tests.gateway.test_audit_api import submit_case
from tests.web.chromium import launch, needs_chromium, shot
from tests.web.helpers import sign_in, start_web_gateway

PASSWORD = "auditor-password-1"
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "mobile": {"width": 390, "height": 844}}

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data = tmp_path_factory.mktemp("web-audit")
    settings = Settings.load(
        env={}, data_dir=data, anchor_interval_seconds=0.2, anchor_every_entries=1
    )
    gw, sims = start_web_gateway(
        data, CaseOptions(), anchorer_factory=make_anchorer_factory(settings)
    )
    accounts = gw.gateway.cases.accounts
    accounts.create("suzhou", PASSWORD, role=Role.CLERK, city="suzhou", display_name="王窗口")
    accounts.create("auditor", PASSWORD, role=Role.AUDITOR, display_name="审计员")
    clerk = sign_in(gw.http_url, "suzhou", PASSWORD)
    case = submit_case(clerk)
    clerk.close()
    first = case["timeline"][0]
    assert gw.gateway.anchorer.wait_covered(first["tree_size"], 30) is not None
    yield gw, case
    gw.stop()
    sims.stop()


@pytest.fixture(scope="module")
def browser():
    yield from launch()


def _shot(page, name: str) -> None:
    shot(page, name, full_page=True)


@pytest.mark.parametrize("view", list(VIEWPORTS))
def test_lookup_by_case_number_honest_anchor_and_failed_lookup_clears(site, browser, view):
    from playwright.sync_api import expect

    gw, case = site
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORTS[view])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(gw.http_url + "/web/")
    page.fill("#username", "auditor")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/web/audit\.html"))
    # (1) by 办件编号, the number staff see (not the internal id)
    page.fill("#case-id", case["number"])
    page.click("#lookup")
    result = page.locator("#case-result")
    expect(result).to_contain_text(case["number"])
    chain = page.locator("#anchor-chain")
    expect(chain).to_have_attribute("data-mode", "embedded")
    expect(chain).to_have_attribute("data-external", "no")
    expect(chain).to_contain_text("本地开发链")
    expect(chain).to_contain_text("不是第三方证据")
    expect(chain).to_contain_text("外部不可核验")
    anchor = page.locator("li[data-check=anchor]").first
    expect(anchor).to_have_attribute("data-status", "pass")
    expect(anchor).to_contain_text("非第三方证据")
    expect(anchor).to_contain_text("外部无法核验")
    expect(result).not_to_contain_text("anchored")
    _shot(page, f"audit-{view}-1-case-number")
    # (2) a failed lookup clears the old result and says what was not found
    page.fill("#case-id", "G60-0000-NOPE")
    page.click("#lookup")
    expect(page.locator("#message")).to_contain_text("未找到该办件")
    expect(page.locator("#result")).to_be_empty()
    expect(page.locator("#case-result")).to_have_count(0)
    _shot(page, f"audit-{view}-2-not-found")
    # (3) by exchange id: the receipt shown carries its anchor object; all checks pass
    page.fill("#case-id", "")
    page.fill("#exchange-id", case["timeline"][0]["exchange_id"])
    page.click("#lookup")
    expect(page.locator("#verdict")).to_contain_text("核验通过")
    expect(page.locator("#verdict")).to_contain_text("全部检查通过")
    shown = json.loads(page.locator("#receipt").input_value())
    assert shown["anchor"]["tree_size"] >= shown["tree_size"]
    expect(page.locator("#anchor-chain")).to_contain_text("本地开发链")
    expect(page.locator("dl.fields")).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d"))
    _shot(page, f"audit-{view}-3-exchange")
    # (4) an unknown exchange clears that result and the receipt box too
    page.fill("#exchange-id", "no-such-exchange")
    page.click("#lookup")
    expect(page.locator("#message")).to_contain_text("未找到该交换")
    expect(page.locator("#result")).to_be_empty()
    expect(page.locator("#receipt")).to_have_value("")
    assert not errors, errors
    context.close()
