"""身份核验 in real headless Chromium (Debian's, driven by Playwright), at a desk (1366x768)
and on a phone (390 px wide).

Parametrized over every identity format in the dialect catalogue and over the sample people
and sample organisations of its mapping data, so a new province format or legal-person
samples join by themselves (a format with no sample organisations yet is skipped, saying
so). With ``--dev`` on, a Suzhou clerk picks each sample, fetches a fresh assertion with the
dev-only button and recognises it: the page shows 自然人/法人, the masked name and number
(for a legal person the masked enterprise, credit code, role and agent), the level and the
methods in Chinese, the key and the receipt's leaf; a sample with a wrong check digit is
refused in Chinese. Without the button: a Jiangsu token pasted, an Anhui GB18030 file
uploaded, a tampered Zhejiang assertion refused. Screenshots: ``test-artifacts/web/identity-*``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping

import httpx
import pytest

from gateway.cases import Role
from gateway.dialects import default_dialects
from gateway.identity.errors import IdentityError
from gateway.identity.idp_simulator import set_identity_provider_key
from gateway.identity.validation import validate_document_number, validate_uscc
from gateway.regions import REGIONS
from tests.gateway.test_identity_grpc import tamper
from tests.web.chromium import launch, needs_chromium, shot
from tests.web.english import english_sentences
from tests.web.helpers import sign_in, start_web_gateway

PASSWORD = "window-password-1"
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "mobile": {"width": 390, "height": 844}}
SIM_PERSON = {"JS": "js-0001", "ZJ": "zj-0001", "AH": "ah-0001"}

pytestmark = needs_chromium


def _formats() -> dict[str, object]:
    """Every region's identity format in the catalogue (collected when the module loads)."""
    out = {}
    catalogue = default_dialects()
    for region in REGIONS:
        try:
            fmt = catalogue.get(str(region)).identity
        except Exception:
            continue
        if fmt is not None:
            out[str(region)] = fmt
    return out


FORMATS = _formats()


def _organisations(fmt) -> list[Mapping]:
    found = getattr(fmt, "sample_organisations", None) or {}
    return list(found.values() if isinstance(found, Mapping) else found)


def _valid_number(person: Mapping) -> bool:
    """Whether a sample person's document number passes its check (some samples fail on
    purpose, for refusal tests)."""
    try:
        validate_document_number(person["document_type"], person["document_number"])
    except (IdentityError, ValueError):
        return False
    return True


def _valid_organisation(fmt, org: Mapping) -> bool:
    """Whether a sample organisation's credit code passes GB 32100 (and its agent's number
    its check); some samples fail on purpose."""
    try:
        validate_uscc(org["uscc"])
    except (IdentityError, ValueError):
        return False
    agent = fmt.sample_people.get(org.get("agent_person_id"))
    return agent is not None and _valid_number(agent)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    gw, sims = start_web_gateway(tmp_path_factory.mktemp("web-identity-dev"), dev=True)
    for region, app in sims.sims.apps.items():
        set_identity_provider_key(app, gw.env.idp_keys[region])
    accounts = gw.gateway.cases.accounts
    accounts.create("suzhou", PASSWORD, role=Role.CLERK, city="suzhou", display_name="王窗口")
    gw.sim_urls = dict(sims.sims.urls)
    yield gw
    gw.stop()
    sims.stop()


@pytest.fixture(scope="module")
def browser():
    yield from launch()


def _page(browser, viewport: dict, base: str):
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/web/")
    page.fill("#username", "suzhou")
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/web/cases\.html"))
    page.click("text=身份核验")
    page.wait_for_url(re.compile(r"/web/identity\.html"))
    page.wait_for_selector("#province option", state="attached")
    return context, page, errors


def _recognise(page) -> None:
    page.click("#recognize")
    page.wait_for_selector("#result h2")


def _check_person(page, *, legal: bool) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#kind")).to_have_text("法人" if legal else "自然人")
    assert "*" in page.inner_text("#name")
    assert "*" in page.inner_text("#number")
    assert page.inner_text("#level") in ("低", "较高", "高")
    assert re.search(r"[\u4e00-\u9fff]", page.inner_text("#methods"))
    assert re.fullmatch(r"\d+", page.inner_text("#leaf"))
    assert page.inner_text("#person-key").strip()
    if legal:
        assert "*" in page.inner_text("#org-name")
        assert "*" in page.inner_text("#uscc")
        assert page.inner_text("#role") in ("法定代表人", "经办人")
    assert english_sentences(page.inner_text("#result")) == []


