"""E-licences at the window: ``POST /api/licences/verify`` (REST, real HTTP on loopback) and
the page ``/web/licences.html`` in real headless Chromium, valid and refused, with the reason
in Chinese. Screenshots at 1366x768 and 390 px wide go to ``test-artifacts/web/``."""

from __future__ import annotations

import base64
import re

import httpx
import pytest

from gateway.cases import Role
from gateway.licences import CHINESE_REASONS
from tests.licences.support import HOLDER_KEY, OTHER_KEY, Licences, revoke_in_js
from tests.licences.test_verify import CASES
from tests.web.chromium import launch, needs_chromium, shot
from tests.web.helpers import sign_in, start_web_gateway

PASSWORD = "clerk-password-1"
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "mobile": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    gw, sims = start_web_gateway(tmp_path_factory.mktemp("web-licences"), mutate=revoke_in_js)
    gw.gateway.cases.accounts.create(
        "suzhou", PASSWORD, role=Role.CLERK, city="suzhou", display_name="王窗口"
    )
    yield gw
    gw.stop()
    sims.stop()


@pytest.fixture(scope="module")
def clerk(site):
    client = sign_in(site.http_url, "suzhou", PASSWORD)
    yield client
    client.close()


def test_rest_valid_licence(site, clerk):
    data = Licences(site.env).licence()
    r = clerk.post(
        "/api/licences/verify", json={"licence": data.decode(), "holder_key": HOLDER_KEY}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["valid"] is True and body["reason"] is None
    assert body["licence"]["type_label"] == "营业执照"
    assert body["licence"]["holder"]["key"] == HOLDER_KEY
    # the same licence in base64 (a file a window uploads) is the same licence
    b64 = base64.b64encode(data).decode()
    assert clerk.post("/api/licences/verify", json={"licence": b64}).json()["valid"] is True


@pytest.mark.parametrize("case", sorted(CASES))
def test_rest_each_refusal_in_chinese(site, clerk, case):
    make, reason, check = CASES[case]
    data = make(Licences(site.env))
    text = data.decode("utf-8", "replace") if data.startswith(b"{") else base64.b64encode(
        data).decode()  # fmt: skip
    r = clerk.post("/api/licences/verify", json={"licence": text})
    if r.status_code == 422:  # over the field's length: the request itself is refused
        assert case == "oversized" and r.json()["error"]["code"] == "invalid"
        return
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["valid"] is False
    assert (body["reason"], body["check"]) == (reason.name, check), body["detail"]
    assert body["message"] == CHINESE_REASONS[reason]


def test_rest_holder_mismatch(site, clerk):
    data = Licences(site.env).licence().decode()
    body = clerk.post(
        "/api/licences/verify", json={"licence": data, "holder_key": OTHER_KEY}
    ).json()
    assert body["reason"] == "HOLDER_MISMATCH" and body["message"] == "证照持有人与申请人不一致"
    assert body["licence"]["licence_id"] == "JS-LIC-0001"  # shown, but not verified


def test_rest_errors_use_the_error_shape(site):
    url = site.http_url + "/api/licences/verify"
    r = httpx.post(url, json={"licence": "x"}, timeout=30)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    client = sign_in(site.http_url, "suzhou", PASSWORD)
    try:
        r = client.post("/api/licences/verify", json={})
        assert r.status_code == 422
        error = r.json()["error"]
        assert error["code"] == "invalid" and error["field"] and not error["message"].isascii()
    finally:
        client.close()


@pytest.fixture(scope="module")
def browser():
    yield from launch()


@needs_chromium
@pytest.mark.parametrize("view", list(VIEWPORTS))
def test_the_page_shows_verified_and_refused(site, browser, view):
    from playwright.sync_api import expect

    lic = Licences(site.env)
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORTS[view])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(site.http_url + "/web/")
    page.fill("#username", "suzhou")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/web/(?!index)[a-z]+\.html"))
    page.goto(site.http_url + "/web/licences.html")
    expect(page.locator("header nav")).to_contain_text("证照核验")
    # (1) a valid licence, for its holder
    page.fill("#licence", lic.licence().decode())
    page.fill("#holder", HOLDER_KEY)
    page.click("#verify")
    expect(page.locator("#verdict")).to_have_text("已核验")
    expect(page.locator("#result")).to_contain_text("营业执照")
    expect(page.locator("#result")).to_contain_text("江苏")
    shot(page, f"licences-{view}-1-valid")
    # (2) the same licence presented for another applicant
    page.fill("#holder", OTHER_KEY)
    page.click("#verify")
    expect(page.locator("#verdict")).to_contain_text("未通过")
    expect(page.locator("#reason")).to_have_text("证照持有人与申请人不一致")
    shot(page, f"licences-{view}-2-holder-mismatch")
    # (3) an expired licence, no holder given
    page.fill("#holder", "")
    page.fill("#licence", CASES["expired"][0](lic).decode())
    page.click("#verify")
    expect(page.locator("#reason")).to_have_text("证照已过有效期")
    shot(page, f"licences-{view}-3-expired")
    assert not errors, errors
    context.close()
