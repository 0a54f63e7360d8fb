"""身份核验 at a G60 window over REST (``POST /api/identity/recognize``): the province
simulators issue assertions over HTTP on loopback, a real gateway recognises them through
the shared recognition flow (the one gRPC uses), logs each with a receipt, and shows them
masked; every refusal is named by its reason, reads in Chinese, and writes nothing."""

from __future__ import annotations

import base64
import json
import re
import time

import httpx
import pytest

from gateway.cases import Role
from gateway.errors import Refusal
from gateway.identity.errors import RejectionReason
from gateway.identity.idp_simulator import set_identity_provider_key
from gateway.identity.recognition import ENTRY_TYPE
from gateway.ops.privacy import contains_raw_id_number
from gateway.web.identity_view import REFUSALS_ZH, identity_refusal
from ledger.receipt import verify_receipt
from tests.gateway.test_identity_grpc import tamper
from tests.web.english import english_sentences
from tests.web.helpers import sign_in, start_web_gateway

PASSWORD = "window-password-1"
PROVINCES = ("JS", "ZJ", "AH")
PERSON = {"JS": "js-0001", "ZJ": "zj-0001", "AH": "ah-0001"}
BAD_NUMBER = {"JS": "js-9001", "ZJ": "zj-9001", "AH": "ah-9001"}
LOW = {"JS": ["PWD"], "ZJ": ["urn:zjzwfw:ac:classes:Password"], "AH": ["02"]}
SUBSTANTIAL = {"JS": ["PWD", "SMS"], "ZJ": ["urn:zjzwfw:ac:classes:PasswordSmsOtp"], "AH": ["04"]}
MATTER_SUBSTANTIAL = "200060100100"  # 异地就医备案 (sample catalogue: substantial)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    gw, sims = start_web_gateway(tmp_path_factory.mktemp("web-identity"))
    for region, app in sims.sims.apps.items():  # the simulators sign with the listed IdP keys
        set_identity_provider_key(app, gw.env.idp_keys[region])
    accounts = gw.gateway.cases.accounts
    accounts.create("suzhou", PASSWORD, role=Role.CLERK, city="suzhou", display_name="王窗口")
    accounts.create("songjiang", PASSWORD, role=Role.CLERK, city="songjiang", display_name="李窗口")
    accounts.create("handler-zj", PASSWORD, role=Role.HANDLER, region="ZJ", display_name="浙江审批")
    gw.sim_urls = dict(sims.sims.urls)
    yield gw
    gw.stop()
    sims.stop()


