"""可共享免交 over REST: a submitted case's shareable materials are asked for with signed,
logged ``evidence.request`` exchanges (subject by person key, never an ID number) and the
checklist shows each one's state: 已获取 with the answer's digest (opened like a material,
the opening recorded), 获取失败 with the reason in Chinese (the holder has no such
certificate; an organisation's certificate without a credit code), never left unexplained.

The Zhejiang simulator holds a fictitious 医保电子凭证 for the applicant: its person key is
derived with the case service's person-key secret, which the test writes before start.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import threading
from datetime import date

import pytest

from gateway.app.simulators import Simulators
from gateway.cases import Role
from gateway.dialects import default_dialects
from gateway.dialects.catalogue import DialectCatalogue
from gateway.identity import DocumentType, NaturalPerson, derive_person_key
from gateway.identity.idp_simulator import set_identity_provider_key
from gateway.ops.privacy import contains_raw_id_number
from gateway.web.seed import sample_id_number
from ledger.crypto import sm3
from tests.gateway.harness import GatewayThread
from tests.web.english import english_sentences
from tests.web.helpers import complete_materials, sign_in, wait_for

PASSWORD = "window-password-1"
SECRET = bytes(range(32))
ID = sample_id_number("33010219880512345")
MEDICAL = "200060100100"  # 异地就医备案: M02 医保电子凭证 is shareable everywhere
LICENCE = "010027100000"  # M02 营业执照 is shareable (an organisation's certificate)
CONTENT = "医保电子凭证（示例，非真实证照）\n参保地：浙江省（示例）"


def person_key() -> str:
    born = date(int(ID[6:10]), int(ID[10:12]), int(ID[12:14]))
    return derive_person_key(
        NaturalPerson("张示例", DocumentType.RESIDENT_ID_CARD, ID, born), SECRET
    )


class Sims:
    """The JS, ZJ and AH simulators on their own loop; ZJ's store has the test certificate."""

    def __init__(self, catalogue: DialectCatalogue) -> None:
        self.catalogue = catalogue
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.sims = Simulators()

    def start(self) -> dict[str, str]:
        self.thread.start()
        coro = self.sims.start(self.catalogue, fixed_ports=False)
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.sims.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("web-shared")
    (data_dir / "cases-keys").mkdir()
    (data_dir / "cases-keys" / "person-key.secret").write_bytes(SECRET)
    zj = default_dialects().get("ZJ")
    cert = {"certificate_type": "medical_insurance_voucher", "certificate_number": "ZJ-YB-0001",
            "holder": "张*", "subject_person_key": person_key(), "issued_date": "2025-01-02",
            "content": CONTENT}  # fmt: skip
    factory = zj.simulator_factory
    catalogue = DialectCatalogue(
        [default_dialects().get(r) for r in ("JS", "AH")]
        + [
            dataclasses.replace(
                zj,
                simulator_factory=dataclasses.replace(
                    factory, certificates=(*factory.certificates, cert)
                ),
            )
        ]
    )
    sims = Sims(catalogue)
    endpoints = sims.start()
    gw = GatewayThread(
        data_dir, endpoints=endpoints, pull_regions=("SH",), push_backoff_seconds=0.05,
        push_backoff_max_seconds=0.5,
    ).start()  # fmt: skip
    for region, app in sims.sims.apps.items():
        set_identity_provider_key(app, gw.env.idp_keys[region])
    accounts = gw.gateway.cases.accounts
    accounts.create("suzhou", PASSWORD, role=Role.CLERK, city="suzhou", display_name="王窗口")
    accounts.create("hangzhou", PASSWORD, role=Role.CLERK, city="hangzhou", display_name="钱窗口")
    accounts.create("handler-zj", PASSWORD, role=Role.HANDLER, region="ZJ", display_name="浙江审批")
    yield gw
    gw.stop()
    sims.stop()


def submit(clerk, matter: str, region: str) -> dict:
    variant = clerk.get(f"/api/matters/{matter}", params={"region": region}).json()
    modes = variant["handling_modes"]
    mode = next((m for m in modes if m != "全程网办"), modes[0])
    r = clerk.post(
        "/api/cases",
        json={
            "matter_code": matter,
            "handling_region": region,
            "handling_mode": mode,
            "applicant": {"name": "张示例", "id_number": ID},
            "materials": complete_materials(clerk, matter, region),
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def shared(clerk, case_id: str, material_id: str, state: str) -> dict:
    """The checklist item once it has reached ``state`` (events, not timing)."""

    def reached():
        items = clerk.get(f"/api/cases/{case_id}").json()["shareable"]
        item = next(i for i in items if i["material_id"] == material_id)
        return item if item["state"] == state else None

    return wait_for(reached, timeout=20)


def test_fetched_from_the_holder_with_its_digest_and_opened_with_a_record(site):
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    size = site.gateway.log.size
    case = submit(clerk, MEDICAL, "ZJ")
    first = next(i for i in case["shareable"] if i["material_id"] == "M02")
    assert first["certificate_type"] == "medical_insurance_voucher"
    assert first["state"] in ("pending", "fetched") and first["exchange_id"]
    item = shared(clerk, case["case_id"], "M02", "fetched")
    assert item["state_label"] == "已获取"
    assert item["digest_sm3"] == sm3(CONTENT.encode()).hex()
    assert item["verified"] is None  # no signed e-licence in the answer yet
    # the request and its answer are exchanges in the log; the request names a person key
    assert site.gateway.log.size >= size + 3  # case.submit, evidence.request, its answer
    row = site.gateway.store.exchange(item["exchange_id"])
    request = json.loads(row.canonical)
    assert row.kind == "evidence.request" and request["subject_person_key"] == person_key()
    assert contains_raw_id_number(row.canonical) == [] and ID not in row.canonical
    # opened like a material, for the window and the handling province, each time recorded
    r = clerk.get(f"/api/cases/{case['case_id']}/shared/M02")
    assert r.status_code == 200 and r.text == CONTENT
    assert r.headers["X-Content-SM3"] == item["digest_sm3"]
    handler = sign_in(site.http_url, "handler-zj", PASSWORD)
    assert handler.get(f"/api/cases/{case['case_id']}/shared/M02").status_code == 200
    other = sign_in(site.http_url, "hangzhou", PASSWORD)
    r = other.get(f"/api/cases/{case['case_id']}/shared/M02")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
    detail = clerk.get(f"/api/cases/{case['case_id']}").json()
    opened = [e for e in json.dumps(detail, ensure_ascii=False).split('"') if "共享材料 M02" in e]
    assert len(opened) >= 2, "both openings are in the case's record"


def test_holder_without_the_certificate_fails_in_chinese(site):
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    case = submit(clerk, MEDICAL, "AH")  # Anhui's store has no certificate for this person
    item = shared(clerk, case["case_id"], "M02", "failed")
    assert item["state_label"] == "获取失败"
    assert "出具部门没有该申请人的此类证照" in item["reason"], item
    assert english_sentences(item["reason"]) == []
    r = clerk.get(f"/api/cases/{case['case_id']}/shared/M02")
    assert r.status_code == 404 and re.search(r"[\u4e00-\u9fff]", r.json()["error"]["message"])


def test_organisation_certificate_without_a_credit_code_fails_at_once(site):
    clerk = sign_in(site.http_url, "suzhou", PASSWORD)
    case = submit(clerk, LICENCE, "ZJ")
    item = next(i for i in case["shareable"] if i["material_id"] == "M02")
    assert item["certificate_type"] == "business_licence"
    assert item["state"] == "failed" and item["exchange_id"] is None  # nothing was asked for
    assert "统一社会信用代码" in item["reason"]
