"""The window and auditor pages in real headless Chromium (Debian's, driven by Playwright).

A Suzhou clerk signs in, submits a case with a material for Zhejiang, sees it in the list,
follows it to completion (the Zhejiang simulator accepts, the handler's steps come over the
API), archives and rates it, and downloads a receipt that ``yrd-audit`` verifies; an auditor
pastes that receipt and sees every check pass, then a tampered copy and the failing check.
Screenshots go to ``test-artifacts/web/``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import pytest

from gateway.cases import Role
from gateway.web.seed import sample_id_number
from tests.web.chromium import launch, needs_chromium, shot
from tests.web.helpers import sign_in, start_web_gateway

PASSWORD = "window-password-1"

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    gw, sims = start_web_gateway(tmp_path_factory.mktemp("web"))
    accounts = gw.gateway.cases.accounts
    accounts.create("suzhou", PASSWORD, role=Role.CLERK, city="suzhou", display_name="王窗口")
    accounts.create("handler-zj", PASSWORD, role=Role.HANDLER, region="ZJ", display_name="浙江审批")
    accounts.create("auditor", PASSWORD, role=Role.AUDITOR, display_name="审计员")
    yield gw
    gw.stop()
    sims.stop()


@pytest.fixture(scope="module")
def browser():
    yield from launch()


def _shot(page, name: str) -> None:
    shot(page, name, full_page=True)


def _sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/web/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")


def test_clerk_submits_follows_and_auditor_verifies(site, browser, tmp_path):
    from playwright.sync_api import expect

    base = site.http_url
    context = browser.new_context(
        accept_downloads=True, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # (1) sign in
    page.goto(base + "/web/")
    page.fill("#username", "suzhou")
    page.fill("#password", PASSWORD)
    _shot(page, "01-sign-in")
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/web/cases\.html"))
    expect(page.locator("header.top .who")).to_contain_text("苏州窗口")
    # (2) new case: matter, province differences, applicant with live id check, a material
    page.click("text=新建办件")
    page.wait_for_url(re.compile(r"/web/new\.html"))
    page.select_option("#matter", "010010300100")
    page.select_option("#region", "ZJ")
    expect(page.locator("#limit")).to_contain_text("3 个自然日")
    page.click("#compare-box summary")
    expect(page.locator("#comparison table")).to_contain_text("承诺时限")
    good = sample_id_number("33010219880512345")
    wrong = good[:-1] + ("1" if good[-1] != "1" else "2")
    page.fill("#name", "赵六")
    page.fill("#id-number", good[:10])
    expect(page.locator("#id-hint")).to_contain_text("还差 8 位")
    page.fill("#id-number", wrong)
    expect(page.locator("#id-hint")).to_contain_text("校验位错误")
    expect(page.locator("#id-number")).to_have_class("bad")
    page.fill("#id-number", good)
    expect(page.locator("#id-hint")).to_contain_text("校验通过")
    page.set_input_files(
        "input[data-material=M01]",
        files=[
            {
                "name": "公司登记申请书.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4 browser test application",
            }
        ],
    )
    for other in ("M02", "M03"):  # Zhejiang requires these too (completeness, issue 14)
        page.set_input_files(
            f"input[data-material={other}]",
            files=[{"name": f"{other}.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"}],
        )
    page.select_option("#mode", "异地代收代办")
    _shot(page, "02-new-case")
    page.click("#submit")
    page.wait_for_url(re.compile(r"/web/case\.html\?id="))
    case_id = page.url.split("id=")[1].split("&")[0]
    # (3) the Zhejiang simulator's acceptance shows up on the page by itself
    expect(page.locator("#status")).to_have_text("已受理", timeout=20_000)
    expect(page.locator("#timeline li")).to_have_count(2)
    number = page.locator("#number").inner_text()
    # (4) the list shows it
    page.goto(base + "/web/cases.html")
    expect(page.locator(f"tr[data-case='{case_id}']")).to_contain_text(number)
    expect(page.locator(f"tr[data-case='{case_id}']")).to_contain_text("赵*")
    _shot(page, "03-cases")
    page.click(f"text={number}")
    page.wait_for_url(re.compile(r"/web/case\.html"))
    # (5) the handling side works through its API; the page follows it
    handler = sign_in(base, "handler-zj", PASSWORD)
    for step in ("transferred", "approved", "certificate_issued"):
        r = handler.post(f"/api/cases/{case_id}/transitions", json={"to": step, "note": "同意"})
        assert r.status_code == 200, r.text
    handler.close()
    expect(page.locator("#status")).to_have_text("已发证", timeout=20_000)
    page.click("#actions button[data-to=archived]")
    expect(page.locator("#status")).to_have_text("已归档")
    # the applicant, not the clerk, rates: on the progress page, with the 回执's code
    expect(page.locator("#rate-hint")).to_be_visible()
    clerk = sign_in(base, "suzhou", PASSWORD)
    code = clerk.get(f"/api/cases/{case_id}/acceptance-slip").json()["code"]
    clerk.close()
    r = httpx.post(base + "/api/progress/rating", json={"number": number, "code": code, "grade": 5})
    assert r.status_code == 200, r.text
    expect(page.locator("main")).to_contain_text("非常满意")
    expect(page.locator("#timeline li")).to_have_count(7)
    expect(page.locator("#countdown")).to_have_text("已办结")
    _shot(page, "04-case-completed")
    # (6) download a receipt; yrd-audit verifies it
    with page.expect_download() as info:
        page.locator("#timeline li[data-transition=certificate_issued] a.receipt").click()
    receipt_path = tmp_path / "receipt.json"
    info.value.save_as(receipt_path)
    trust_path = tmp_path / "trust.json"
    trust_path.write_bytes(httpx.get(base + "/api/trust.json").content)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger.audit_cli",
            "verify",
            str(receipt_path),
            "--trust",
            str(trust_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "VALID" in done.stdout, done.stderr
    receipt = json.loads(receipt_path.read_text())
    # (7) an auditor pastes it: every check passes (anchoring is not configured here)
    auditor = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    apage = auditor.new_page()
    apage.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(apage, base, "auditor")
    apage.wait_for_url(re.compile(r"/web/audit\.html"))
    apage.fill("#receipt", json.dumps(receipt, ensure_ascii=False, indent=2))
    apage.click("#verify")
    expect(apage.locator("#verdict")).to_contain_text("核验通过")
    for check in (
        "format",
        "trusted_key",
        "checkpoint_signature",
        "checkpoint_size",
        "leaf_hash",
        "inclusion_proof",
        "consistency",
    ):
        expect(apage.locator(f"li[data-check={check}]")).to_have_attribute("data-status", "pass")
    expect(apage.locator("li[data-check=anchor]")).to_have_attribute("data-status", "skipped")
    expect(apage.locator("li[data-check=anchor]")).to_contain_text("未配置链上锚定")
    _shot(apage, "05-audit-pass")
    # (8) a tampered receipt: it claims another leaf index; the inclusion proof fails
    assert receipt["leaf_index"] > 0
    tampered = dict(receipt, leaf_index=receipt["leaf_index"] - 1)
    apage.fill("#receipt", json.dumps(tampered, ensure_ascii=False, indent=2))
    apage.click("#verify")
    expect(apage.locator("#verdict")).to_contain_text("核验未通过")
    expect(apage.locator("li[data-check=inclusion_proof]")).to_have_attribute("data-status", "fail")
    expect(apage.locator("li[data-check=checkpoint_signature]")).to_have_attribute(
        "data-status", "pass"
    )
    _shot(apage, "06-audit-tampered")
    # (9) the auditor looks the case up and verifies every exchange of it
    apage.fill("#case-id", case_id)
    apage.click("#lookup")
    expect(apage.locator("#result")).to_contain_text(number)
    expect(apage.locator("#result .badge.pass")).to_have_count(7 * 7 + 7)
    assert not errors, errors
    auditor.close()
    context.close()
