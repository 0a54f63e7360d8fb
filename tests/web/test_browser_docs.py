"""``/docs`` with no network, and a bookmarked page in a new tab (issue 14, API hygiene), in
real headless Chromium (Debian's, driven by Playwright).

- ``/docs``: every request that is not to the gateway on loopback is aborted (a window's
  intranet with no way out); the page still lists the operations, and asked for nothing
  outside. Screenshots at 1366x768 and at a 390-px-wide mobile viewport.
- a bookmark: a clerk signs in in one tab, then opens a case URL in a new tab (its own
  ``sessionStorage``, the same cookie): the case opens without a new sign-in, and the tab
  can write (the page got a bearer token: the cookie alone never writes). Without the cookie
  the same URL asks to sign in.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.cases import Role
from gateway.web.seed import sample_id_number
from tests.web.chromium import launch, needs_chromium, shot
from tests.web.helpers import sign_in, start_web_gateway

PASSWORD = "bookmark-password-1"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "mobile": {"width": 390, "height": 844}}

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    gw, sims = start_web_gateway(Path(tmp_path_factory.mktemp("docs")))
    gw.gateway.cases.accounts.create(
        "wuhu", PASSWORD, role=Role.CLERK, city="wuhu", display_name="芜湖窗口"
    )
    yield gw
    gw.stop()
    sims.stop()


@pytest.fixture(scope="module")
def browser():
    yield from launch()


def _shot(page, name: str) -> None:
    shot(page, name, full_page=False)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_docs_lists_the_operations_with_no_network(site, browser, viewport: str) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN", viewport=VIEWPORTS[viewport])
    outside: list[str] = []

    def only_loopback(route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:  # the network a window's intranet does not have
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_loopback)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(site.http_url + "/docs")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible(timeout=30_000)
    assert operations.count() >= 20
    expect(page.locator(".opblock-summary-path", has_text="/api/cases/{case_id}").first)
    expect(page.locator("body")).to_contain_text("/api/auth/sign-in")
    expect(page.locator(".btn.authorize")).to_be_visible()  # the declared security schemes
    _shot(page, f"docs-offline-{viewport}")
    assert outside == [], f"/docs asked the network for {outside}"
    assert errors == []
    context.close()


def _submit_case(base: str) -> dict:
    """A case by REST, with a file for every required material of the matter."""
    clerk = sign_in(base, "wuhu", PASSWORD)
    matter = clerk.get("/api/matters/010010300100", params={"region": "ZJ"}).json()
    materials = []
    for m in matter["materials"]:
        if m.get("required") and not m.get("shareable"):
            up = clerk.post(
                "/api/uploads",
                params={"filename": f"{m['material_id']}.pdf"},
                content=b"%PDF-1.4 bookmark test",
                headers={"Content-Type": "application/pdf"},
            )
            assert up.status_code == 201, up.text
            materials.append({"material_id": m["material_id"], "upload_id": up.json()["upload_id"]})
    r = clerk.post(
        "/api/cases",
        json={
            "matter_code": "010010300100",
            "handling_region": "ZJ",
            "handling_mode": "异地代收代办",
            "applicant": {"name": "钱七", "id_number": sample_id_number("33050219900307123")},
            "materials": materials,
        },
    )
    assert r.status_code == 201, r.text
    clerk.close()
    return r.json()


def test_a_bookmarked_case_opens_in_a_new_tab_while_the_cookie_is_valid(site, browser) -> None:
    from playwright.sync_api import expect

    base = site.http_url
    case = _submit_case(base)
    bookmark = f"{base}/web/case.html?id={case['case_id']}"
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORTS["desktop"])
    first = context.new_page()
    first.goto(base + "/web/")
    first.fill("#username", "wuhu")
    first.fill("#password", PASSWORD)
    first.click("#sign-in")
    first.wait_for_url(re.compile(r"/web/cases\.html"))
    # a new tab: empty sessionStorage, the same HttpOnly cookie
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(bookmark)
    tab.wait_for_url(re.compile(r"/web/case\.html\?id="), timeout=30_000)
    expect(tab.locator("body")).to_contain_text(case["number"], timeout=30_000)
    expect(tab.locator("header.top .who")).to_contain_text("芜湖")
    assert tab.evaluate("sessionStorage.getItem('yrd.token')")
    # the tab can write: its requests carry the bearer token, not just the cookie
    staged = tab.evaluate(
        """() => YRD.api('/api/uploads?filename=extra.pdf', {method: 'POST',
                 body: '%PDF-1.4 x', headers: {'Content-Type': 'application/pdf'}})"""
    )
    assert staged["upload_id"]
    _shot(tab, "bookmark-new-tab-desktop")
    assert errors == []
    # without the cookie (another browser, or signed out): the sign-in page, then back
    stranger = browser.new_context(locale="zh-CN", viewport=VIEWPORTS["mobile"])
    other = stranger.new_page()
    other.goto(bookmark)
    other.wait_for_url(re.compile(r"/web/index\.html\?next="))
    expect(other.locator("#sign-in")).to_be_visible()
    _shot(other, "bookmark-no-cookie-mobile")
    other.fill("#username", "wuhu")
    other.fill("#password", PASSWORD)
    other.click("#sign-in")
    other.wait_for_url(re.compile(r"/web/case\.html\?id="))
    expect(other.locator("body")).to_contain_text(case["number"], timeout=30_000)
    stranger.close()
    context.close()


def test_the_cookie_alone_reads_but_never_writes(site) -> None:
    """The CSRF rule stays: ``/api/auth/session`` answers to the cookie, a write does not."""
    base = site.http_url
    signed = httpx.post(f"{base}/api/auth/sign-in", json={"username": "wuhu", "password": PASSWORD})
    cookie = {"yrd_session": signed.cookies["yrd_session"]}
    with httpx.Client(base_url=base, cookies=cookie, timeout=30) as browser_like:
        session = browser_like.get("/api/auth/session")
        assert session.status_code == 200
        assert session.json()["account"]["username"] == "wuhu"
        token = session.json()["token"]
        write = browser_like.post(
            "/api/uploads", params={"filename": "x.pdf"}, content=b"x",
            headers={"Content-Type": "application/pdf"},
        )  # fmt: skip
        assert write.status_code == 401
        assert write.json()["error"]["code"] == "unauthenticated"
        write = browser_like.post(
            "/api/uploads", params={"filename": "x.pdf"}, content=b"x",
            headers={"Content-Type": "application/pdf", "Authorization": f"Bearer {token}"},
        )  # fmt: skip
        assert write.status_code == 201
    nobody = httpx.get(f"{base}/api/auth/session", cookies={"yrd_session": "made-up"})
    assert nobody.status_code == 401 and nobody.json()["error"]["code"] == "unauthenticated"
    assert httpx.get(f"{base}/api/auth/session").status_code == 401
