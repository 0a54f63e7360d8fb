"""Shared by the no-English tests: the rule, and a site with a finished case.

The rule (``english_sentences``): the text is cut into ASCII segments at every non-ASCII
character (so codes joined by 、 are not a sentence) and each segment is split at white
space; a token is a *word* when, stripped of surrounding punctuation (``( ) , . ; : ! ? "
'``), it is one or more ASCII letters and nothing else. Three or more words in a row
are an English sentence. So identifiers (``applicant.id_number``, ``yrd-audit``, ``M01``,
``SM4-GCM``), numbers, URLs, machine codes (``not_cross_region``), and one or two code or
dialect names beside Chinese text (``yrd-receipt/v1 JSON``, ``RFC 9162``) pass; "wrong
username or password" does not.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from gateway.cases import Role
from gateway.web.seed import sample_id_number
from tests.web.helpers import sign_in, start_web_gateway, wait_for

__all__ = ["ID_OK", "PASSWORD", "case_body", "english_sentences", "finished", "site", "upload"]

PASSWORD = "window-password-1"
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


def upload(client: httpx.Client, name: str, data: bytes) -> dict[str, Any]:
    r = client.post("/api/uploads", params={"filename": name}, content=data,
                    headers={"Content-Type": "application/pdf"})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def case_body(clerk: httpx.Client, **over: Any) -> dict[str, Any]:
    """A valid submission of 企业设立登记 to Zhejiang with every required material."""
    materials = [
        {"material_id": m, "upload_id": upload(clerk, f"{m}.pdf", b"%PDF-1.4 " + m.encode())[
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
    r = clerk.post("/api/cases", json=case_body(clerk))
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
