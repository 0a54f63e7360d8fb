"""No English sentence reaches the staff on a page (issue 14: Chinese throughout).

The rule is ``tests.web.english.english_sentences`` (three or more ASCII words in a row;
identifiers, codes, numbers, URLs and one or two code names beside Chinese pass), checked
here on its own first. Exempt on a page: text inside ``<code>``, ``<kbd>``, ``<samp>``,
``<pre>``, ``<script>``, ``<style>``, and what the user typed or pasted (``<textarea>``,
``<input>``). Scanned: every visible text node, the title, and the ``placeholder``,
``title``, ``aria-label`` and ``alt`` attributes.

Pages, each at 1366x768 and at a 390-px-wide phone (screenshots ``test-artifacts/web/zh-*``):
the sign-in page after a refused sign-in; the case list with a case; a finished case (as the
receiving window and as the handling province); the new-case form after the server refused
the applicant's assurance level; the matter comparison; the audit page after a lookup by case
and by exchange, after a tampered receipt and after something that is not a receipt. Times
on the case and audit pages are checked to be Beijing time (``2026-12-01 12:20``), the log's
UTC stamp shown as the same minute. API errors: ``test_no_english_api.py``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.web.chromium import ARTIFACTS, launch, needs_chromium
from tests.web.english import ID_OK, PASSWORD, english_sentences, finished, site
from tests.web.helpers import sign_in

__all__ = ["finished", "site"]  # module fixtures, shared with the API test

VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "mobile": {"width": 390, "height": 844}}


def test_the_rule_names_sentences_and_passes_identifiers():
    assert english_sentences("sign-in: wrong username or password") == [
        "wrong username or password"
    ]
    assert english_sentences("叶 leaf 7 of 8, 3 hashes lead to the root") == [
        "hashes lead to the root"
    ]
    assert english_sentences("all checks passed") == ["all checks passed"]
    assert english_sentences("登录失败wrong username or password") != []
    assert english_sentences("可选：submitted（已申请）、accepted（已受理）、refused") == []
    assert english_sentences("SH, JS, ZJ or AH") == ["SH, JS, ZJ or AH"]
    for fine in (
        "申请人认证等级不足：需要“高”，实际“较高”",
        "离线核验命令：yrd-audit verify receipt.json --trust trust.json",
        "上传或粘贴收据（yrd-receipt/v1 JSON），逐项核验",
        "材料内容在网关加密保存（SM4-GCM），向承办地只传送 SM3 摘要。",
        "包含性证明（RFC 9162）",
        "（字段：applicant.id_number）not_cross_region M01 https://example.org/a/b",
        "2026-12-01 12:20 · 苏州窗口 王窗口",
    ):
        assert english_sentences(fine) == [], fine


# -- pages -------------------------------------------------------------------------------------

_COLLECT = """() => {
  const skip = new Set(["CODE", "KBD", "SAMP", "PRE", "SCRIPT", "STYLE", "TEXTAREA", "NOSCRIPT"]);
  const out = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let el = node.parentElement, hidden = false;
    for (let p = el; p; p = p.parentElement) { if (skip.has(p.tagName)) { hidden = true; break; } }
    if (!hidden && node.textContent.trim()) out.push(node.textContent.trim());
  }
  for (const el of document.querySelectorAll("[placeholder],[title],[aria-label],[alt]")) {
    for (const a of ["placeholder", "title", "aria-label", "alt"]) {
      if (el.getAttribute(a)) out.push(el.getAttribute(a));
    }
  }
  return out;
}"""


def _scan(page, name: str, viewport: str, found: dict[str, list[str]]) -> None:
    page.wait_for_load_state("networkidle")
    texts = page.evaluate(_COLLECT)
    bad = [s for t in texts for s in english_sentences(t)]
    if bad:
        found[f"{name} ({viewport})"] = bad
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"zh-{name}-{viewport}.png"), full_page=True)


def _signed_in_page(browser, base: str, username: str, viewport: str):
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.goto(base + "/web/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/web/(cases|audit)\.html"))
    return context, page


@pytest.fixture(scope="module")
def browser():
    yield from launch("--lang=zh-CN")  # the browser's own words in Chinese too


@needs_chromium
@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_every_staff_page_reads_in_chinese(site, browser, finished, viewport):
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)  # two shared cores: the pages may be slow, not wrong
    base, case_id = site.http_url, finished["case_id"]
    found: dict[str, list[str]] = {}
    errors: list[str] = []
    # (1) the sign-in page, after a refused sign-in
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/web/")
    page.fill("#username", "suzhou")
    page.fill("#password", "not-the-password")
    page.click("#sign-in")
    expect(page.locator("#message .error")).to_contain_text("用户名或密码错误")
    _scan(page, "sign-in-refused", viewport, found)
    context.close()
    # (2) the receiving window: list, case, new-case refusal, matters
    context, page = _signed_in_page(browser, base, "suzhou", viewport)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    expect(page.locator(f"tr[data-case='{case_id}']")).to_be_visible()
    _scan(page, "cases", viewport, found)
    page.goto(f"{base}/web/case.html?id={case_id}")
    expect(page.locator("#status")).to_have_text(re.compile(r"\S"))
    expect(page.locator("#timeline li").first).to_be_visible()
    # times are Beijing time, "2026-12-01 12:20", not ISO stamps
    meta = page.locator("#timeline li .meta").first.inner_text()
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d ·", meta), meta
    assert "T" not in meta.split("·")[0], meta
    _scan(page, "case-window", viewport, found)
    page.goto(base + "/web/new.html")
    page.select_option("#matter", "200070300200")  # 住房公积金提取: needs a high level
    page.select_option("#region", "ZJ")
    page.fill("#name", "赵六")
    page.fill("#id-number", ID_OK)
    page.select_option("#auth", "password,sms_otp")  # 较高: below what the matter needs
    for input_ in page.locator("input[type=file][data-material]").all():
        mid = input_.get_attribute("data-material")
        input_.set_input_files(files=[{"name": f"{mid}.pdf", "mimeType": "application/pdf",
                                       "buffer": b"%PDF-1.4 " + str(mid).encode()}])  # fmt: skip
    page.click("#submit")
    expect(page.locator("#message .error")).to_contain_text("申请人认证等级不足")
    expect(page.locator("#message .error")).to_contain_text("需要“高”，实际“较高”")
    _scan(page, "new-case-refused", viewport, found)
    page.goto(base + "/web/matters.html")
    page.fill("#q", "企业设立")
    expect(page.locator("#comparison table")).to_contain_text("承诺时限")
    _scan(page, "matters", viewport, found)
    context.close()
    # (3) the handling province: its list and the case
    context, page = _signed_in_page(browser, base, "handler-zj", viewport)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/web/case.html?id={case_id}")
    expect(page.locator("#timeline li").first).to_be_visible()
    _scan(page, "case-handler", viewport, found)
    context.close()
    # (4) the auditor: lookup by case, by exchange, a tampered receipt; times in Beijing time
    context, page = _signed_in_page(browser, base, "auditor", viewport)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.fill("#case-id", case_id)
    page.click("#lookup")
    expect(page.locator("#result")).to_contain_text(finished["number"])
    _scan(page, "audit-case", viewport, found)
    page.fill("#case-id", "")
    page.fill("#exchange-id", finished["timeline"][0]["exchange_id"])
    page.click("#lookup")
    expect(page.locator("#verdict")).to_contain_text("核验通过")
    expect(page.locator("#verdict")).to_contain_text("全部检查通过")
    # the log's stamp is UTC ("...Z"); the page shows the same instant in Beijing time
    shown = page.locator("#result dd").nth(4).inner_text()
    api = sign_in(base, "auditor", PASSWORD)
    xid = finished["timeline"][0]["exchange_id"]
    logged = api.get(f"/api/audit/exchanges/{xid}").json()["verification"]["entry"]
    api.close()
    assert logged["received_at"].endswith("Z"), logged["received_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", shown), shown
    assert shown == _beijing(logged["received_at"]), (shown, logged["received_at"])
    _scan(page, "audit-exchange", viewport, found)
    receipt = json.loads(page.locator("#receipt").input_value())
    tampered = dict(receipt, leaf_index=receipt["leaf_index"] + 1)
    page.fill("#receipt", json.dumps(tampered))
    page.click("#verify")
    expect(page.locator("#verdict")).to_contain_text("核验未通过")
    _scan(page, "audit-tampered", viewport, found)
    page.fill("#receipt", "这不是收据")
    page.click("#verify")
    expect(page.locator("li[data-check=format]")).to_have_attribute("data-status", "fail")
    _scan(page, "audit-not-a-receipt", viewport, found)
    context.close()
    assert not errors, errors
    assert not found, "English sentences on staff pages:\n" + json.dumps(
        found, ensure_ascii=False, indent=1
    )


def _beijing(stamp: str) -> str:
    """A UTC or offset stamp as the pages must show it: Beijing time to the minute."""
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return when.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