CASES = [(region, kind) for region in FORMATS for kind in ("natural_person", "legal_person")]


@pytest.mark.parametrize(("region", "kind"), CASES, ids=[f"{r}-{k}" for r, k in CASES])
def test_every_sample_subject_is_recognised_on_the_page(site, browser, region, kind):
    fmt = FORMATS[region]
    if kind == "natural_person":
        samples = [(pid, _valid_number(p)) for pid, p in fmt.sample_people.items()]
    else:
        samples = [(o["organisation_id"], _valid_organisation(fmt, o)) for o in _organisations(fmt)]
        assert samples, f"{region}: the format's mapping data has no sample_organisations"
    assert samples, f"{region}: no sample people in the mapping data"
    for layout, viewport in VIEWPORTS.items():
        context, page, errors = _page(browser, viewport, site.http_url)
        page.select_option("#province", region)
        page.wait_for_selector(f"#sample option[value='{samples[0][0]}']", state="attached")
        deadline = time.monotonic() + 120
        todo = samples if layout == "desktop" else samples[:1]  # the phone: the first only
        for sample_id, valid in todo:
            assert time.monotonic() < deadline, "the samples took too long"
            page.select_option("#sample", sample_id)
            page.click("#fetch-sample")
            page.wait_for_function(
                "document.querySelector('#assertion').value || "
                "document.querySelector('#file-hint').textContent"
            )
            _recognise(page)
            if valid:
                _check_person(page, legal=kind == "legal_person")
            elif kind == "natural_person":
                refusal = page.locator("#refusal")
                assert refusal.get_attribute("data-code") == "invalid_id_number"
                assert "证件号码无效" in refusal.inner_text()
            else:  # a sample organisation with a wrong credit code, on purpose
                refusal = page.locator("#refusal")
                assert refusal.get_attribute("data-code") == "malformed"
                assert "统一社会信用代码无效" in refusal.inner_text()
            if sample_id == samples[0][0]:
                shot(page, f"identity-{region}-{kind}-{layout}")
        assert errors == []
        context.close()


def test_pasted_uploaded_and_tampered_assertions(site, browser):
    """No dev button: a pasted Jiangsu token, an uploaded Anhui GB18030 file, and a
    tampered Zhejiang assertion (refused, in Chinese)."""

    def issue(region: str) -> bytes:
        body = {"person_id": SIM_PERSON[region], "audience": "yrd-gateway"}
        r = httpx.post(f"{site.sim_urls[region]}/identity/assert", json=body, timeout=30)
        assert r.status_code == 200, r.text
        return r.content

    for layout, viewport in VIEWPORTS.items():
        context, page, errors = _page(browser, viewport, site.http_url)
        page.select_option("#province", "JS")
        page.fill("#assertion", issue("JS").decode("ascii"))
        _recognise(page)
        _check_person(page, legal=False)
        page.select_option("#province", "AH")
        page.wait_for_function(
            "document.querySelector('#format-hint').textContent.includes('二进制')"
        )
        data = issue("AH")
        page.set_input_files(
            "#file", files=[{"name": "ah.json", "mimeType": "application/json", "buffer": data}]
        )
        page.wait_for_function("document.querySelector('#file-hint').textContent.includes('字节')")
        _recognise(page)
        _check_person(page, legal=False)
        shot(page, f"identity-upload-{layout}")
        page.select_option("#province", "ZJ")
        page.fill("#assertion", tamper("ZJ", issue("ZJ")).decode("utf-8"))
        size = site.gateway.log.size
        _recognise(page)
        refusal = page.locator("#refusal")
        assert refusal.get_attribute("data-code") == "bad_signature"
        assert "签名无效" in refusal.inner_text()
        assert english_sentences(refusal.inner_text()) == []
        assert site.gateway.log.size == size
        shot(page, f"identity-refused-{layout}")
        assert errors == []
        context.close()


def test_dev_samples_are_offered_with_dev_on(site):
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    assert clerk.get("/api/identity/formats").json()["dev"] is True
    rows = clerk.get("/api/identity/samples", params={"province": "JS"}).json()
    assert {"js-0001", "js-9001"} <= {r["sample_id"] for r in rows}
    assert all("*" in r["label"] for r in rows if r["kind"] == "natural_person")
    r = clerk.post("/api/identity/sample", json={"province": "JS", "sample_id": "nobody"})
    assert r.status_code == 404, r.text
