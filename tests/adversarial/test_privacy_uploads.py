"""Finding 10: ID numbers in upload file names and in notes, however written, are masked
before they are stored or shown.

A real gateway (uvicorn + gRPC on loopback) with real province simulators; the proof is a
scan of every byte the gateway wrote to its data directory (cases.db and its -wal included)
and of every API answer that shows the case.
"""

from __future__ import annotations

import json
import unicodedata

import pytest

from gateway.app.compose import CaseOptions
from gateway.cases import Role
from gateway.ops.privacy import contains_raw_id_number
from gateway.web.seed import sample_id_number
from tests.adversarial.probes import stored_blobs
from tests.web.helpers import BusinessClock, complete_materials, sign_in, start_web_gateway

PASSWORD = "correct-horse-battery"
APPLICANT_ID = sample_id_number("32050219900307123")
IN_NAME = "110101199003074514"  # valid (GB 11643)
IN_NOTE = sample_id_number("31010519851201002")
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _spaced(n: str) -> str:
    return " ".join([n[0:4], n[4:8], n[8:12], n[12:16], n[16:]])


def _hyphenated(n: str) -> str:
    return f"{n[:6]}-{n[6:14]}-{n[14:]}"


def _forms(n: str) -> list[str]:
    return [n, _spaced(n), _hyphenated(n), n.translate(FULL_WIDTH)]


@pytest.fixture
def gw(tmp_path):
    clock = BusinessClock("2026-09-30T10:00:00+08:00")
    gw, sims = start_web_gateway(tmp_path, CaseOptions(clock=clock))
    gw.gateway.cases.accounts.create(
        "suzhou-clerk", PASSWORD, role=Role.CLERK, city="suzhou", display_name="clerk"
    )
    yield gw
    gw.stop()
    sims.stop()


def _leaks(blob: bytes | str, number: str) -> list[str]:
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    text = unicodedata.normalize("NFKC", text)  # full-width digits -> ASCII
    found = [form for form in _forms(number) if form in text]
    return found + [n for n in contains_raw_id_number(blob) if n == number]


def test_id_numbers_in_upload_names_and_notes_are_never_stored_or_shown(gw, tmp_path):
    clerk = sign_in(gw.http_url, "suzhou-clerk", PASSWORD)
    names = [f"身份证{form}复印件.pdf" for form in _forms(IN_NAME)]
    uploads = []
    for name in names:
        r = clerk.post("/api/uploads", params={"filename": name}, content=b"%PDF-1.4 copy",
                       headers={"Content-Type": "application/pdf"})  # fmt: skip
        assert r.status_code == 201, r.text
        assert "**********" in r.json()["filename"]
        assert not _leaks(r.text, IN_NAME)
        uploads.append(r.json())
    note = "代办人证件 " + " / ".join(_forms(IN_NOTE)[1:]) + "，已核验"
    body = {
        "matter_code": "010010300100",
        "handling_region": "ZJ",
        "handling_mode": "异地代收代办",
        "applicant": {"name": "张三丰", "id_number": APPLICANT_ID, "phone": "13812345678"},
        "materials": complete_materials(
            clerk,
            "010010300100",
            "ZJ",
            [{"material_id": "M01", "upload_id": uploads[0]["upload_id"]}],
        ),
        "note": note,
    }
    r = clerk.post("/api/cases", json=body)
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    shown = [
        clerk.get(f"/api/cases/{case_id}"),
        clerk.get("/api/cases"),
        clerk.get(f"/api/cases/{case_id}/materials/M01"),
    ]
    for response in shown:
        assert response.status_code == 200, response.text
        page = response.text + json.dumps(dict(response.headers), ensure_ascii=False)
        assert not _leaks(page, IN_NAME), response.url
        assert not _leaks(page, IN_NOTE), response.url
    detail = shown[0].json()
    assert any("**********" in json.dumps(e, ensure_ascii=False) for e in detail["timeline"])
    clerk.close()
    stored = b"\n".join(blob for _, blob in stored_blobs(gw))  # files, and PostgreSQL tables
    assert gw.settings.database or (tmp_path / "cases.db").exists()
    assert not _leaks(stored, IN_NAME)
    assert not _leaks(stored, IN_NOTE)