def issue(site, region: str, person: str, **body) -> bytes:
    """An assertion from the province simulator's identity provider, over HTTP."""
    body = {"person_id": person, "audience": "yrd-gateway", **body}
    r = httpx.post(f"{site.sim_urls[region]}/identity/assert", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.content


def as_body(region: str, data: bytes, **extra) -> dict:
    """The request body: UTF-8/ASCII formats as text, others (Anhui GB18030) as base64."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if region == "AH" or not text:
        encoded = base64.b64encode(data).decode()
        return {"province": region, "assertion": encoded, "encoding": "base64", **extra}
    return {"province": region, "assertion": text, **extra}


def refused(site, clerk: httpx.Client, body: dict, status: int, code: str) -> dict:
    """The refusal of ``body``: status, code, a Chinese message with no English sentence,
    and nothing written to the log."""
    size = site.gateway.log.size
    r = clerk.post("/api/identity/recognize", json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    assert re.search(r"[\u4e00-\u9fff]", error["message"]), error
    assert english_sentences(error["message"]) == [], error
    assert site.gateway.log.size == size, "a refusal must write nothing to the log"
    return error


@pytest.mark.parametrize("region", PROVINCES)
def test_natural_person_is_recognised_logged_and_shown_masked(site, region):
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    data = issue(site, region, PERSON[region], methods=SUBSTANTIAL[region])
    size = site.gateway.log.size
    r = clerk.post("/api/identity/recognize", json=as_body(region, data))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["subject_kind"] == "natural_person" and out["subject_kind_name"] == "自然人"
    assert out["issuing_province"] == region
    assert out["level"] == "substantial" and out["level_name"] == "较高"
    assert out["method_names"] and all(
        re.search(r"[\u4e00-\u9fff]", m) for m in out["method_names"]
    )
    assert "*" in out["masked_name"] and "*" in out["masked_document_number"]
    assert re.fullmatch(r"[0-9A-Za-z_-]{16,}", out["person_key"]), out["person_key"]
    # the relying party is the Suzhou window's member: Jiangsu's
    assert out["relying_party"].startswith("JS"), out["relying_party"]
    # one log entry, the recognition's, with a receipt that verifies against the gateway's log
    assert site.gateway.log.size == size + 1
    receipt = out["receipt"]
    assert receipt["leaf_index"] == size
    verified = verify_receipt(receipt["document"], site.trust)
    entry = json.loads(verified.entry)
    assert entry["type"] == ENTRY_TYPE
    assert entry["recognition_id"] == out["recognition_id"]
    assert entry["relying_party"] == out["relying_party"]
    assert entry["issuing_province"] == region
    # nothing raw leaves the gateway: neither in the answer nor in the log entry
    assert contains_raw_id_number(r.text) == []
    assert contains_raw_id_number(verified.entry) == []
    assert out["person_key"] not in verified.entry.decode()


def test_relying_party_is_the_window_citys_region(site):
    clerk = sign_in(site.http_url, "songjiang", PASSWORD)  # 松江: Shanghai
    data = issue(site, "JS", PERSON["JS"], methods=SUBSTANTIAL["JS"])
    r = clerk.post("/api/identity/recognize", json=as_body("JS", data))
    assert r.status_code == 200, r.text
    assert r.json()["relying_party"].startswith("SH"), r.json()["relying_party"]


@pytest.mark.parametrize("region", PROVINCES)
def test_tampered_expired_audience_and_bad_number_are_refused(site, region):
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    good = issue(site, region, PERSON[region])
    error = refused(site, clerk, as_body(region, tamper(region, good)), 422, "bad_signature")
    assert error["code"] in RejectionReason.__members__.values()
    an_hour_ago = int(time.time()) - 3600
    old = issue(site, region, PERSON[region], issued_at=an_hour_ago, ttl_seconds=300)
    refused(site, clerk, as_body(region, old), 422, "expired")
    other = issue(site, region, PERSON[region], audience="some-other-portal")
    refused(site, clerk, as_body(region, other), 422, "wrong_audience")
    bad = issue(site, region, BAD_NUMBER[region])
    refused(site, clerk, as_body(region, bad), 422, "invalid_id_number")


def test_level_below_the_matters_minimum_names_both_levels(site):
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    low = issue(site, "ZJ", PERSON["ZJ"], methods=LOW["ZJ"])
    error = refused(
        site, clerk, as_body("ZJ", low, matter_code=MATTER_SUBSTANTIAL), 422, "level_too_low"
    )
    assert "较高" in error["message"] and "低" in error["message"], error


def test_wrong_province_garbage_and_unknown_matter(site):
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    js = issue(site, "JS", PERSON["JS"])
    refused(site, clerk, as_body("ZJ", js), 422, "malformed")  # a Jiangsu token is not ZJ XML
    refused(site, clerk, {"province": "JS", "assertion": "not-a-token"}, 422, "malformed")
    refused(site, clerk, as_body("JS", js, matter_code="999999999999"), 404, "not_found")


def test_replayed_assertion_is_refused_the_second_time(site):
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    data = issue(site, "JS", PERSON["JS"])
    first = clerk.post("/api/identity/recognize", json=as_body("JS", data))
    assert first.status_code == 200, first.text
    size = site.gateway.log.size
    second = clerk.post("/api/identity/recognize", json=as_body("JS", data))
    assert second.status_code == 409, second.text
    assert second.json()["error"]["code"] == "replay"
    assert site.gateway.log.size == size


def test_input_and_account_checks(site):
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    size = site.gateway.log.size
    r = clerk.post(
        "/api/identity/recognize",
        json={"province": "AH", "assertion": "%%% not base64", "encoding": "base64"},
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "assertion", r.text
    r = clerk.post("/api/identity/recognize", json={"province": "XX", "assertion": "x"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "province", r.text
    big = {"province": "JS", "assertion": "a" * (128 * 1024 + 1)}
    r = clerk.post("/api/identity/recognize", json=big)
    assert r.status_code == 422 and r.json()["error"]["field"] == "assertion", r.text
    handler = sign_in(site.http_url, "handler-zj", PASSWORD)
    r = handler.post("/api/identity/recognize", json={"province": "JS", "assertion": "x"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
    r = httpx.post(
        site.http_url + "/api/identity/recognize", json={"province": "JS", "assertion": "x"}
    )
    assert r.status_code == 401, r.text
    assert site.gateway.log.size == size


def test_dev_samples_do_not_exist_outside_dev(site):
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    formats = clerk.get("/api/identity/formats").json()
    assert formats["dev"] is False
    assert {f["province"] for f in formats["formats"]} >= set(PROVINCES)
    assert next(f for f in formats["formats"] if f["province"] == "AH")["binary"] is True
    assert next(f for f in formats["formats"] if f["province"] == "JS")["binary"] is False
    r = clerk.get("/api/identity/samples", params={"province": "JS"})
    assert r.status_code == 404, r.text
    r = clerk.post("/api/identity/sample", json={"province": "JS", "sample_id": "js-0001"})
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("reason", sorted(RejectionReason))
def test_every_rejection_reason_has_its_own_chinese_words(reason):
    """REPLAY, REVOKED and WRONG_SUBJECT_KIND too: each reason its own message, its code."""
    r = identity_refusal(Refusal(reason, "english detail that must not be shown"))
    body = json.loads(r.body)["error"]
    assert body["code"] == reason
    assert body["message"] == REFUSALS_ZH[reason][1] or reason == "level_too_low"
    assert english_sentences(body["message"]) == [] and "english" not in body["message"]
    assert r.status_code == (409 if reason == "replay" else 422)


def test_refusal_messages_are_distinct():
    messages = [m for _, m in REFUSALS_ZH.values()]
    assert len(set(messages)) == len(messages)


@pytest.mark.parametrize(
    ("detail", "words"),
    [
        ("js-token/1 organisation uscc check character mismatch", "统一社会信用代码无效"),
        ("zj-saml/1 role: unknown code 'X'", "办理人角色无效"),
        ("assertion: not a token", "格式错误"),
    ],
)
def test_malformed_names_the_legal_person_check(detail, words):
    body = json.loads(identity_refusal(Refusal("malformed", detail)).body)["error"]
    assert body["code"] == "malformed" and words in body["message"], body
