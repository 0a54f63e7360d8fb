"""No English sentence reaches the staff: every page, rendered with data, and every REST error.

The rule (``english_sentences``): the text is cut into ASCII segments at every non-ASCII
character (so codes joined by 、 are not a sentence) and each segment is split at white
space; a token is a *word* when, stripped of surrounding punctuation (``( ) , . ; : ! ? "
'``), it is one or more ASCII letters and nothing else. Three or more words in a row
are an English sentence, and the test fails on it. So identifiers
(``applicant.id_number``, ``yrd-audit``, ``M01``, ``SM4-GCM``), numbers, URLs, machine codes
(``not_cross_region``), and one or two code or dialect names beside Chinese text
(``yrd-receipt/v1 JSON``, ``RFC 9162``) pass; "wrong username or password" does not.

Exempt: text inside ``<code>``, ``<kbd>``, ``<samp>``, ``<pre>``, ``<script>``, ``<style>``,
the contents of ``<textarea>`` and ``<input>`` (what the user typed or pasted), and, in an
API error, the ``code`` and ``field`` keys (machine-readable by contract). Scanned on a page:
every visible text node, the title, and the ``placeholder``, ``title``, ``aria-label`` and
``alt`` attributes. Scanned in an API error: every other string of the ``error`` object.

Pages, each at 1366x768 and at a 390-px-wide phone (screenshots in ``test-artifacts/web/``):
the sign-in page after a refused sign-in; the case list with a case; a finished case (as the
receiving window and as the handling province); the new-case form after the server refused
the applicant's assurance level; the matter comparison; the audit page after a lookup by case
and by exchange, and after a tampered receipt. Errors: every refusal the API gives that a
client can provoke, plus every gateway refusal reason and framework status directly.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.cases import Role
from gateway.cases.wording import partner_refusal_zh
from gateway.errors import Reason, Refusal
from gateway.web.api import refusal_response
from gateway.web.labels import HTTP_MESSAGES, field_label
from gateway.web.seed import sample_id_number
from tests.web.helpers import sign_in, start_web_gateway, wait_for

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--lang=zh-CN"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
PASSWORD = "window-password-1"
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "mobile": {"width": 390, "height": 844}}
ID_OK = sample_id_number("33010219880512345")

_STRIP = "()[]{},.;:!?\"'"
_LETTERS = re.compile(r"[A-Za-z]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def english_sentences(text: str) -> list[str]:
    """The runs of three or more ASCII words in ``text`` (see the module docstring)."""
    found = []
    for segment in _NON_ASCII.split(text):
        run: list[str] = []
        for token in [*segment.split(), ""]:
            if token and _LETTERS.fullmatch(token.strip(_STRIP)):
                run.append(token)
                continue
            if len(run) >= 3:
                found.append(" ".join(run))
            run = []
    return found


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


# -- the site ----------------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    gw, sims = start_web_gateway(tmp_path_factory.mktemp("no-english"))
    accounts = gw.gateway.cases.accounts
    accounts.create("suzhou", PASSWORD, role=Role.CLERK, city="suzhou", display_name="王窗口")
    accounts.create("hangzhou", PASSWORD, role=Role.CLERK, city="hangzhou", display_name="李窗口")
    accounts.create("handler-zj", PASSWORD, role=Role.HANDLER, region="ZJ", display_name="浙江审批")
    accounts.create("handler-sh", PASSWORD, role=Role.HANDLER, region="SH", display_name="上海审批")
    accounts.create("auditor", PASSWORD, role=Role.AUDITOR, display_name="审计员")
    yield gw
    gw.stop()
    sims.stop()


def _upload(client: httpx.Client, name: str, data: bytes) -> dict[str, Any]:
    r = client.post("/api/uploads", params={"filename": name}, content=data,
                    headers={"Content-Type": "application/pdf"})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def _body(clerk: httpx.Client, **over: Any) -> dict[str, Any]:
    """A valid submission of 企业设立登记 to Zhejiang with every required material."""
    materials = [
        {"material_id": m, "upload_id": _upload(clerk, f"{m}.pdf", b"%PDF-1.4 " + m.encode())[
            "upload_id"]}
        for m in ("M01", "M02", "M03", "M05")
    ]  # fmt: skip
    body = {
        "matter_code": "010010300100",
        "handling_region": "ZJ",
        "handling_mode": "异地代收代办",
        "applicant": {"name": "赵六", "id_number": ID_OK},
        "materials": materials,
        "note": "测试",
    }
    body.update(over)
    return body


@pytest.fixture(scope="module")
def finished(site):
    """A case taken to the end: accepted by the ZJ simulator, approved, archived, rated."""
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    handler = sign_in(site.http_url, "handler-zj", PASSWORD)
    r = clerk.post("/api/cases", json=_body(clerk))
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    wait_for(lambda: clerk.get(f"/api/cases/{case_id}").json()["status"] == "accepted", 30)
    for step in ("transferred", "approved", "certificate_issued"):
        r = handler.post(f"/api/cases/{case_id}/transitions", json={"to": step, "note": "同意"})
        assert r.status_code == 200, r.text
    for step in ("archived",):
        r = clerk.post(f"/api/cases/{case_id}/transitions", json={"to": step})
        assert r.status_code == 200, r.text
    clerk.post(f"/api/cases/{case_id}/rating", json={"grade": 5})
    case = clerk.get(f"/api/cases/{case_id}").json()
    clerk.close()
    handler.close()
    return case


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
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


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
    expect(page.locator("#verdict")).to_contain_text("全部核验通过")
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


# -- API errors --------------------------------------------------------------------------------


def _check_error(response: httpx.Response, where: str, found: dict[str, list[str]]) -> dict:
    assert response.status_code >= 400, (where, response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, (where, body)
    error = body["error"]
    assert {"code", "message", "field"} <= set(error), (where, error)
    assert error["code"] and error["code"].isascii(), (where, error)
    assert re.search(r"[\u4e00-\u9fff]", error["message"]), (where, error)
    if error["field"]:
        assert error.get("field_label") and re.search(r"[\u4e00-\u9fff]", error["field_label"])
    bad = [
        s
        for key, value in error.items()
        if key not in ("code", "field") and isinstance(value, str)
        for s in english_sentences(value)
    ]
    if bad:
        found[where] = bad
    return error


def test_every_api_error_reads_in_chinese(site, finished):
    base, case_id = site.http_url, finished["case_id"]
    clerk = sign_in(base, "suzhou", PASSWORD)
    other = sign_in(base, "hangzhou", PASSWORD)
    zj = sign_in(base, "handler-zj", PASSWORD)
    sh = sign_in(base, "handler-sh", PASSWORD)
    auditor = sign_in(base, "auditor", PASSWORD)
    anonymous = httpx.Client(base_url=base, timeout=30)
    found: dict[str, list[str]] = {}
    up = _upload(clerk, "a.pdf", b"%PDF-1.4 a")["upload_id"]
    body = _body(clerk)
    live = clerk.post("/api/cases", json=_body(clerk)).json()["case_id"]
    wait_for(lambda: clerk.get(f"/api/cases/{live}").json()["status"] == "accepted", 30)
    steps = f"/api/cases/{live}/transitions"
    deep = "[" * 200 + "]" * 200
    cases: dict[str, httpx.Response] = {
        # sign-in and sessions
        "anonymous": anonymous.get("/api/cases"),
        "bad token": httpx.get(base + "/api/cases", headers={"Authorization": "Bearer x"}),
        "wrong password": anonymous.post(
            "/api/auth/sign-in", json={"username": "suzhou", "password": "wrong-password"}
        ),
        "sign-in no password": anonymous.post("/api/auth/sign-in", json={"username": "a"}),
        "sign-in not json": anonymous.post(
            "/api/auth/sign-in", content=b"{", headers={"Content-Type": "application/json"}
        ),
        # framework answers
        "no such route": clerk.get("/api/no-such-thing"),
        "wrong method": clerk.delete("/api/cases"),
        # body limits
        "too deep": anonymous.post("/api/audit/verify", content=deep.encode()),
        "too large": clerk.post("/api/auth/sign-in", content=b"{" + b" " * 300_000 + b"}"),
        # reference data
        "unknown matter": clerk.get("/api/matters/999999999999"),
        "unknown matter in region": clerk.get("/api/matters/010010300100?region=XX"),
        "compare unknown region": clerk.get("/api/matters/010010300100/compare?regions=XX"),
        "compare bad date": clerk.get("/api/matters/010010300100/compare?reference_date=x"),
        "compare date past the calendar": clerk.get(
            "/api/matters/200051200100/compare?reference_date=9999-12-31"
        ),
        "compare unknown matter": clerk.get("/api/matters/999999999999/compare"),
        # uploads
        "upload empty": clerk.post("/api/uploads", params={"filename": "a.pdf"}, content=b""),
        "upload no filename": clerk.post("/api/uploads", content=b"x"),
        # submissions
        "submit empty body": clerk.post("/api/cases", json={}),
        "submit applicant not an object": clerk.post("/api/cases", json={**body, "applicant": 1}),
        "submit materials not a list": clerk.post("/api/cases", json={**body, "materials": 3}),
        "submit other city": clerk.post("/api/cases", json={**body, "receiving_city": "hangzhou"}),
        "submit unknown matter": clerk.post("/api/cases", json={**body, "matter_code": "999"}),
        "submit bad region": clerk.post("/api/cases", json={**body, "handling_region": "XX"}),
        "submit own region": clerk.post("/api/cases", json={**body, "handling_region": "JS"}),
        "submit bad mode": clerk.post("/api/cases", json={**body, "handling_mode": "邮寄"}),
        "submit no name": clerk.post(
            "/api/cases", json={**body, "applicant": {"name": " ", "id_number": ID_OK}}
        ),
        "submit bad id": clerk.post(
            "/api/cases",
            json={
                **body,
                "applicant": {
                    "name": "赵六",
                    "id_number": ID_OK[:-1] + ("1" if ID_OK[-1] != "1" else "2"),
                },
            },
        ),
        "submit short id": clerk.post(
            "/api/cases", json={**body, "applicant": {"name": "赵六", "id_number": "3301"}}
        ),
        "submit level too low": clerk.post(
            "/api/cases",
            json={
                **body,
                "matter_code": "200070300200",
                "handling_mode": "全程网办",
                "applicant": {
                    "name": "赵六",
                    "id_number": ID_OK,
                    "auth_methods": ["password", "sms_otp"],
                },
            },
        ),
        "submit bad auth method": clerk.post(
            "/api/cases",
            json={
                **body,
                "applicant": {"name": "赵六", "id_number": ID_OK, "auth_methods": ["telepathy"]},
            },
        ),
        "submit unknown material": clerk.post(
            "/api/cases", json={**body, "materials": [{"material_id": "M99", "upload_id": up}]}
        ),
        "submit material twice": clerk.post(
            "/api/cases",
            json={**body, "materials": [{"material_id": "M01", "upload_id": up}] * 2},
        ),
        "submit unknown upload": clerk.post(
            "/api/cases", json={**body, "materials": [{"material_id": "M01", "upload_id": "x"}]}
        ),
        "submit other window's upload": other.post(
            "/api/cases",
            json={
                **body,
                "handling_region": "AH",
                "materials": [{"material_id": "M01", "upload_id": up}],
            },
        ),
        "submit as handler": zj.post("/api/cases", json=body),
        # lists and reads
        "list bad status": clerk.get("/api/cases?status=bogus"),
        "list bad city": clerk.get("/api/cases?city=bogus"),
        "list bad province": clerk.get("/api/cases?province=XX"),
        "list bad overdue": clerk.get("/api/cases?overdue=maybe"),
        "no such case": clerk.get("/api/cases/no-such-case"),
        "other province's case": sh.get(f"/api/cases/{case_id}"),
        "applicant as handler": zj.get(f"/api/cases/{case_id}/applicant"),
        "no such material": clerk.get(f"/api/cases/{case_id}/materials/M99"),
        "material as auditor": auditor.get(f"/api/cases/{case_id}/materials/M01"),
        "no such receipt": clerk.get("/api/receipts/no-such-exchange.json"),
        "no such audit exchange": auditor.get("/api/audit/exchanges/no-such-exchange"),
        "no such audit case": auditor.get("/api/audit/cases/no-such-case/exchanges"),
        # transitions
        "transition no body": zj.post(steps),
        "transition unknown status": zj.post(steps, json={"to": "teleported"}),
        "transition out of order": zj.post(steps, json={"to": "approved"}),
        "transition wrong actor": clerk.post(steps, json={"to": "transferred"}),
        "transition wrong province": sh.post(steps, json={"to": "transferred"}),
        "transition other window": other.post(steps, json={"to": "archived"}),
        "transition by auditor": auditor.post(steps, json={"to": "transferred"}),
        "transition after archive": clerk.post(
            f"/api/cases/{case_id}/transitions", json={"to": "archived"}
        ),
        # ratings
        "rating out of range": clerk.post(f"/api/cases/{live}/rating", json={"grade": 9}),
        "rating not a number": clerk.post(f"/api/cases/{live}/rating", json={"grade": "x"}),
        "rating unfinished": clerk.post(f"/api/cases/{live}/rating", json={"grade": 4}),
        "rating by handler": zj.post(f"/api/cases/{case_id}/rating", json={"grade": 4}),
        "rating twice": clerk.post(f"/api/cases/{case_id}/rating", json={"grade": 4}),
    }
    seen = {where: _check_error(r, where, found) for where, r in cases.items()}
    # the words the issue quoted, now in Chinese
    assert seen["wrong password"]["message"] == "登录失败：用户名或密码错误"
    level = seen["submit level too low"]
    assert level["code"] == "invalid_identity"
    assert "申请人认证等级不足：需要“高”，实际“较高”" in level["message"]
    assert seen["submit bad id"]["field_label"] == "申请人身份证号"
    assert ID_OK[:-1] not in seen["submit bad id"]["message"]
    missing = seen["sign-in no password"]
    assert (missing["field"], missing["field_label"]) == ("password", "密码")
    assert missing["message"] == "密码必须填写"
    assert seen["submit empty body"]["field"] in ("matter_code", "handling_region")
    assert seen["rating out of range"]["message"] == "评价等级不能大于 5"
    assert seen["list bad overdue"]["field_label"] == "是否超期"
    assert seen["sign-in not json"]["message"] == "请求内容不是有效的 JSON"
    assert seen["compare bad date"]["message"] == "参考受理日应为日期（YYYY-MM-DD）"
    assert seen["submit materials not a list"]["field_label"] == "材料"
    assert seen["no such route"]["code"] == "not_found"
    assert seen["wrong method"]["code"] == "method_not_allowed"
    # the throttle, last: five failures lock the account
    for _ in range(6):
        locked = anonymous.post(
            "/api/auth/sign-in", json={"username": "hangzhou", "password": "wrong-password"}
        )
    assert locked.status_code == 429
    _check_error(locked, "throttled", found)
    for client in (clerk, other, zj, sh, auditor, anonymous):
        client.close()
    assert not found, "English in API errors:\n" + json.dumps(found, ensure_ascii=False, indent=1)


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_every_gateway_refusal_reads_in_chinese(reason):
    response = refusal_response(Refusal(reason, "an english detail for the operator log"))
    error = json.loads(response.body)["error"]
    assert error["code"] == reason
    assert re.search(r"[\u4e00-\u9fff]", error["message"])
    assert english_sentences(error["message"]) == []


def test_framework_statuses_and_field_labels_read_in_chinese():
    for code, message in HTTP_MESSAGES.values():
        assert code.isascii() and english_sentences(message) == []
    assert field_label("applicant.id_number") == "申请人身份证号"
    assert field_label("materials[1].upload_id") == "第 2 项材料上传编号"
    assert field_label("something.unknown") == "请求中的某一字段"


def test_a_province_system_refusal_reads_in_chinese_on_the_timeline():
    # the delivery error the outbox records, as gateway.exchange.delivery writes it
    error = "partner refused: http 422: bad_id_number: the id number failed its check digit"
    note = partner_refusal_zh(error)
    assert note == "承办地系统拒收该办件（HTTP 422，代码 bad_id_number）"
    assert partner_refusal_zh("partner refused: http 400") == "承办地系统拒收该办件（HTTP 400）"
    assert partner_refusal_zh(None) == "承办地系统拒收该办件"
    assert english_sentences(note) == []
